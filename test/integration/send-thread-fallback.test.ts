/**
 * A broker whose native send thread cannot start (BERTH_FAULT_SEND_THREAD: pthread_create fails with EAGAIN, as
 * under a container's pids limit). Small fetches still go zero-copy from the event loop; the first one that needs
 * the thread is answered whole by the copying path, which every fetch takes from then on, and the metrics say so.
 * Its own file: the fault only works in a process whose send thread has not started yet.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import type { KafkaClient } from '../../cli/kafka-client.js';
import { loadNative } from '../../native/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { CreateTopics } from '../../protocol/generated/create-topics.js';
import { Fetch } from '../../protocol/generated/fetch.js';
import { Produce } from '../../protocol/generated/produce.js';
import { decodeRecords } from '../../protocol/records/decode-records.js';
import { encodeRecordBatch } from '../../protocol/records/encode-batch.js';
import { scanBatches } from '../../protocol/records/record-batch.js';
import { connectClient, fetchRequest, startTestBroker } from '../helpers/broker.js';
import { seededBytes } from '../unit/native/helpers.js';

describe.runIf(loadNative()?.probe().sendfile)('fetch when the send thread cannot start', () => {
  let broker: RunningBroker;
  let client: KafkaClient;
  const small = seededBytes(2_000, 1);
  const large = [seededBytes(700_000, 2), seededBytes(700_000, 3)];
  const digest = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  const smallDigests = [digest(small)];
  const largeDigests = large.map(digest);

  beforeAll(async () => {
    process.env.BERTH_FAULT_SEND_THREAD = '1';
    broker = await startTestBroker({ config: { 'io.engine': 'auto', 'fetch.path': 'auto' } });
    client = await connectClient(broker);
    const created = await client.request(CreateTopics, {
      topics: [{ name: 'events', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(created.topics[0].errorCode).toBe(ErrorCode.NONE);
    await produce(0, encodeRecordBatch({ records: [{ value: small }] }));
    for (const value of large) await produce(1, encodeRecordBatch({ records: [{ value }] }));
  });

  afterAll(async () => {
    delete process.env.BERTH_FAULT_SEND_THREAD;
    client?.close();
    await broker?.stop();
  });

  async function produce(partition: number, records: Buffer): Promise<void> {
    const res = await client.request(
      Produce,
      {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5000,
        topicData: [{ name: 'events', partitionData: [{ index: partition, records }] }],
      },
      9,
    );
    expect(res.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
  }

  /** The record values of each partition asked for (as digests: comparing megabytes deeply is slow). */
  async function fetchValues(partitions: number[]): Promise<string[][]> {
    const res = await client.request(
      Fetch,
      fetchRequest(
        'events',
        partitions.map((partition) => ({ partition, fetchOffset: 0n, partitionMaxBytes: 4 << 20 })),
      ),
      11,
    );
    return res.responses[0].partitions.map((p) => {
      expect(p.errorCode).toBe(ErrorCode.NONE);
      const scan = scanBatches(p.records!);
      return scan.batches.flatMap((b) => decodeRecords(p.records!, b.position)).map((r) => digest(r.value!));
    });
  }

  function fetchPathGauge(): Promise<{ path: string; reason: string }> {
    return broker.broker.metrics.registry
      .getSingleMetric('berth_fetch_path')!
      .get()
      .then((m) => m.values[0].labels as { path: string; reason: string });
  }

  function bytesSent(path: string): Promise<number> {
    return broker.broker.metrics.registry
      .getSingleMetric('berth_fetch_bytes_sent')!
      .get()
      .then((m) => m.values.find((v) => v.labels.path === path)?.value ?? 0);
  }

  it('sends small fetches zero-copy, then answers the first large one whole by copying, and copies from then on', async () => {
    expect(await fetchValues([0])).toEqual([smallDigests]);
    expect(await fetchPathGauge()).toEqual({ path: 'zerocopy', reason: '' });
    expect(await bytesSent('zerocopy')).toBeGreaterThan(2_000);

    // Partition 0's bytes go in the call; partition 1's need the send thread, which fails to start there.
    expect(await fetchValues([0, 1])).toEqual([smallDigests, largeDigests]);
    const gauge = await fetchPathGauge();
    expect(gauge.path).toBe('copy');
    expect(gauge.reason).toMatch(/send thread unavailable .*EAGAIN.*pthread_create/);
    const copied = await bytesSent('copy');
    expect(copied).toBeGreaterThan(1_400_000);

    // Small ones too now, all by copying.
    expect(await fetchValues([0])).toEqual([smallDigests]);
    expect(await fetchValues([1, 0])).toEqual([largeDigests, smallDigests]);
    expect(await bytesSent('copy')).toBeGreaterThan(copied + 1_400_000 + 2 * 2_000);
  });
});
