/**
 * Produce frames of 4 KiB and more are received into pooled buffers that later produce requests reuse
 * (broker/frame-pool.ts): what was written from a reused buffer must read back unchanged after the buffer has carried
 * other requests. Both sizes: 200 KB frames (written straight from the frame on io_uring) and 16 KB ones (copied
 * into a registered buffer).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { framePool } from '../../broker/connection.js';
import type { RunningBroker } from '../../broker/index.js';
import type { KafkaClient } from '../../cli/kafka-client.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { CreateTopics } from '../../protocol/generated/create-topics.js';
import { Fetch } from '../../protocol/generated/fetch.js';
import { Produce } from '../../protocol/generated/produce.js';
import { decodeRecords } from '../../protocol/records/decode-records.js';
import { encodeRecordBatch } from '../../protocol/records/encode-batch.js';
import { scanBatches } from '../../protocol/records/record-batch.js';
import { brokerModes, connectClient, fetchRequest, startTestBroker } from '../helpers/broker.js';

describe.each(brokerModes)('produce frames in reused buffers ($name)', ({ config }) => {
  let broker: RunningBroker;
  let client: KafkaClient;

  beforeAll(async () => {
    broker = await startTestBroker({ config });
    client = await connectClient(broker);
    const created = await client.request(CreateTopics, {
      topics: ['reuse-100', 'reuse-8'].map((name) => ({
        name,
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [],
      })),
      timeoutMs: 5000,
      validateOnly: false,
    });
    for (const t of created.topics) expect(t.errorCode).toBe(ErrorCode.NONE);
  });

  afterAll(async () => {
    client?.close();
    await broker?.stop();
  });

  /** `perBatch` records of 2000 bytes whose values say which batch and record they are. */
  function batch(id: number, perBatch: number) {
    return encodeRecordBatch({
      compression: 'none',
      records: Array.from({ length: perBatch }, (_, i) => ({
        key: null,
        value: Buffer.from(`${id}:${i}:`.padEnd(2000, String.fromCharCode(97 + (id % 26)))),
        headers: [],
        timestamp: 1_700_000_000_000n,
      })),
    });
  }

  it.each([100, 8])('reads back every batch of %i records intact after its buffer was reused', async (perBatch) => {
    const topic = `reuse-${perBatch}`;
    const before = { ...framePool.stats };
    const count = 12;
    for (let id = 0; id < count; id++) {
      const res = await client.request(
        Produce,
        {
          transactionalId: null,
          acks: id % 2 === 0 ? 1 : -1,
          timeoutMs: 5000,
          topicData: [{ name: topic, partitionData: [{ index: 0, records: batch(id, perBatch) }] }],
        },
        9,
      );
      expect(res.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    }
    // One connection, one request at a time: after the first, every frame found a released buffer.
    expect(framePool.stats.reused - before.reused).toBeGreaterThanOrEqual(count - 1);
    expect(framePool.stats.released - before.released).toBeGreaterThanOrEqual(count);

    const values: string[] = [];
    let offset = 0n;
    while (values.length < count * perBatch) {
      const res = await client.request(
        Fetch,
        fetchRequest(topic, [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 8 << 20 }], {
          maxBytes: 64 * 1024 * 1024,
        }),
        12,
      );
      const records = res.responses[0].partitions[0].records!;
      const scan = scanBatches(records, 0, records.length, { verifyCrc: true });
      expect(scan.batches.length).toBeGreaterThan(0);
      for (const b of scan.batches) {
        for (const r of decodeRecords(records, b.position)) values.push(r.value!.toString());
        offset = b.header.baseOffset + BigInt(b.header.lastOffsetDelta) + 1n;
      }
    }
    for (let id = 0; id < count; id++) {
      for (let i = 0; i < perBatch; i++) {
        expect(values[id * perBatch + i]).toBe(`${id}:${i}:`.padEnd(2000, String.fromCharCode(97 + (id % 26))));
      }
    }
  });
});
