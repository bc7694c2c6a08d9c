/**
 * kafka-python (Debian's python3-kafka 2.0.2, run with /usr/bin/python3): the Kafka protocol implemented in pure
 * Python, independent of librdkafka, against Berth on both io engines and fetch paths. `python/kafka_python_roundtrip.py`
 * uses KafkaAdminClient, produces binary keys, values and headers in every codec (snappy, lz4 and zstd through
 * Debian's python3-snappy, python3-lz4 and python3-zstandard) and with acks 0, 1 and all, reads them back with
 * assign() and seeks, and runs a group of two members; this test compares what it sent, what it consumed and what
 * the broker stored.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import type { KafkaClient } from '../../cli/kafka-client.js';
import { brokerModes, connectClient, startTestBroker } from '../helpers/broker.js';
import { commandWorks, runOk } from '../helpers/compat-process.js';
import { CODECS, compatConfig, createTopic, readPartition } from '../helpers/compat-readback.js';

const PYTHON = process.env.BERTH_PYTHON ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./python/kafka_python_roundtrip.py', import.meta.url));
const BASE_TS = 1_700_000_000_000;
const PREFIX = 'kpy';

interface Sent {
  key: string | null;
  value: string;
  headers: Array<[string, string]>;
  timestamp: number;
}
interface RoundTrip {
  sent: Sent[];
  acked: Array<{ partition: number; offset: number }>;
  got: Array<Sent & { offset: number; timestampType: number }>;
  watermarks: [number, number];
  offsetForTime: number | null;
  afterSeek: number;
}
interface Result {
  client: string;
  admin: {
    apiVersion: number[];
    createAgain: string | null;
    cluster: { clusterId: string; controllerId: number; brokers: Array<[number, string, number]> };
    retentionMs: string;
    after: string[];
    partitionsAfter: number[];
  };
  codecs: Record<string, RoundTrip>;
  acks: Record<'0' | '1', RoundTrip>;
  group: {
    seen: string[];
    assignments: number[][];
    committed: Record<string, number>;
    listed: string[];
    adminOffsets: Record<string, number>;
  };
}

describe.each(brokerModes)('kafka-python ($name)', ({ config }) => {
  let broker: RunningBroker;
  let client: KafkaClient;
  let result: Result;

  beforeAll(async () => {
    const needs = 'import kafka, snappy, lz4, zstandard';
    expect(commandWorks(PYTHON, ['-c', needs]), `${PYTHON} needs python3-kafka, -snappy, -lz4, -zstandard`).toBe(true);
    broker = await startTestBroker({ config: compatConfig(config) });
    client = await connectClient(broker);
    for (const name of [...CODECS, 'acks0', 'acks1']) await createTopic(client, `${PREFIX}-${name}`);
    await createTopic(client, `${PREFIX}-group`, 4);
    const res = await runOk(PYTHON, [SCRIPT, broker.bootstrap, PREFIX], { timeoutMs: 90_000 });
    result = JSON.parse(res.stdout.toString());
  });

  afterAll(async () => {
    client?.close();
    await broker?.stop();
  });

  it('KafkaAdminClient: create (and again), describe_cluster, create_partitions, configs, delete_topics', () => {
    const a = result.admin;
    expect(result.client).toBe('2.0.2');
    // The client infers the broker's version from the APIs it advertises, and picks request versions from it.
    expect(a.apiVersion).toEqual([2, 4, 0]);
    expect(a.createAgain).toBe('TopicAlreadyExistsError');
    expect(a.cluster).toEqual({
      clusterId: broker.broker.clusterId,
      controllerId: broker.broker.nodeId,
      brokers: [[broker.broker.nodeId, broker.host, broker.port]],
    });
    expect(a.retentionMs).toBe('7200000');
    expect(a.after).toEqual([`${PREFIX}-adm-a`]);
    expect(a.partitionsAfter).toEqual([0, 1, 2]);
  });

  function expectRoundTrip(r: RoundTrip, ackedOffsets: number[]): void {
    expect(r.acked).toEqual(ackedOffsets.map((offset) => ({ partition: 0, offset })));
    expect(r.got.map((g) => g.offset)).toEqual(r.sent.map((_, i) => i));
    expect(r.got.map(({ key, value, headers, timestamp }) => ({ key, value, headers, timestamp }))).toEqual(r.sent);
    expect(new Set(r.got.map((g) => g.timestampType))).toEqual(new Set([0])); // CreateTime
    expect(r.watermarks).toEqual([0, r.sent.length]);
    // offsets_for_times: the first record at or after BASE_TS + 12.5 s is offset 13.
    expect(r.offsetForTime).toBe(13);
    expect(r.afterSeek).toBe(20);
  }

  it.each(CODECS)(
    'produces %s with acks=all and reads it back byte-identical (assign, seek, offsets_for_times)',
    (codec) => {
      const r = result.codecs[codec];
      expectRoundTrip(
        r,
        r.sent.map((_, i) => i),
      );
    },
  );

  it.each(CODECS)('stored %s as kafka-python framed it', async (codec) => {
    const r = result.codecs[codec];
    const back = await readPartition(client, `${PREFIX}-${codec}`, 0);
    expect(new Set(back.batches.map((b) => b.codec))).toEqual(new Set([codec]));
    expect(back.records.map((rec) => rec.value?.toString('hex'))).toEqual(r.sent.map((s) => s.value));
    expect(back.records.map((rec) => rec.key?.toString('hex') ?? null)).toEqual(r.sent.map((s) => s.key));
    expect(back.records.map((rec) => Number(rec.timestamp))).toEqual(r.sent.map((_, i) => BASE_TS + i * 1000));
  });

  it('produces with acks=0 (no offsets come back) and acks=1', () => {
    expectRoundTrip(
      result.acks['0'],
      result.acks['0'].sent.map(() => -1),
    );
    expectRoundTrip(
      result.acks['1'],
      result.acks['1'].sent.map((_, i) => i),
    );
  });

  it('a group of two members: every message once, the partitions split between them, commits read back', () => {
    const g = result.group;
    expect(g.seen).toHaveLength(200);
    expect(new Set(g.seen).size).toBe(200);
    expect(g.assignments.flat().sort()).toEqual([0, 1, 2, 3]);
    expect(g.assignments.every((a) => a.length === 2)).toBe(true);
    expect(g.committed).toEqual({ '0': 50, '1': 50, '2': 50, '3': 50 });
    expect(g.listed).toEqual([`${PREFIX}-g`]);
    expect(g.adminOffsets).toEqual({ '0': 50, '1': 50, '2': 50, '3': 50 });
  });
});
