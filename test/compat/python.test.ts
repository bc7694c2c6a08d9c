/**
 * confluent_kafka (Debian's python3-confluent-kafka 1.7.0 on librdkafka 2.0.2, run with /usr/bin/python3) against
 * Berth on both io engines and fetch paths. `python/roundtrip.py` produces binary keys, values and headers with
 * acks=all in every codec and reads them back with a plain Consumer using assign() (no group membership); this test
 * compares what it sent, what it consumed and what the broker stored.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import type { KafkaClient } from '../../cli/kafka-client.js';
import { brokerModes, connectClient, startTestBroker } from '../helpers/broker.js';
import { commandWorks, runOk } from '../helpers/compat-process.js';
import { CODECS, compatConfig, createTopic, readPartition } from '../helpers/compat-readback.js';

const PYTHON = process.env.BERTH_PYTHON ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./python/roundtrip.py', import.meta.url));
const FIND_COORDINATOR = 10;
const BASE_TS = 1_700_000_000_000;

interface Sent {
  key: string | null;
  value: string;
  headers: Array<[string, string]>;
  timestamp: number;
}
interface Got extends Sent {
  offset: number;
  timestampType: number;
}
interface CodecResult {
  sent: Sent[];
  reports: Array<{ error: string | null; offset: number; partition: number }>;
  unflushed: number;
  got: Got[];
  errors: string[];
  watermarks: [number, number];
  offsetForTime: number;
}

interface AdminResult {
  create: Record<string, string | null>;
  createAgain: Record<string, string | null>;
  clusterId: string;
  controllerId: number;
  brokers: Array<[number, string, number]>;
  partitions: Record<string, number[]>;
  leaders: number[];
  delete: Record<string, string | null>;
  after: string[];
}

describe.each(brokerModes)('confluent_kafka ($name)', ({ config }) => {
  let broker: RunningBroker;
  let client: KafkaClient;
  let result: { librdkafka: string; client: string; codecs: Record<string, CodecResult>; admin: AdminResult };

  beforeAll(async () => {
    expect(commandWorks(PYTHON, ['-c', 'import confluent_kafka']), `${PYTHON} needs confluent_kafka`).toBe(true);
    broker = await startTestBroker({ config: compatConfig(config) });
    client = await connectClient(broker);
    for (const codec of CODECS) await createTopic(client, `py-${codec}`);
    const res = await runOk(PYTHON, [SCRIPT, broker.bootstrap, 'py'], { timeoutMs: 60_000 });
    result = JSON.parse(res.stdout.toString());
  });

  afterAll(async () => {
    client?.close();
    await broker?.stop();
  });

  it('runs the Debian client', () => {
    expect(result.librdkafka).toMatch(/^2\./);
    expect(Object.keys(result.codecs)).toEqual([...CODECS]);
  });

  it('AdminClient: create_topics, list_topics, delete_topics', () => {
    const a = result.admin;
    expect(a.create).toEqual({ 'py-adm-a': null, 'py-adm-b': null });
    expect(a.createAgain).toEqual({ 'py-adm-a': 'TOPIC_ALREADY_EXISTS' });
    expect(a.clusterId).toBe(broker.broker.clusterId);
    expect(a.controllerId).toBe(broker.broker.nodeId);
    expect(a.brokers).toEqual([[broker.broker.nodeId, broker.host, broker.port]]);
    expect(a.partitions).toEqual({ 'py-adm-a': [0, 1, 2], 'py-adm-b': [0] });
    expect(a.leaders).toEqual([broker.broker.nodeId]);
    expect(a.delete).toEqual({ 'py-adm-b': null });
    expect(a.after).toEqual(['py-adm-a']);
  });

  it.each(CODECS)('produces with acks=all and compression %s: every delivery acknowledged in order', (codec) => {
    const r = result.codecs[codec];
    expect(r.unflushed).toBe(0);
    expect(r.reports).toEqual(r.sent.map((_, i) => ({ error: null, offset: i, partition: 0 })));
  });

  it.each(CODECS)('consumes %s with assign(): keys, values, headers and timestamps byte-identical', (codec) => {
    const r = result.codecs[codec];
    expect(r.errors).toEqual([]);
    expect(r.got.map((g) => g.offset)).toEqual(r.sent.map((_, i) => i));
    expect(r.got.map(({ key, value, headers, timestamp }) => ({ key, value, headers, timestamp }))).toEqual(r.sent);
    expect(new Set(r.got.map((g) => g.timestampType))).toEqual(new Set([1])); // TIMESTAMP_CREATE_TIME
    expect(r.watermarks).toEqual([0, r.sent.length]);
    // offsets_for_times: the first record at or after BASE_TS + 12.5 s is offset 13, compressed or not.
    expect(r.offsetForTime).toBe(13);
  });

  it.each(CODECS)('stored %s as librdkafka framed it, byte-identical', async (codec) => {
    const r = result.codecs[codec];
    const back = await readPartition(client, `py-${codec}`, 0);
    // librdkafka treats "FindCoordinator is advertised" as "lz4 is supported" and sends lz4 uncompressed without it.
    const stored = codec === 'lz4' && !broker.broker.handlers.has(FIND_COORDINATOR) ? 'none' : codec;
    expect(new Set(back.batches.map((b) => b.codec))).toEqual(new Set([stored]));
    expect(back.records.map((rec) => rec.value?.toString('hex'))).toEqual(r.sent.map((s) => s.value));
    expect(back.records.map((rec) => rec.key?.toString('hex') ?? null)).toEqual(r.sent.map((s) => s.key));
    expect(back.records.map((rec) => Number(rec.timestamp))).toEqual(r.sent.map((_, i) => BASE_TS + i * 1000));
  });
});
