/**
 * The idempotent producer: InitProducerId at its lowest and highest versions, duplicates, gaps and fencing sent by
 * hand through our own client, DescribeProducers, and kafkajs's idempotent producer with 1 and 5 requests in flight.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import type { KafkaClient } from '../../cli/kafka-client.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { CreateTopics } from '../../protocol/generated/create-topics.js';
import { DescribeProducers } from '../../protocol/generated/describe-producers.js';
import { InitProducerId } from '../../protocol/generated/init-producer-id.js';
import { ListOffsets } from '../../protocol/generated/list-offsets.js';
import { Produce } from '../../protocol/generated/produce.js';
import { encodeRecordBatch } from '../../protocol/records/encode-batch.js';
import { connectClient, startTestBroker } from '../helpers/broker.js';

let broker: RunningBroker;
let client: KafkaClient;

async function createTopic(name: string, numPartitions = 1) {
  const res = await client.request(CreateTopics, {
    topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  expect(res.topics[0].errorCode).toBe(ErrorCode.NONE);
}

async function initProducerId(version = 5) {
  const res = await client.send(InitProducerId, version, {
    transactionalId: null,
    transactionTimeoutMs: 60000,
    producerId: -1n,
    producerEpoch: -1,
  });
  expect(res.errorCode).toBe(ErrorCode.NONE);
  return { producerId: res.producerId!, epoch: res.producerEpoch };
}

function batch(producerId: bigint, producerEpoch: number, baseSequence: number, count: number, tag = 'r') {
  return encodeRecordBatch({
    producerId,
    producerEpoch,
    baseSequence,
    records: Array.from({ length: count }, (_, i) => ({
      value: `${tag}-${baseSequence + i}`,
      timestamp: 1_700_000_000_000n,
    })),
  });
}

async function produce(topic: string, records: Buffer, partition = 0) {
  const res = await client.request(
    Produce,
    {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
    },
    12,
  );
  return res.responses[0].partitionResponses[0];
}

async function highWatermark(topic: string, partition = 0): Promise<bigint> {
  const res = await client.request(ListOffsets, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n }] }],
  });
  return res.topics[0].partitions[0].offset ?? -1n;
}

beforeAll(async () => {
  broker = await startTestBroker();
  client = await connectClient(broker);
});

afterAll(async () => {
  client?.close();
  await broker?.stop();
});

describe('InitProducerId', () => {
  it.each([0, 5])('hands out distinct producer ids at epoch 0 at v%i', async (v) => {
    const a = await initProducerId(v);
    const b = await initProducerId(v);
    expect(a.epoch).toBe(0);
    expect(b.producerId).not.toBe(a.producerId);
    expect(a.producerId >= 0n).toBe(true);
  });

  it('bumps the epoch of a named producer (v3+) and refuses half-named ones', async () => {
    const { producerId } = await initProducerId();
    const bumped = await client.send(InitProducerId, 3, {
      transactionalId: null,
      transactionTimeoutMs: 60000,
      producerId,
      producerEpoch: 0,
    });
    expect(bumped).toMatchObject({ errorCode: ErrorCode.NONE, producerId, producerEpoch: 1 });
    const exhausted = await client.send(InitProducerId, 5, {
      transactionalId: null,
      transactionTimeoutMs: 60000,
      producerId,
      producerEpoch: 32766,
    });
    expect(exhausted.errorCode).toBe(ErrorCode.NONE);
    expect(exhausted.producerId).not.toBe(producerId);
    expect(exhausted.producerEpoch).toBe(0);
    const madeUp = await client.send(InitProducerId, 5, {
      transactionalId: null,
      transactionTimeoutMs: 60000,
      producerId: 777_777n,
      producerEpoch: 3,
    });
    expect(madeUp.errorCode).toBe(ErrorCode.NONE);
    expect(madeUp.producerId).not.toBe(777_777n);
    expect(madeUp.producerEpoch).toBe(0);
    const half = await client.send(InitProducerId, 4, {
      transactionalId: null,
      transactionTimeoutMs: 60000,
      producerId,
      producerEpoch: -1,
    });
    expect(half.errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });

  it('fails transactional producers clearly', async () => {
    const res = await client.send(InitProducerId, 5, {
      transactionalId: 'txn-1',
      transactionTimeoutMs: 60000,
      producerId: -1n,
      producerEpoch: -1,
    });
    expect(res).toMatchObject({ errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1n });
  });
});

describe('sequence checks by hand', () => {
  it('answers a retried batch with its original offset and stores it once', async () => {
    await createTopic('idem-dup');
    const { producerId, epoch } = await initProducerId();
    const first = await produce('idem-dup', batch(producerId, epoch, 0, 3));
    const second = await produce('idem-dup', batch(producerId, epoch, 3, 2));
    expect([first.errorCode, first.baseOffset, second.baseOffset]).toEqual([ErrorCode.NONE, 0n, 3n]);
    const retry = await produce('idem-dup', batch(producerId, epoch, 0, 3));
    expect(retry).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0n });
    const retry2 = await produce('idem-dup', batch(producerId, epoch, 3, 2));
    expect(retry2).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 3n });
    expect(await highWatermark('idem-dup')).toBe(5n);
  });

  it('refuses a gap, an old epoch, and a new epoch not starting at 0', async () => {
    await createTopic('idem-errors');
    const { producerId } = await initProducerId();
    expect((await produce('idem-errors', batch(producerId, 0, 0, 2))).errorCode).toBe(ErrorCode.NONE);
    const gap = await produce('idem-errors', batch(producerId, 0, 5, 1));
    expect(gap.errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    const badNewEpoch = await produce('idem-errors', batch(producerId, 1, 4, 1));
    expect(badNewEpoch.errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect((await produce('idem-errors', batch(producerId, 1, 0, 1))).errorCode).toBe(ErrorCode.NONE);
    const fenced = await produce('idem-errors', batch(producerId, 0, 2, 1));
    expect(fenced.errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(await highWatermark('idem-errors')).toBe(3n);
  });

  it('keeps pipelined batches in order and deduplicates a pipelined retry', async () => {
    await createTopic('idem-pipelined');
    const { producerId, epoch } = await initProducerId();
    const sent = await Promise.all(
      [0, 2, 4, 6, 8].map((seq) => produce('idem-pipelined', batch(producerId, epoch, seq, 2))),
    );
    expect(sent.map((p) => p.baseOffset)).toEqual([0n, 2n, 4n, 6n, 8n]);
    const retried = await Promise.all([4, 6].map((seq) => produce('idem-pipelined', batch(producerId, epoch, seq, 2))));
    expect(retried.map((p) => p.baseOffset)).toEqual([4n, 6n]);
    expect(await highWatermark('idem-pipelined')).toBe(10n);
  });
});

describe('DescribeProducers', () => {
  it('lists the producers of each partition', async () => {
    await createTopic('idem-described', 2);
    const a = await initProducerId();
    const b = await initProducerId();
    await produce('idem-described', batch(a.producerId, 0, 0, 4));
    await produce('idem-described', batch(b.producerId, 0, 0, 1));
    const res = await client.send(DescribeProducers, 0, {
      topics: [
        { name: 'idem-described', partitionIndexes: [0, 1, 5] },
        { name: 'missing-topic', partitionIndexes: [0] },
      ],
    });
    const [p0, p1, p5] = res.topics[0].partitions;
    expect(p0.errorCode).toBe(ErrorCode.NONE);
    expect(p0.activeProducers).toEqual([
      expect.objectContaining({
        producerId: a.producerId,
        producerEpoch: 0,
        lastSequence: 3,
        lastTimestamp: 1_700_000_000_000n,
        coordinatorEpoch: -1,
        currentTxnStartOffset: -1n,
      }),
      expect.objectContaining({ producerId: b.producerId, lastSequence: 0 }),
    ]);
    expect(p1).toMatchObject({ errorCode: ErrorCode.NONE, activeProducers: [] });
    expect(p5.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(res.topics[1].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});

describe('kafkajs idempotent producer', () => {
  it.each([1, 5])('writes every message exactly once with %i requests in flight', async (maxInFlightRequests) => {
    const topic = `idem-kafkajs-${maxInFlightRequests}`;
    await createTopic(topic, 3);
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, clientId: 'idem-test' });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests });
    await producer.connect();
    try {
      const sends = [];
      for (let i = 0; i < 30; i++) {
        sends.push(
          producer.send({
            topic,
            acks: -1,
            messages: [0, 1, 2].map((p) => ({ partition: p, key: `k${i}`, value: `v${i}-${p}` })),
          }),
        );
      }
      await Promise.all(sends);
    } finally {
      await producer.disconnect();
    }
    for (const p of [0, 1, 2]) expect(await highWatermark(topic, p)).toBe(30n);
    const described = await client.send(DescribeProducers, 0, { topics: [{ name: topic, partitionIndexes: [0] }] });
    expect(described.topics[0].partitions[0].activeProducers).toEqual([
      expect.objectContaining({ producerEpoch: 0, lastSequence: 29 }),
    ]);
  });
});
