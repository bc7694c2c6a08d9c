/**
 * Topic and cluster admin APIs through our own client, at the lowest and highest version served: CreatePartitions,
 * DeleteRecords, DescribeTopicPartitions, DescribeCluster, DescribeLogDirs, OffsetForLeaderEpoch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endOffsetForEpoch } from '../../broker/handlers/23-offset-for-leader-epoch.js';
import type { RunningBroker } from '../../broker/index.js';
import type { KafkaClient } from '../../cli/kafka-client.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { CreatePartitions } from '../../protocol/generated/create-partitions.js';
import { CreateTopics } from '../../protocol/generated/create-topics.js';
import { DeleteRecords } from '../../protocol/generated/delete-records.js';
import { DescribeCluster } from '../../protocol/generated/describe-cluster.js';
import { DescribeLogDirs } from '../../protocol/generated/describe-log-dirs.js';
import { DescribeTopicPartitions } from '../../protocol/generated/describe-topic-partitions.js';
import { Fetch } from '../../protocol/generated/fetch.js';
import { Metadata } from '../../protocol/generated/metadata.js';
import { OffsetForLeaderEpoch } from '../../protocol/generated/offset-for-leader-epoch.js';
import { Produce } from '../../protocol/generated/produce.js';
import { encodeRecordBatch } from '../../protocol/records/encode-batch.js';
import { connectClient, fetchRequest, startTestBroker } from '../helpers/broker.js';

let broker: RunningBroker;
let client: KafkaClient;

async function createTopic(name: string, numPartitions: number, configs: Record<string, string> = {}) {
  const res = await client.request(CreateTopics, {
    topics: [
      {
        name,
        numPartitions,
        replicationFactor: 1,
        assignments: [],
        configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })),
      },
    ],
    timeoutMs: 5000,
    validateOnly: false,
  });
  expect(res.topics[0].errorCode).toBe(ErrorCode.NONE);
}

async function produce(topic: string, partition: number, count: number) {
  const records = encodeRecordBatch({
    records: Array.from({ length: count }, (_, i) => ({ value: `v${i}`, timestamp: 1_700_000_000_000n + BigInt(i) })),
  });
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
  const p = res.responses[0].partitionResponses[0];
  expect(p.errorCode).toBe(ErrorCode.NONE);
  return p.baseOffset;
}

async function partitionCount(topic: string): Promise<number> {
  const res = await client.request(Metadata, {
    topics: [{ name: topic }],
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: false,
  });
  return res.topics[0].partitions.length;
}

beforeAll(async () => {
  broker = await startTestBroker({ config: { 'auto.create.topics.enable': false } });
  client = await connectClient(broker);
});

afterAll(async () => {
  client?.close();
  await broker?.stop();
});

describe('CreatePartitions', () => {
  it.each([0, 3])('grows a topic at v%i, and validate_only creates nothing', async (v) => {
    const topic = `grow-v${v}`;
    await createTopic(topic, 1);
    const check = await client.send(CreatePartitions, v, {
      topics: [{ name: topic, count: 4, assignments: null }],
      timeoutMs: 5000,
      validateOnly: true,
    });
    expect(check.results).toEqual([expect.objectContaining({ name: topic, errorCode: ErrorCode.NONE })]);
    expect(await partitionCount(topic)).toBe(1);
    const res = await client.send(CreatePartitions, v, {
      topics: [{ name: topic, count: 3, assignments: [{ brokerIds: [1] }, { brokerIds: [1] }] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(res.results[0].errorCode).toBe(ErrorCode.NONE);
    expect(await partitionCount(topic)).toBe(3);
    expect(await produce(topic, 2, 2)).toBe(0n);
  });

  it('refuses counts that are not larger, bad assignments, unknown topics and duplicates', async () => {
    await createTopic('grow-errors', 2);
    const res = await client.send(CreatePartitions, 3, {
      topics: [
        { name: 'grow-errors', count: 2, assignments: null },
        { name: 'missing-topic', count: 5, assignments: null },
        { name: 'dup', count: 5, assignments: null },
        { name: 'dup', count: 6, assignments: null },
      ],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(res.results.map((r) => r.errorCode)).toEqual([
      ErrorCode.INVALID_PARTITIONS,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
    ]);
    expect(res.results[0].errorMessage).toMatch(/already has 2 partitions/);
    const smaller = await client.send(CreatePartitions, 0, {
      topics: [{ name: 'grow-errors', count: 1, assignments: null }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(smaller.results[0].errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    const elsewhere = await client.send(CreatePartitions, 3, {
      topics: [{ name: 'grow-errors', count: 3, assignments: [{ brokerIds: [2] }] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(elsewhere.results[0].errorCode).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    const tooFew = await client.send(CreatePartitions, 3, {
      topics: [{ name: 'grow-errors', count: 4, assignments: [{ brokerIds: [1] }] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(tooFew.results[0].errorCode).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    expect(await partitionCount('grow-errors')).toBe(2);
  });
});

describe('DeleteRecords', () => {
  it.each([0, 2])('moves the log start offset at v%i; -1 means the high watermark', async (v) => {
    const topic = `trim-v${v}`;
    await createTopic(topic, 2);
    await produce(topic, 0, 10);
    await produce(topic, 1, 4);
    const res = await client.send(DeleteRecords, v, {
      topics: [
        {
          name: topic,
          partitions: [
            { partitionIndex: 0, offset: 6n },
            { partitionIndex: 1, offset: -1n },
          ],
        },
      ],
      timeoutMs: 5000,
    });
    expect(res.topics[0].partitions).toEqual([
      expect.objectContaining({ partitionIndex: 0, errorCode: ErrorCode.NONE, lowWatermark: 6n }),
      expect.objectContaining({ partitionIndex: 1, errorCode: ErrorCode.NONE, lowWatermark: 4n }),
    ]);
    // Below the current log start offset: nothing changes.
    const again = await client.send(DeleteRecords, v, {
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset: 2n }] }],
      timeoutMs: 5000,
    });
    expect(again.topics[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, lowWatermark: 6n });
    // A fetch below the new log start offset is out of range.
    const fetched = await client.request(
      Fetch,
      fetchRequest(topic, [{ partition: 0, fetchOffset: 3n, partitionMaxBytes: 1 << 20 }], { maxBytes: 1 << 20 }),
      12,
    );
    expect(fetched.responses[0].partitions[0].errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect(fetched.responses[0].partitions[0].logStartOffset).toBe(6n);
  });

  it('answers OFFSET_OUT_OF_RANGE beyond the high watermark and UNKNOWN_TOPIC_OR_PARTITION', async () => {
    await createTopic('trim-errors', 1);
    await produce('trim-errors', 0, 3);
    const res = await client.send(DeleteRecords, 2, {
      topics: [
        {
          name: 'trim-errors',
          partitions: [
            { partitionIndex: 0, offset: 4n },
            { partitionIndex: 0, offset: -5n },
            { partitionIndex: 7, offset: 1n },
          ],
        },
        { name: 'nope', partitions: [{ partitionIndex: 0, offset: 1n }] },
      ],
      timeoutMs: 5000,
    });
    expect(res.topics[0].partitions.map((p) => p.errorCode)).toEqual([
      ErrorCode.OFFSET_OUT_OF_RANGE,
      ErrorCode.OFFSET_OUT_OF_RANGE,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
    expect(res.topics[1].partitions[0]).toMatchObject({
      errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      lowWatermark: -1n,
    });
  });
});

describe('DescribeTopicPartitions', () => {
  it('pages through partitions with a cursor and reports unknown topics', async () => {
    await createTopic('page-a', 3);
    await createTopic('page-b', 2);
    const first = await client.send(DescribeTopicPartitions, 0, {
      topics: [{ name: 'page-b' }, { name: 'page-a' }, { name: 'page-zz-unknown' }],
      responsePartitionLimit: 4,
      cursor: null,
    });
    expect(first.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionIndex)])).toEqual([
      ['page-a', [0, 1, 2]],
      ['page-b', [0]],
    ]);
    expect(first.nextCursor).toEqual(expect.objectContaining({ topicName: 'page-b', partitionIndex: 1 }));
    expect(first.topics[0].partitions[0]).toMatchObject({ leaderId: 1, replicaNodes: [1], isrNodes: [1] });
    const second = await client.send(DescribeTopicPartitions, 0, {
      topics: [{ name: 'page-b' }, { name: 'page-a' }, { name: 'page-zz-unknown' }],
      responsePartitionLimit: 4,
      cursor: first.nextCursor,
    });
    expect(second.topics.map((t) => [t.name, t.errorCode, t.partitions.map((p) => p.partitionIndex)])).toEqual([
      ['page-b', ErrorCode.NONE, [1]],
      ['page-zz-unknown', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []],
    ]);
    expect(second.nextCursor).toBeNull();
  });

  it('describes every topic when none are named, and refuses a cursor outside the request', async () => {
    const all = await client.send(DescribeTopicPartitions, 0, {
      topics: [],
      responsePartitionLimit: 2000,
      cursor: null,
    });
    const names = all.topics.map((t) => t.name);
    expect(names).toContain('page-a');
    expect([...names].sort()).toEqual(names);
    const bad = await client.send(DescribeTopicPartitions, 0, {
      topics: [{ name: 'page-a' }],
      responsePartitionLimit: 10,
      cursor: { topicName: 'page-b', partitionIndex: 0 },
    });
    expect(bad.topics[0].errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });
});

describe('DescribeCluster', () => {
  it.each([0, 2])('names this broker, the cluster id and the controller at v%i', async (v) => {
    const res = await client.send(DescribeCluster, v, {
      includeClusterAuthorizedOperations: false,
      endpointType: v >= 1 ? 1 : undefined,
      includeFencedBrokers: v >= 2 ? true : undefined,
    });
    expect(res.errorCode).toBe(ErrorCode.NONE);
    expect(res.clusterId).toBe(broker.broker.clusterId);
    expect(res.controllerId).toBe(1);
    expect(res.brokers).toEqual([expect.objectContaining({ brokerId: 1, host: broker.host, port: broker.port })]);
    if (v >= 2) expect(res.brokers[0].isFenced).toBe(false);
  });

  it('refuses the controllers endpoint type', async () => {
    const res = await client.send(DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 2 });
    expect(res.errorCode).toBe(ErrorCode.UNSUPPORTED_ENDPOINT_TYPE);
    expect(res.brokers).toEqual([]);
  });
});

describe('DescribeLogDirs', () => {
  it.each([1, 5])('reports the data directory with partition sizes at v%i', async (v) => {
    await createTopic(`dirs-v${v}`, 2);
    await produce(`dirs-v${v}`, 1, 5);
    const res = await client.send(DescribeLogDirs, v, { topics: [{ topic: `dirs-v${v}`, partitions: [0, 1, 9] }] });
    expect(res.results).toHaveLength(1);
    const dir = res.results[0];
    expect(dir.errorCode).toBe(ErrorCode.NONE);
    expect(dir.logDir).toBe(broker.broker.logs.dataDir);
    expect(dir.topics).toHaveLength(1);
    const [p0, p1] = dir.topics[0].partitions;
    expect(dir.topics[0].partitions).toHaveLength(2);
    expect(p0).toMatchObject({ partitionIndex: 0, partitionSize: 0n, offsetLag: 0n, isFutureKey: false });
    expect(p1.partitionIndex).toBe(1);
    expect(p1.partitionSize).toBe(BigInt(broker.broker.partitions.get(`dirs-v${v}`, 1)!.log.sizeInBytes));
    expect(p1.partitionSize > 0n).toBe(true);
    if (v >= 4) {
      expect(dir.totalBytes! > 0n).toBe(true);
      expect(dir.usableBytes! > 0n && dir.usableBytes! <= dir.totalBytes!).toBe(true);
    } else {
      expect(dir.totalBytes).toBe(-1n);
    }
  });

  it('lists every partition for a null topic list', async () => {
    const res = await client.send(DescribeLogDirs, 4, { topics: null });
    const names = res.results[0].topics.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['dirs-v1', 'dirs-v5']));
  });
});

describe('OffsetForLeaderEpoch', () => {
  it.each([2, 4])('answers the end offset of the leader epoch at v%i', async (v) => {
    const topic = `epochs-v${v}`;
    await createTopic(topic, 2);
    await produce(topic, 0, 7);
    const res = await client.send(OffsetForLeaderEpoch, v, {
      replicaId: v >= 3 ? -1 : undefined,
      topics: [
        {
          topic,
          partitions: [
            { partition: 0, currentLeaderEpoch: 0, leaderEpoch: 0 },
            { partition: 1, currentLeaderEpoch: -1, leaderEpoch: 0 },
            { partition: 0, currentLeaderEpoch: -1, leaderEpoch: 3 },
            { partition: 0, currentLeaderEpoch: 5, leaderEpoch: 0 },
            { partition: 4, currentLeaderEpoch: -1, leaderEpoch: 0 },
          ],
        },
      ],
    });
    expect(res.topics[0].partitions).toEqual([
      expect.objectContaining({ errorCode: ErrorCode.NONE, partition: 0, leaderEpoch: 0, endOffset: 7n }),
      // Nothing written yet: the current epoch still ends at the log end offset.
      expect.objectContaining({ errorCode: ErrorCode.NONE, partition: 1, leaderEpoch: 0, endOffset: 0n }),
      expect.objectContaining({ errorCode: ErrorCode.NONE, partition: 0, leaderEpoch: -1, endOffset: -1n }),
      expect.objectContaining({ errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH, partition: 0 }),
      expect.objectContaining({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, partition: 4 }),
    ]);
  });
});

describe('endOffsetForEpoch (Kafka rules over several epochs)', () => {
  const entries = [
    { epoch: 1, startOffset: 0 },
    { epoch: 3, startOffset: 10 },
    { epoch: 6, startOffset: 25 },
  ];
  it.each([
    [6, { epoch: 6, endOffset: 40 }],
    [3, { epoch: 3, endOffset: 25 }],
    [4, { epoch: 3, endOffset: 25 }],
    [2, { epoch: 1, endOffset: 10 }],
    [0, { epoch: 0, endOffset: 0 }],
    [7, { epoch: -1, endOffset: -1 }],
    [-1, { epoch: -1, endOffset: -1 }],
  ])('epoch %i', (requested, expected) => {
    expect(endOffsetForEpoch(entries, requested, 40)).toEqual(expected);
  });
});
