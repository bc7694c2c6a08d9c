/**
 * DescribeConfigs, AlterConfigs and IncrementalAlterConfigs through our own client, at the lowest and highest
 * version served, and the effect of altered configs on the log (segment rolling, retention, DeleteRecords).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import type { KafkaClient } from '../../cli/kafka-client.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { AlterConfigs } from '../../protocol/generated/alter-configs.js';
import { CreateTopics } from '../../protocol/generated/create-topics.js';
import { DeleteRecords } from '../../protocol/generated/delete-records.js';
import { DescribeConfigs } from '../../protocol/generated/describe-configs.js';
import { IncrementalAlterConfigs } from '../../protocol/generated/incremental-alter-configs.js';
import { Produce } from '../../protocol/generated/produce.js';
import { encodeRecordBatch } from '../../protocol/records/encode-batch.js';
import { connectClient, startTestBroker } from '../helpers/broker.js';

const TOPIC = 2;
const BROKER = 4;
const BROKER_LOGGER = 8;
const Source = { TOPIC_CONFIG: 1, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5 };
const Op = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 };

let broker: RunningBroker;
let client: KafkaClient;

async function createTopic(name: string, configs: Record<string, string> = {}) {
  const res = await client.request(CreateTopics, {
    topics: [
      {
        name,
        numPartitions: 1,
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

async function produce(topic: string, count: number, valueBytes = 100) {
  const records = encodeRecordBatch({
    records: Array.from({ length: count }, () => ({
      value: Buffer.alloc(valueBytes, 7),
      timestamp: BigInt(Date.now()),
    })),
  });
  const res = await client.request(
    Produce,
    {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    },
    12,
  );
  expect(res.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
}

async function describeTopic(name: string, keys: string[] | null = null, version = 4) {
  const res = await client.send(DescribeConfigs, version, {
    resources: [{ resourceType: TOPIC, resourceName: name, configurationKeys: keys }],
    includeSynonyms: true,
    includeDocumentation: version >= 3,
  });
  return res.results[0];
}

async function topicConfig(name: string, key: string) {
  const r = await describeTopic(name, [key]);
  return r.configs[0];
}

beforeAll(async () => {
  broker = await startTestBroker({ config: { 'log.retention.bytes': 123456789 } });
  client = await connectClient(broker);
});

afterAll(async () => {
  client?.close();
  await broker?.stop();
});

describe('DescribeConfigs', () => {
  it.each([1, 4])('describes a topic with config sources at v%i', async (v) => {
    const name = `described-v${v}`;
    await createTopic(name, { 'retention.ms': '3600000' });
    const res = await describeTopic(name, null, v);
    expect(res.errorCode).toBe(ErrorCode.NONE);
    const byName = new Map(res.configs.map((c) => [c.name, c]));
    expect(byName.get('retention.ms')).toMatchObject({ value: '3600000', configSource: Source.TOPIC_CONFIG });
    expect(byName.get('retention.ms')!.synonyms[0]).toMatchObject({
      name: 'retention.ms',
      source: Source.TOPIC_CONFIG,
    });
    expect(byName.get('retention.bytes')).toMatchObject({
      value: '123456789',
      configSource: Source.STATIC_BROKER_CONFIG,
    });
    expect(byName.get('segment.bytes')).toMatchObject({ value: '1073741824', configSource: Source.DEFAULT_CONFIG });
    if (v >= 3) {
      expect(byName.get('segment.bytes')!.documentation).toMatch(/Segment size/);
      expect(byName.get('segment.bytes')!.configType).toBe(3);
    }
  });

  it('filters by key, leaves synonyms out unless asked, and reports errors per resource', async () => {
    await createTopic('described-filter');
    const res = await client.send(DescribeConfigs, 4, {
      resources: [
        { resourceType: TOPIC, resourceName: 'described-filter', configurationKeys: ['cleanup.policy', 'no.such'] },
        { resourceType: TOPIC, resourceName: 'missing-topic', configurationKeys: null },
        { resourceType: TOPIC, resourceName: 'bad name!', configurationKeys: null },
        { resourceType: 99, resourceName: 'x', configurationKeys: null },
      ],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    expect(res.results.map((r) => r.errorCode)).toEqual([
      ErrorCode.NONE,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.INVALID_TOPIC_EXCEPTION,
      ErrorCode.INVALID_REQUEST,
    ]);
    expect(res.results[0].configs).toEqual([
      expect.objectContaining({ name: 'cleanup.policy', value: 'delete', synonyms: [], documentation: null }),
    ]);
  });

  it.each([1, 4])('describes this broker, its loggers and the empty cluster default at v%i', async (v) => {
    const res = await client.send(DescribeConfigs, v, {
      resources: [
        { resourceType: BROKER, resourceName: '1', configurationKeys: ['log.retention.bytes', 'num.partitions'] },
        { resourceType: BROKER, resourceName: '', configurationKeys: null },
        { resourceType: BROKER, resourceName: '2', configurationKeys: null },
        { resourceType: BROKER_LOGGER, resourceName: '1', configurationKeys: null },
      ],
      includeSynonyms: true,
      includeDocumentation: false,
    });
    const [self, cluster, other, loggers] = res.results;
    expect(self.errorCode).toBe(ErrorCode.NONE);
    expect(self.configs).toEqual([
      expect.objectContaining({
        name: 'log.retention.bytes',
        value: '123456789',
        readOnly: true,
        configSource: Source.STATIC_BROKER_CONFIG,
        synonyms: [
          expect.objectContaining({ value: '123456789', source: Source.STATIC_BROKER_CONFIG }),
          expect.objectContaining({ value: '-1', source: Source.DEFAULT_CONFIG }),
        ],
      }),
      expect.objectContaining({ name: 'num.partitions', value: '1', configSource: Source.DEFAULT_CONFIG }),
    ]);
    expect(cluster).toMatchObject({ errorCode: ErrorCode.NONE, configs: [] });
    expect(other.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(loggers.errorCode).toBe(ErrorCode.NONE);
    expect(loggers.configs).toEqual([expect.objectContaining({ name: 'root', value: 'OFF' })]);
  });
});

describe('AlterConfigs', () => {
  it.each([0, 2])('replaces the overrides wholesale at v%i; validate_only changes nothing', async (v) => {
    const name = `altered-v${v}`;
    await createTopic(name, { 'retention.ms': '1000', 'cleanup.policy': 'compact' });
    const dry = await client.send(AlterConfigs, v, {
      resources: [{ resourceType: TOPIC, resourceName: name, configs: [{ name: 'segment.bytes', value: '2048' }] }],
      validateOnly: true,
    });
    expect(dry.responses[0].errorCode).toBe(ErrorCode.NONE);
    expect(await topicConfig(name, 'retention.ms')).toMatchObject({ value: '1000', configSource: Source.TOPIC_CONFIG });

    const res = await client.send(AlterConfigs, v, {
      resources: [{ resourceType: TOPIC, resourceName: name, configs: [{ name: 'segment.bytes', value: '2048' }] }],
      validateOnly: false,
    });
    expect(res.responses[0]).toMatchObject({ errorCode: ErrorCode.NONE, resourceName: name, resourceType: TOPIC });
    expect(await topicConfig(name, 'segment.bytes')).toMatchObject({
      value: '2048',
      configSource: Source.TOPIC_CONFIG,
    });
    expect(await topicConfig(name, 'retention.ms')).toMatchObject({ configSource: Source.DEFAULT_CONFIG });
    expect(await topicConfig(name, 'cleanup.policy')).toMatchObject({ value: 'delete' });
  });

  it('refuses invalid configs, unknown topics, duplicates and broker configs', async () => {
    await createTopic('altered-errors', { 'retention.ms': '5000' });
    const res = await client.send(AlterConfigs, 2, {
      resources: [
        { resourceType: TOPIC, resourceName: 'altered-errors', configs: [{ name: 'segment.bytes', value: 'big' }] },
        { resourceType: TOPIC, resourceName: 'missing-topic', configs: [] },
        { resourceType: BROKER, resourceName: '1', configs: [{ name: 'log.retention.ms', value: '5' }] },
        { resourceType: BROKER_LOGGER, resourceName: '1', configs: [{ name: 'root', value: 'DEBUG' }] },
        { resourceType: TOPIC, resourceName: 'dup', configs: [] },
        { resourceType: TOPIC, resourceName: 'dup', configs: [] },
      ],
      validateOnly: false,
    });
    expect(res.responses.map((r) => r.errorCode)).toEqual([
      ErrorCode.INVALID_CONFIG,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
    ]);
    expect(res.responses[2].errorMessage).toMatch(/cannot update these configs dynamically: log.retention.ms/);
    const unknownKey = await client.send(AlterConfigs, 0, {
      resources: [{ resourceType: TOPIC, resourceName: 'altered-errors', configs: [{ name: 'no.such', value: '1' }] }],
      validateOnly: false,
    });
    expect(unknownKey.responses[0].errorCode).toBe(ErrorCode.INVALID_CONFIG);
    const nothing = await client.send(AlterConfigs, 0, {
      resources: [{ resourceType: BROKER, resourceName: '1', configs: [] }],
      validateOnly: false,
    });
    expect(nothing.responses[0].errorCode).toBe(ErrorCode.NONE);
    expect(await topicConfig('altered-errors', 'retention.ms')).toMatchObject({ value: '5000' });
  });
});

describe('IncrementalAlterConfigs', () => {
  it.each([0, 1])('sets, deletes, appends and subtracts at v%i', async (v) => {
    const name = `incremental-v${v}`;
    await createTopic(name, { 'retention.ms': '1000' });
    const alter = (
      configs: Array<{ name: string; configOperation: number; value: string | null }>,
      validateOnly = false,
    ) =>
      client.send(IncrementalAlterConfigs, v, {
        resources: [{ resourceType: TOPIC, resourceName: name, configs }],
        validateOnly,
      });
    const dry = await alter([{ name: 'max.message.bytes', configOperation: Op.SET, value: '5000' }], true);
    expect(dry.responses[0].errorCode).toBe(ErrorCode.NONE);
    expect(await topicConfig(name, 'max.message.bytes')).toMatchObject({ configSource: Source.DEFAULT_CONFIG });

    const res = await alter([
      { name: 'max.message.bytes', configOperation: Op.SET, value: '5000' },
      { name: 'retention.ms', configOperation: Op.DELETE, value: null },
      { name: 'cleanup.policy', configOperation: Op.APPEND, value: 'compact' },
    ]);
    expect(res.responses[0].errorCode).toBe(ErrorCode.NONE);
    expect(await topicConfig(name, 'max.message.bytes')).toMatchObject({
      value: '5000',
      configSource: Source.TOPIC_CONFIG,
    });
    expect(await topicConfig(name, 'retention.ms')).toMatchObject({ configSource: Source.DEFAULT_CONFIG });
    expect(await topicConfig(name, 'cleanup.policy')).toMatchObject({ value: 'delete,compact' });

    const sub = await alter([{ name: 'cleanup.policy', configOperation: Op.SUBTRACT, value: 'delete' }]);
    expect(sub.responses[0].errorCode).toBe(ErrorCode.NONE);
    expect(await topicConfig(name, 'cleanup.policy')).toMatchObject({ value: 'compact' });
  });

  it('refuses APPEND on non-list configs, bad values, duplicates, unknown operations and broker configs', async () => {
    await createTopic('incremental-errors', { 'retention.ms': '1000' });
    const res = await client.send(IncrementalAlterConfigs, 1, {
      resources: [
        {
          resourceType: TOPIC,
          resourceName: 'incremental-errors',
          configs: [{ name: 'retention.ms', configOperation: Op.APPEND, value: '5' }],
        },
        { resourceType: TOPIC, resourceName: 'missing-topic', configs: [] },
        {
          resourceType: BROKER,
          resourceName: '1',
          configs: [{ name: 'num.partitions', configOperation: Op.SET, value: '3' }],
        },
        { resourceType: BROKER, resourceName: '7', configs: [] },
      ],
      validateOnly: false,
    });
    expect(res.responses.map((r) => r.errorCode)).toEqual([
      ErrorCode.INVALID_CONFIG,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
    ]);
    const one = async (configs: Array<{ name: string; configOperation: number; value: string | null }>) =>
      (
        await client.send(IncrementalAlterConfigs, 0, {
          resources: [{ resourceType: TOPIC, resourceName: 'incremental-errors', configs }],
          validateOnly: false,
        })
      ).responses[0].errorCode;
    expect(await one([{ name: 'segment.bytes', configOperation: Op.SET, value: '-3' }])).toBe(ErrorCode.INVALID_CONFIG);
    expect(await one([{ name: 'segment.bytes', configOperation: 9, value: '5000' }])).toBe(ErrorCode.INVALID_REQUEST);
    expect(
      await one([
        { name: 'segment.bytes', configOperation: Op.SET, value: '5000' },
        { name: 'segment.bytes', configOperation: Op.DELETE, value: null },
      ]),
    ).toBe(ErrorCode.INVALID_REQUEST);
    expect(await topicConfig('incremental-errors', 'retention.ms')).toMatchObject({ value: '1000' });
    expect(await topicConfig('incremental-errors', 'segment.bytes')).toMatchObject({
      configSource: Source.DEFAULT_CONFIG,
    });
  });
});

describe('altered configs change the log', () => {
  it('rolls segments at the new segment.bytes, and retention and DeleteRecords delete them', async () => {
    await createTopic('behaviour');
    const set = await client.send(IncrementalAlterConfigs, 1, {
      resources: [
        {
          resourceType: TOPIC,
          resourceName: 'behaviour',
          configs: [{ name: 'segment.bytes', configOperation: Op.SET, value: '1500' }],
        },
      ],
      validateOnly: false,
    });
    expect(set.responses[0].errorCode).toBe(ErrorCode.NONE);
    for (let i = 0; i < 6; i++) await produce('behaviour', 10); // ~1.1 KB per batch: one batch per segment
    const log = broker.broker.partitions.get('behaviour', 0)!.log;
    expect(log.segments.length).toBe(6);

    // retention.bytes small enough for three sealed segments to go.
    const sizes = log.segments.map((s) => s.size);
    const keep = sizes.slice(3).reduce((a, b) => a + b, 0);
    const alter = await client.send(AlterConfigs, 2, {
      resources: [
        {
          resourceType: TOPIC,
          resourceName: 'behaviour',
          configs: [
            { name: 'segment.bytes', value: '1500' },
            { name: 'retention.bytes', value: String(keep) },
            { name: 'file.delete.delay.ms', value: '0' },
          ],
        },
      ],
      validateOnly: false,
    });
    expect(alter.responses[0].errorCode).toBe(ErrorCode.NONE);
    await broker.broker.logs.runRetention();
    expect(log.segments.length).toBe(3);
    expect(log.logStartOffset).toBe(30);

    const del = await client.send(DeleteRecords, 2, {
      topics: [{ name: 'behaviour', partitions: [{ partitionIndex: 0, offset: 45n }] }],
      timeoutMs: 5000,
    });
    expect(del.topics[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, lowWatermark: 45n });
    expect(log.segments.map((s) => s.baseOffset)).toEqual([40, 50]);
  });
});
