/**
 * kcat (Debian's, on librdkafka 2.0.2) against Berth on both io engines and fetch paths: metadata (-L, -J),
 * producing with keys, headers and every codec, consuming by offset and by timestamp with -f format strings, offset
 * queries (-Q), and a consumer parked at the end being woken by a produce (long poll).
 *
 * Every kcat run has a hard timeout (compat-process.ts); nothing here waits on a sleep for correctness.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import type { KafkaClient } from '../../cli/kafka-client.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { Produce } from '../../protocol/generated/produce.js';
import type { CompressionCodec } from '../../protocol/records/batch-header.js';
import { encodeRecordBatch } from '../../protocol/records/encode-batch.js';
import { brokerModes, connectClient, startTestBroker } from '../helpers/broker.js';
import { commandWorks, run, runOk } from '../helpers/compat-process.js';
import { CODECS, compatConfig, createTopic, readPartition } from '../helpers/compat-readback.js';

const KCAT = process.env.BERTH_KCAT ?? 'kcat';
const FIND_COORDINATOR = 10;
const INIT_PRODUCER_ID = 22;

describe.each(brokerModes)('kcat ($name)', ({ config }) => {
  let broker: RunningBroker;
  let client: KafkaClient;

  beforeAll(async () => {
    // Fail loudly (not skip) when the client is missing: CI must have it.
    expect(commandWorks(KCAT, ['-V']), `${KCAT} must be installed`).toBe(true);
    broker = await startTestBroker({ config: compatConfig(config) });
    client = await connectClient(broker);
  });

  afterAll(async () => {
    client?.close();
    await broker?.stop();
  });

  function kcat(args: string[], input?: string, timeoutMs = 20_000) {
    return runOk(KCAT, ['-b', broker.bootstrap, '-X', 'api.version.request=true', ...args], { input, timeoutMs });
  }

  /** Consumes partition 0 of `topic` from `offset` to its end with the given -f format; one string per record. */
  async function consume(topic: string, offset: string, format: string, extra: string[] = []): Promise<string[]> {
    // A short fetch.wait.max.ms: -e exits on the empty fetch at the end, which otherwise waits out the long poll.
    // check.crcs: librdkafka verifies every batch's CRC32C as it arrives (both fetch paths).
    const args = ['-C', '-t', topic, '-p', '0', '-o', offset, '-e', '-q', '-f', `${format}\\n`];
    const res = await kcat(args.concat('-X', 'fetch.wait.max.ms=20', '-X', 'check.crcs=true', ...extra));
    const out = res.stdout.toString();
    return out === '' ? [] : out.replace(/\n$/, '').split('\n');
  }

  async function produceOurs(
    topic: string,
    records: Array<{ key: string; value: string; timestamp: bigint }>,
    compression: CompressionCodec = 'none',
  ) {
    const res = await client.request(
      Produce,
      {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5000,
        topicData: [
          { name: topic, partitionData: [{ index: 0, records: encodeRecordBatch({ records, compression }) }] },
        ],
      },
      12,
    );
    expect(res.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
  }

  it('-L lists brokers, topics and partitions; -J as JSON', async () => {
    await createTopic(client, 'kc-meta', 3);
    const text = (await kcat(['-L'])).stdout.toString();
    expect(text).toContain(`broker ${broker.broker.nodeId} at ${broker.bootstrap} (controller)`);
    expect(text).toContain('topic "kc-meta" with 3 partitions:');
    for (const p of [0, 1, 2]) expect(text).toContain(`partition ${p}, leader 1, replicas: 1, isrs: 1`);

    const json = JSON.parse((await kcat(['-L', '-J', '-t', 'kc-meta'])).stdout.toString());
    expect(json.controllerid).toBe(broker.broker.nodeId);
    expect(json.brokers).toEqual([{ id: broker.broker.nodeId, name: broker.bootstrap }]);
    expect(json.topics).toHaveLength(1);
    expect(json.topics[0].topic).toBe('kc-meta');
    expect(json.topics[0].error).toBeUndefined();
    expect(json.topics[0].partitions.map((p: { partition: number }) => p.partition)).toEqual([0, 1, 2]);
    expect(json.topics[0].partitions[0]).toMatchObject({ leader: 1, replicas: [{ id: 1 }], isrs: [{ id: 1 }] });
  });

  it('a consumer does not auto-create a missing topic unless allow.auto.create.topics is set', async () => {
    const missing = await run(KCAT, ['-b', broker.bootstrap, '-C', '-t', 'kc-missing', '-p', '0', '-e']);
    expect(missing.stderr).toContain('Unknown topic or partition');
    expect(broker.broker.topics.get('kc-missing')).toBeUndefined();
    // With it set, librdkafka asks for auto-creation in Metadata (v4+), and auto.create.topics.enable allows it.
    const args = ['-C', '-t', 'kc-auto', '-p', '0', '-e', '-q', '-X', 'allow.auto.create.topics=true'];
    await kcat(args.concat('-X', 'fetch.wait.max.ms=20'));
    expect(broker.broker.topics.get('kc-auto')).toBeDefined();
  });

  it('produces keys and headers in every codec (acks=all) and consumes them with -f', async () => {
    await createTopic(client, 'kc-codecs');
    const expected: string[] = [];
    const before = BigInt(Date.now());
    for (const codec of CODECS) {
      // Repetitive values so that librdkafka's compression pays and it keeps the codec (it sends uncompressed when
      // compression does not shrink the batch).
      const lines = Array.from({ length: 20 }, (_, i) => `${codec}-key-${i}\t${`${codec} value ${i} `.repeat(8)}`);
      await kcat(
        ['-P', '-t', 'kc-codecs', '-p', '0', '-K', '\t', '-z', codec, '-H', `codec=${codec}`, '-H', 'empty='].concat([
          '-X',
          'acks=all',
          '-X',
          'linger.ms=50',
        ]),
        `${lines.join('\n')}\n`,
      );
      for (const line of lines) {
        const [k, v] = line.split('\t');
        expected.push(`${expected.length}|${k}|${v}|codec=${codec},empty=`);
      }
    }
    const after = BigInt(Date.now());

    const back = await readPartition(client, 'kc-codecs', 0);
    expect(back.records).toHaveLength(100);
    // Stored as librdkafka framed them: each codec's batches carry that codec. librdkafka takes "the broker supports
    // lz4" from FindCoordinator being advertised (a proxy for Kafka 0.8.2), and sends lz4 batches uncompressed
    // until the group coordinator is served.
    const lz4As = broker.broker.handlers.has(FIND_COORDINATOR) ? 'lz4' : 'none';
    for (const b of back.batches) {
      const asked = b.records[0].key!.toString().split('-')[0];
      expect(b.codec, `batch produced with -z ${asked}`).toBe(asked === 'lz4' ? lz4As : asked);
    }

    const consumed = await consume('kc-codecs', 'beginning', '%o|%k|%s|%h');
    expect(consumed).toEqual(expected);
    // CreateTime set by librdkafka, passed through untouched.
    const stamps = (await consume('kc-codecs', 'beginning', '%T')).map(BigInt);
    expect(stamps).toEqual(back.records.map((r) => r.timestamp));
    for (const t of stamps) {
      expect(t >= before - 1000n && t <= after + 1000n).toBe(true);
    }
  });

  it('reads the batches our encoder writes, in every codec, keys and headers included', async () => {
    await createTopic(client, 'kc-ours');
    const codecs: CompressionCodec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
    for (const [b, compression] of codecs.entries()) {
      const records = Array.from({ length: 3 }, (_, i) => ({
        key: `${compression}-k${i}`,
        value: `${compression}-v${i}`,
        headers: [{ key: 'codec', value: Buffer.from(compression) }],
        timestamp: 1_700_000_000_000n + BigInt(b * 3 + i),
      }));
      const res = await client.request(
        Produce,
        {
          transactionalId: null,
          acks: -1,
          timeoutMs: 5000,
          topicData: [
            { name: 'kc-ours', partitionData: [{ index: 0, records: encodeRecordBatch({ records, compression }) }] },
          ],
        },
        12,
      );
      expect(res.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    }
    const lines = await consume('kc-ours', 'beginning', '%o %k %s %h');
    expect(lines).toEqual(
      codecs.flatMap((c, b) => [0, 1, 2].map((i) => `${b * 3 + i} ${c}-k${i} ${c}-v${i} codec=${c}`)),
    );
  });

  it('consumes from -o beginning, -o <n>, -o -<n> and -o s@<timestamp>; -Q finds offsets by time', async () => {
    await createTopic(client, 'kc-offsets');
    const base = 1_700_000_000_000n;
    // Four batches of five, in different codecs: the timestamp seeks below land inside a zstd batch.
    const codecs: CompressionCodec[] = ['none', 'gzip', 'zstd', 'snappy'];
    for (let b = 0; b < 4; b++) {
      await produceOurs(
        'kc-offsets',
        Array.from({ length: 5 }, (_, i) => {
          const n = b * 5 + i;
          return { key: `k${n}`, value: `v${n}`, timestamp: base + BigInt(n) * 1000n };
        }),
        codecs[b],
      );
    }
    const all = Array.from({ length: 20 }, (_, n) => `${n}:k${n}:v${n}`);
    expect(await consume('kc-offsets', 'beginning', '%o:%k:%s')).toEqual(all);
    // From an offset inside a batch: librdkafka gets the whole batch and drops the records before the offset.
    expect(await consume('kc-offsets', '7', '%o:%k:%s')).toEqual(all.slice(7));
    expect(await consume('kc-offsets', '-3', '%o:%k:%s')).toEqual(all.slice(17));
    expect(await consume('kc-offsets', `s@${base + 12_000n}`, '%o:%T')).toEqual(
      all.slice(12).map((_, i) => `${12 + i}:${base + BigInt(12 + i) * 1000n}`),
    );
    expect(await consume('kc-offsets', `s@${base + 12_500n}`, '%o')).toEqual(all.slice(13).map((_, i) => `${13 + i}`));
    // Past the end: OFFSET_OUT_OF_RANGE, and librdkafka resets by auto.offset.reset.
    expect(await consume('kc-offsets', '100', '%o', ['-X', 'auto.offset.reset=earliest'])).toEqual(
      all.map((_, i) => `${i}`),
    );
    expect(await consume('kc-offsets', '100', '%o', ['-X', 'auto.offset.reset=latest'])).toEqual([]);
    // -c stops after a count.
    expect(await consume('kc-offsets', '2', '%o', ['-c', '3'])).toEqual(['2', '3', '4']);

    const q = (await kcat(['-Q', '-t', `kc-offsets:0:${base + 6_500n}`])).stdout.toString();
    expect(q).toBe('kc-offsets [0] offset 7\n');
  });

  it('a consumer parked at the end is woken by a produce (long poll)', async () => {
    await createTopic(client, 'kc-poll');
    await produceOurs('kc-poll', [{ key: 'a', value: 'first', timestamp: 1n }]);
    const consumer = run(
      KCAT,
      ['-b', broker.bootstrap, '-C', '-t', 'kc-poll', '-p', '0', '-o', '1', '-c', '2', '-q', '-f', '%o:%s\\n'].concat([
        '-X',
        'fetch.wait.max.ms=10000',
      ]),
      { timeoutMs: 20_000 },
    );
    // Produce only once kcat's fetch is parked in the broker, so the answer must come from the wake-up, not from a
    // fetch that happened to arrive after the data.
    for (let i = 0; broker.broker.fetchWaiters.waitingOn('kc-poll', 0) === 0; i++) {
      expect(i, 'kcat never parked a fetch').toBeLessThan(1000);
      await new Promise((r) => setTimeout(r, 10));
    }
    await produceOurs('kc-poll', [
      { key: 'b', value: 'second', timestamp: 2n },
      { key: 'c', value: 'third', timestamp: 3n },
    ]);
    const res = await consumer;
    expect(res.timedOut).toBe(false);
    expect(res.stdout.toString()).toBe('1:second\n2:third\n');
  });

  it('reads a partition spread over many small segments, from the start and from the middle', async () => {
    await createTopic(client, 'kc-segments', 1, { 'segment.bytes': '65536' });
    const lines = Array.from(
      { length: 1200 },
      (_, i) => `m${String(i).padStart(5, '0')}-${'x'.repeat(2000 + (i % 97))}`,
    );
    // batch.size under segment.bytes: a batch larger than a segment is refused (RECORD_BATCH_TOO_LARGE), as in Kafka.
    const args = ['-P', '-t', 'kc-segments', '-p', '0', '-X', 'acks=all', '-X', 'batch.size=60000'];
    await kcat(args, `${lines.join('\n')}\n`, 30_000);
    const segments = readdirSync(join(broker.dataDir, 'kc-segments-0')).filter((f) => f.endsWith('.log'));
    expect(segments.length).toBeGreaterThan(5);
    const all = await consume('kc-segments', 'beginning', '%o %s');
    expect(all).toEqual(lines.map((l, i) => `${i} ${l}`));
    expect(await consume('kc-segments', '777', '%o %s', ['-c', '2'])).toEqual([
      `777 ${lines[777]}`,
      `778 ${lines[778]}`,
    ]);
  });

  it('idempotent producer (enable.idempotence=true): one producer id, consecutive sequences', async () => {
    await createTopic(client, 'kc-idem');
    const lines = Array.from({ length: 300 }, (_, i) => `idem-${i}`);
    const args = ['-P', '-t', 'kc-idem', '-p', '0', '-X', 'enable.idempotence=true', '-X', 'linger.ms=5'];
    if (!broker.broker.handlers.has(INIT_PRODUCER_ID)) {
      // Not served yet: librdkafka refuses to produce at all (a fatal error), rather than produce unsafely.
      const res = await run(KCAT, ['-b', broker.bootstrap, ...args], { input: `${lines.join('\n')}\n` });
      expect(res.stderr).toContain('Idempotent producer not supported');
      expect((await readPartition(client, 'kc-idem', 0)).records).toHaveLength(0);
      return;
    }
    await kcat(args.concat('-X', 'batch.num.messages=50'), `${lines.join('\n')}\n`);
    const back = await readPartition(client, 'kc-idem', 0);
    expect(back.records.map((r) => r.value?.toString())).toEqual(lines);
    expect(new Set(back.batches.map((b) => b.header.producerId)).size).toBe(1);
    expect(back.batches[0].header.producerId).toBeGreaterThanOrEqual(0n);
    let seq = 0;
    for (const b of back.batches) {
      expect(b.header.baseSequence).toBe(seq);
      seq += b.header.lastOffsetDelta + 1;
    }
  });

  it('produces with acks=0 and acks=1', async () => {
    await createTopic(client, 'kc-acks');
    await kcat(['-P', '-t', 'kc-acks', '-p', '0', '-X', 'acks=1'], 'one\ntwo\n');
    await kcat(['-P', '-t', 'kc-acks', '-p', '0', '-X', 'acks=0'], 'three\nfour\n');
    // acks=0 has no acknowledgement to wait for: poll the log until the records are there (bounded).
    let back = await readPartition(client, 'kc-acks', 0);
    for (let i = 0; back.records.length < 4; i++) {
      expect(i, 'acks=0 records never appeared').toBeLessThan(500);
      await new Promise((r) => setTimeout(r, 10));
      back = await readPartition(client, 'kc-acks', 0);
    }
    expect(back.records.map((r) => r.value?.toString())).toEqual(['one', 'two', 'three', 'four']);
  });
});
