/**
 * kafkajs's admin client against the broker: topics, partitions, configs, metadata, offsets, DeleteRecords and the
 * cluster description, each checked through kafkajs's own view of the answer.
 */
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import { startTestBroker } from '../helpers/broker.js';

let broker: RunningBroker;
let kafka: Kafka;
let admin: ReturnType<Kafka['admin']>;

beforeAll(async () => {
  broker = await startTestBroker({ config: { 'auto.create.topics.enable': false } });
  kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, clientId: 'admin-kafkajs' });
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  await admin?.disconnect();
  await broker?.stop();
});

async function produce(topic: string, partition: number, count: number) {
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: count }, (_, i) => ({ partition, value: `m${i}` })),
    });
  } finally {
    await producer.disconnect();
  }
}

describe('kafkajs admin', () => {
  it('creates topics (validate_only creates nothing), grows and deletes them', async () => {
    expect(
      await admin.createTopics({
        validateOnly: true,
        waitForLeaders: false,
        topics: [{ topic: 'kjs-dry', numPartitions: 2 }],
      }),
    ).toBe(true);
    expect(await admin.listTopics()).not.toContain('kjs-dry');
    expect(
      await admin.createTopics({
        topics: [{ topic: 'kjs-a', numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '60000' }] }],
      }),
    ).toBe(true);
    await admin.createPartitions({ topicPartitions: [{ topic: 'kjs-a', count: 5 }] });
    const meta = await admin.fetchTopicMetadata({ topics: ['kjs-a'] });
    expect(meta.topics[0].partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(meta.topics[0].partitions[0]).toMatchObject({ leader: 1, replicas: [1], isr: [1] });
    await expect(admin.createPartitions({ topicPartitions: [{ topic: 'kjs-a', count: 3 }] })).rejects.toMatchObject({
      type: 'INVALID_PARTITIONS',
    });
    await admin.deleteTopics({ topics: ['kjs-a'] });
    expect(await admin.listTopics()).not.toContain('kjs-a');
  });

  it('describes and alters topic configs', async () => {
    await admin.createTopics({
      topics: [{ topic: 'kjs-configs', configEntries: [{ name: 'retention.ms', value: '1000' }] }],
    });
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: 'kjs-configs', configNames: ['retention.ms', 'segment.bytes'] },
      ],
    });
    const entries = new Map(described.resources[0].configEntries.map((e) => [e.configName, e]));
    expect(entries.get('retention.ms')).toMatchObject({ configValue: '1000', isDefault: false, configSource: 1 });
    expect(entries.get('segment.bytes')).toMatchObject({ configValue: '1073741824', configSource: 5 });

    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: 'kjs-configs',
          configEntries: [{ name: 'segment.bytes', value: '4096' }],
        },
      ],
    });
    const after = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: 'kjs-configs', configNames: ['retention.ms', 'segment.bytes'] },
      ],
    });
    const afterEntries = new Map(after.resources[0].configEntries.map((e) => [e.configName, e]));
    expect(afterEntries.get('segment.bytes')).toMatchObject({ configValue: '4096', configSource: 1 });
    expect(afterEntries.get('retention.ms')).toMatchObject({ configSource: 5 });

    await expect(
      admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: 'kjs-configs',
            configEntries: [{ name: 'segment.bytes', value: 'x' }],
          },
        ],
      }),
    ).rejects.toMatchObject({ type: 'INVALID_CONFIG' });

    const brokerConfigs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configNames: ['num.partitions'] }],
    });
    expect(brokerConfigs.resources[0].configEntries).toEqual([
      expect.objectContaining({ configName: 'num.partitions', configValue: '1', readOnly: true }),
    ]);
  });

  it('fetches offsets and deletes records', async () => {
    await admin.createTopics({ topics: [{ topic: 'kjs-records', numPartitions: 2 }] });
    await produce('kjs-records', 0, 8);
    await produce('kjs-records', 1, 3);
    const before = await admin.fetchTopicOffsets('kjs-records');
    expect(before.sort((a, b) => a.partition - b.partition)).toEqual([
      expect.objectContaining({ partition: 0, offset: '8', high: '8', low: '0' }),
      expect.objectContaining({ partition: 1, offset: '3', high: '3', low: '0' }),
    ]);
    await admin.deleteTopicRecords({
      topic: 'kjs-records',
      partitions: [
        { partition: 0, offset: '5' },
        { partition: 1, offset: '-1' },
      ],
    });
    const after = await admin.fetchTopicOffsets('kjs-records');
    expect(after.sort((a, b) => a.partition - b.partition)).toEqual([
      expect.objectContaining({ partition: 0, high: '8', low: '5' }),
      expect.objectContaining({ partition: 1, high: '3', low: '3' }),
    ]);
  });

  it('describes the cluster', async () => {
    const cluster = await admin.describeCluster();
    expect(cluster.clusterId).toBe(broker.broker.clusterId);
    expect(cluster.controller).toBe(1);
    expect(cluster.brokers).toEqual([expect.objectContaining({ nodeId: 1, host: broker.host, port: broker.port })]);
  });
});
