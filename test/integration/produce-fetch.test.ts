import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import { copyReadPool } from '../../broker/response-writer.js';
import type { KafkaClient } from '../../cli/kafka-client.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { decodeResponse, encodeRequestFrame } from '../../protocol/frames.js';
import { CreateTopics } from '../../protocol/generated/create-topics.js';
import { Fetch } from '../../protocol/generated/fetch.js';
import { ListOffsets } from '../../protocol/generated/list-offsets.js';
import { Metadata } from '../../protocol/generated/metadata.js';
import { Produce } from '../../protocol/generated/produce.js';
import { decodeRecords } from '../../protocol/records/decode-records.js';
import { encodeRecordBatch } from '../../protocol/records/encode-batch.js';
import { scanBatches } from '../../protocol/records/record-batch.js';
import { brokerModes, connectClient, fetchRequest, startTestBroker } from '../helpers/broker.js';

describe.each(brokerModes)('produce and fetch ($name)', ({ config }) => {
  let broker: RunningBroker;
  let client: KafkaClient;

  beforeAll(async () => {
    broker = await startTestBroker({ config });
    client = await connectClient(broker);
    const created = await client.request(CreateTopics, {
      topics: [{ name: 'orders', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(created.topics[0].errorCode).toBe(ErrorCode.NONE);
  });

  afterAll(async () => {
    client?.close();
    await broker?.stop();
  });

  function batch(n: number, prefix: string, compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd' = 'none') {
    return encodeRecordBatch({
      compression,
      records: Array.from({ length: n }, (_, i) => ({
        key: `${prefix}-k${i}`,
        value: `${prefix}-v${i}`,
        headers: [{ key: 'h', value: Buffer.from('x') }],
        timestamp: BigInt(Date.now()),
      })),
    });
  }

  async function produce(partition: number, records: Buffer, acks = -1, topic = 'orders') {
    const res = await client.request(
      Produce,
      {
        transactionalId: null,
        acks,
        timeoutMs: 5000,
        topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
      },
      12,
    );
    return res.responses[0].partitionResponses[0];
  }

  /** A one-partition topic of the test's own; the creation must succeed. */
  async function createTopic(name: string) {
    const created = await client.request(CreateTopics, {
      topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(created.topics[0].errorCode).toBe(ErrorCode.NONE);
  }

  async function fetch(partition: number, offset: bigint, maxWaitMs = 0, minBytes = 1) {
    const res = await client.request(
      Fetch,
      fetchRequest('orders', [{ partition, fetchOffset: offset, partitionMaxBytes: 1024 * 1024 }], {
        maxWaitMs,
        minBytes,
        maxBytes: 10 * 1024 * 1024,
      }),
      12,
    );
    return res.responses[0].partitions[0];
  }

  it('assigns offsets and reads back every record byte-identical, in every codec', async () => {
    let next = 0n;
    for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
      const p = await produce(0, batch(5, codec, codec));
      expect(p.errorCode).toBe(ErrorCode.NONE);
      expect(p.baseOffset).toBe(next);
      next += 5n;
    }
    const data = await fetch(0, 0n);
    expect(data.errorCode).toBe(ErrorCode.NONE);
    expect(data.highWatermark).toBe(25n);
    const scan = scanBatches(data.records!);
    expect(scan.stopReason).toBe('end');
    const records = scan.batches.flatMap((b) => decodeRecords(data.records!, b.position));
    expect(records.map((r) => Number(r.offset))).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(records[7].key?.toString()).toBe('gzip-k2');
    expect(records[7].headers[0]).toEqual({ key: 'h', value: Buffer.from('x') });
  });

  it('answers a long poll when data arrives', async () => {
    const start = await fetch(1, 0n);
    const pending = fetch(1, start.highWatermark, 5000);
    await new Promise((r) => setTimeout(r, 50));
    await produce(1, batch(1, 'late'), 1);
    const got = await pending;
    expect(got.records!.length).toBeGreaterThan(0);
    expect(decodeRecords(got.records!, 0)[0].value?.toString()).toBe('late-v0');
  });

  it('reports per-partition errors', async () => {
    expect((await fetch(0, 999n)).errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    const corrupt = batch(1, 'bad');
    corrupt[corrupt.length - 1] ^= 0xff;
    expect((await produce(0, corrupt)).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    const unknown = await client.request(
      Produce,
      {
        transactionalId: null,
        acks: 1,
        timeoutMs: 1000,
        topicData: [{ name: 'nope', partitionData: [{ index: 0, records: batch(1, 'x') }] }],
      },
      12,
    );
    expect(unknown.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await produce(0, batch(1, 'x'), 2)).errorCode).toBe(ErrorCode.INVALID_REQUIRED_ACKS);
  });

  it("refuses a batch over the topic's max.message.bytes with MESSAGE_TOO_LARGE", async () => {
    const created = await client.request(CreateTopics, {
      topics: [
        {
          name: 'small',
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: [{ name: 'max.message.bytes', value: '2048' }],
        },
      ],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(created.topics[0].errorCode).toBe(ErrorCode.NONE);
    const big = encodeRecordBatch({ records: [{ value: Buffer.alloc(4096, 1) }] });
    const res = await client.request(
      Produce,
      {
        transactionalId: null,
        acks: 1,
        timeoutMs: 1000,
        topicData: [{ name: 'small', partitionData: [{ index: 0, records: big }] }],
      },
      12,
    );
    expect(res.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
  });

  it('addresses topics by id from Produce v13 and Fetch v13', async () => {
    const md = await client.request(Metadata, { topics: [{ name: 'orders' }], allowAutoTopicCreation: false });
    const topicId = md.topics[0].topicId!;
    const res = await client.send(Produce, 13, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 1000,
      topicData: [{ topicId, partitionData: [{ index: 1, records: batch(2, 'byid') }] }],
    });
    expect(res.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    const fetched = await client.send(Fetch, 13, {
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topicId, partitions: [{ partition: 1, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
    expect(fetched.responses[0].partitions[0].errorCode).toBe(ErrorCode.NONE);
    expect(fetched.responses[0].partitions[0].highWatermark).toBeGreaterThanOrEqual(2n);
  });

  it('finds the record with the largest timestamp (ListOffsets v7+), inside a compressed batch', async () => {
    await createTopic('stamps');
    const stamps = [
      [1000n, 5000n, 2000n],
      [3000n, 4000n],
    ];
    for (const [i, ts] of stamps.entries()) {
      const records = ts.map((timestamp, j) => ({ key: `k${i}${j}`, value: 'v', timestamp }));
      const res = await produce(0, encodeRecordBatch({ records, compression: 'zstd' }), -1, 'stamps');
      expect(res.errorCode).toBe(ErrorCode.NONE);
    }
    const ask = (timestamp: bigint, version: number) =>
      client.send(ListOffsets, version, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: 'stamps', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }],
      });
    const max = (await ask(-3n, 7)).topics[0].partitions[0];
    expect([max.errorCode, max.offset, max.timestamp]).toEqual([ErrorCode.NONE, 1n, 5000n]);
    expect((await ask(-3n, 6)).topics[0].partitions[0].errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect((await ask(-4n, 8)).topics[0].partitions[0].offset).toBe(0n);
    expect((await ask(-5n, 9)).topics[0].partitions[0].offset).toBe(-1n);
    const byTime = (await ask(2500n, 11)).topics[0].partitions[0];
    expect([byTime.offset, byTime.timestamp]).toEqual([1n, 5000n]);
  });

  it('survives consumers that disconnect in the middle of large fetch responses', async () => {
    const big = encodeRecordBatch({ records: [{ value: Buffer.alloc(900_000, 7) }] });
    for (let i = 0; i < 3; i++) await produce(1, big, 1);
    for (let round = 0; round < 5; round++) {
      const c = await connectClient(broker);
      for (let i = 0; i < 8; i++) {
        void c
          .request(Fetch, fetchRequest('orders', [{ partition: 1, fetchOffset: 0n, partitionMaxBytes: 8 << 20 }]), 12)
          .catch(() => undefined);
      }
      await new Promise((r) => setImmediate(r));
      c.close();
    }
    // The broker is still up and serving.
    expect((await fetch(1, 0n)).errorCode).toBe(ErrorCode.NONE);
  });

  it('sends every fetch response intact while read buffers are reused, behind a client that stops reading', async () => {
    await createTopic('pooled');
    const value = (i: number) => Buffer.alloc(300_000, 0x41 + i);
    for (let i = 0; i < 4; i++) {
      const records = encodeRecordBatch({ records: [{ value: value(i) }] });
      expect((await produce(0, records, -1, 'pooled')).errorCode).toBe(ErrorCode.NONE);
    }
    // 40 fetches pipelined on a socket nobody reads for a while: 12 MB of responses back up behind a full socket,
    // so each response's buffer is still queued when the next one is read from the file. Reusing a buffer before
    // the socket has it would send another response's bytes.
    const reusedBefore = copyReadPool.stats.reused;
    const socket = net.connect(broker.port, broker.host);
    socket.pause();
    await new Promise((resolve) => socket.once('connect', resolve));
    const offsets = Array.from({ length: 40 }, (_, i) => i % 4);
    for (const [i, offset] of offsets.entries()) {
      socket.write(
        encodeRequestFrame(
          { apiKey: 1, apiVersion: 12, correlationId: i, clientId: 'slow-reader' },
          fetchRequest('pooled', [{ partition: 0, fetchOffset: BigInt(offset), partitionMaxBytes: 400_000 }], {
            maxBytes: 400_000,
          }),
        ),
      );
    }
    await new Promise((r) => setTimeout(r, 300));
    let pending = Buffer.alloc(0);
    const seen: number[] = [];
    await new Promise<void>((resolve, reject) => {
      socket.on('error', reject);
      socket.on('data', (chunk: Buffer) => {
        try {
          pending = Buffer.concat([pending, chunk]);
          while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
            const frame = pending.subarray(4, 4 + pending.readInt32BE(0));
            pending = pending.subarray(4 + frame.length);
            const { header, body } = decodeResponse(1, 12, frame);
            const [first] = decodeRecords(body.responses[0].partitions[0].records, 0);
            if (!first.value!.equals(value(offsets[header.correlationId]))) {
              throw new Error(`response ${header.correlationId} carries another fetch's bytes`);
            }
            seen.push(header.correlationId);
            if (seen.length === offsets.length) resolve();
          }
        } catch (err) {
          reject(err);
        }
      });
      socket.resume();
    });
    socket.destroy();
    expect(seen).toEqual(offsets.map((_, i) => i));
    if (config['fetch.path'] === 'copy') expect(copyReadPool.stats.reused).toBeGreaterThan(reusedBefore);
  });

  it('stops a large fetch response when it closes the connection of a client that stopped reading', async () => {
    await createTopic('backlog');
    const records = encodeRecordBatch({ records: [{ value: Buffer.alloc(900_000, 0x42) }] });
    for (let i = 0; i < 24; i++) {
      expect((await produce(0, records, 1, 'backlog')).errorCode).toBe(ErrorCode.NONE);
    }
    const socket = net.connect(broker.port, broker.host);
    socket.pause();
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      encodeRequestFrame(
        { apiKey: 1, apiVersion: 12, correlationId: 1, clientId: 'stalled' },
        fetchRequest('backlog', [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 64 << 20 }], {
          maxBytes: 64 << 20,
        }),
      ),
    );
    // The ~21 MB response fills the socket's buffers and waits; then a frame with a negative size makes the broker
    // close the connection. The response must end there (a send going on behind the closed connection would deliver
    // all of it once the client reads again).
    await new Promise((r) => setTimeout(r, 300));
    socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    await new Promise((r) => setTimeout(r, 300));
    let received = 0;
    await new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
      });
      socket.on('error', () => resolve()); // a reset is a close too
      socket.on('close', () => resolve());
      socket.resume();
    });
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(24 * records.length);
    // And the broker goes on serving.
    expect((await fetch(1, 0n)).errorCode).toBe(ErrorCode.NONE);
  });

  it('auto-creates a topic once when several connections ask for it at the same time', async () => {
    const clients = await Promise.all(Array.from({ length: 4 }, () => connectClient(broker)));
    const answers = await Promise.all(
      clients.map((c) => c.request(Metadata, { topics: [{ name: 'raced' }], allowAutoTopicCreation: true })),
    );
    for (const c of clients) c.close();
    for (const a of answers) {
      expect(a.topics[0].errorCode).toBe(ErrorCode.NONE);
      expect(a.topics[0].partitions).toHaveLength(1);
    }
    expect(new Set(answers.map((a) => a.topics[0].topicId)).size).toBe(1);
  });

  it('lists earliest and latest offsets and reports metadata', async () => {
    const res = await client.request(ListOffsets, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        {
          name: 'orders',
          partitions: [
            { partitionIndex: 0, timestamp: -1n },
            { partitionIndex: 0, timestamp: -2n },
          ],
        },
      ],
    });
    expect(res.topics[0].partitions.map((p) => p.offset)).toEqual([25n, 0n]);
    const md = await client.request(Metadata, { topics: [{ name: 'orders' }], allowAutoTopicCreation: false });
    expect(md.controllerId).toBe(1);
    expect(md.topics[0].partitions).toHaveLength(2);
    expect(md.brokers[0].port).toBe(broker.port);
  });
});
