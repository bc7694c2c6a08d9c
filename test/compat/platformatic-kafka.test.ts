/**
 * @platformatic/kafka 1.35 (unmodified, from npm; pure JavaScript, written for Kafka 3.5-4.1) against Berth on both io
 * engines and fetch paths. It speaks the newest request versions of the clients tested here, as the Java client
 * does (Metadata v12, Produce v11, Fetch v17, ListOffsets v9, JoinGroup v9, SyncGroup v5, FindCoordinator v6):
 * admin, the idempotent producer in every codec this Node has, keys and headers byte-identical, offsets by
 * timestamp, DeleteRecords, and a consumer group that commits.
 */
import {
  Admin,
  Consumer,
  compressionsAlgorithms,
  ProduceAcks,
  Producer,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import type { KafkaClient } from '../../cli/kafka-client.js';
import { brokerModes, connectClient, startTestBroker } from '../helpers/broker.js';
import { CODECS, compatConfig, readPartition } from '../helpers/compat-readback.js';

const BASE_TS = 1_700_000_000_000n;
const COUNT = 20;
/** zstd needs node:zlib's zstd (Node 22.15 and later); the others are the client's own. */
const codecs = CODECS.filter((c) => compressionsAlgorithms[c].available);

describe.each(brokerModes)('@platformatic/kafka ($name)', ({ config }) => {
  let broker: RunningBroker;
  let client: KafkaClient;
  let admin: Admin;
  let producer: Producer<string, string, string, string>;

  beforeAll(async () => {
    broker = await startTestBroker({ config: compatConfig(config) });
    client = await connectClient(broker);
    admin = new Admin({ clientId: 'plt-admin', bootstrapBrokers: [broker.bootstrap] });
    producer = new Producer({
      clientId: 'plt-producer',
      bootstrapBrokers: [broker.bootstrap],
      serializers: stringSerializers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      autocreateTopics: false,
    });
  });

  afterAll(async () => {
    await producer?.close();
    await admin?.close();
    client?.close();
    await broker?.stop();
  });

  /** The requests this client sent, by API and version (the broker's own counters). */
  async function requestVersions(): Promise<Set<string>> {
    const m = await broker.broker.metrics.registry.getSingleMetric('berth_requests_total')!.get();
    return new Set(m.values.map((v) => `${v.labels.api} v${v.labels.version}`));
  }

  it('admin: createTopics, metadata, createPartitions, configs, listTopics, deleteTopics', async () => {
    const created = await admin.createTopics({ topics: ['plt-adm-a', 'plt-adm-b'], partitions: 2, replicas: 1 });
    expect(created.map((t) => [t.name, t.partitions]).sort()).toEqual([
      ['plt-adm-a', 2],
      ['plt-adm-b', 2],
    ]);
    await expect(admin.createTopics({ topics: ['plt-adm-a'], partitions: 2, replicas: 1 })).rejects.toThrow();
    await admin.createPartitions({ topics: [{ name: 'plt-adm-a', count: 3 }] });
    const md = await admin.metadata({ topics: ['plt-adm-a'] });
    expect(md.id).toBe(broker.broker.clusterId);
    expect(md.controllerId).toBe(broker.broker.nodeId);
    expect([...md.brokers.values()]).toMatchObject([{ host: broker.host, port: broker.port }]);
    const topic = md.topics.get('plt-adm-a')!;
    expect(topic.partitionsCount).toBe(3);
    expect(new Set(topic.partitions.map((p) => p.leader))).toEqual(new Set([broker.broker.nodeId]));

    await admin.alterConfigs({
      resources: [
        { resourceType: 2, resourceName: 'plt-adm-a', configs: [{ name: 'retention.ms', value: '7200000' }] },
      ],
    });
    const described = await admin.describeConfigs({
      resources: [{ resourceType: 2, resourceName: 'plt-adm-a', configurationKeys: ['retention.ms'] }],
    });
    expect(described[0].configs.find((c) => c.name === 'retention.ms')?.value).toBe('7200000');

    await admin.deleteTopics({ topics: ['plt-adm-b'] });
    expect((await admin.listTopics()).filter((t) => t.startsWith('plt-adm-'))).toEqual(['plt-adm-a']);
  });

  it.each(codecs)(
    'idempotent producer, %s: every message acknowledged, stored as sent, byte-identical',
    async (codec) => {
      const topic = `plt-${codec}`;
      await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
      const messages = Array.from({ length: COUNT }, (_, i) => ({
        topic,
        partition: 0,
        key: i % 5 === 4 ? undefined : `${codec}-k${i}`,
        value: `${codec}-value-${i}-${'x'.repeat(i * 13)}`,
        headers: new Map([
          ['codec', codec],
          ['i', String(i)],
        ]),
        timestamp: BASE_TS + BigInt(i * 1000),
      }));
      const first = await producer.send({ messages: messages.slice(0, 10), compression: codec });
      const second = await producer.send({ messages: messages.slice(10), compression: codec });
      expect(first.offsets).toEqual([{ topic, partition: 0, offset: 0n }]);
      expect(second.offsets).toEqual([{ topic, partition: 0, offset: 10n }]);

      const back = await readPartition(client, topic, 0);
      expect(back.batches.map((b) => b.codec)).toEqual([codec, codec]);
      expect(new Set(back.batches.map((b) => b.header.producerId >= 0n))).toEqual(new Set([true]));
      expect(back.batches.map((b) => b.header.baseSequence)).toEqual([0, 10]);
      expect(back.records.map((r) => r.key?.toString() ?? null)).toEqual(messages.map((m) => m.key ?? null));
      expect(back.records.map((r) => r.value?.toString())).toEqual(messages.map((m) => m.value));
      expect(back.records.map((r) => r.headers.map((h) => [h.key, h.value?.toString()]))).toEqual(
        messages.map((m) => [...m.headers]),
      );
      expect(back.records.map((r) => r.timestamp)).toEqual(messages.map((m) => m.timestamp));
    },
  );

  it('offsets by timestamp and DeleteRecords', async () => {
    const consumer = new Consumer({
      groupId: 'plt-offsets',
      clientId: 'plt-offsets',
      bootstrapBrokers: [broker.bootstrap],
    });
    try {
      const byTime = await consumer.listOffsets({ topics: ['plt-none'], timestamp: BASE_TS + 12_500n });
      expect(byTime.get('plt-none')).toEqual([13n]);
      const latest = await consumer.listOffsets({ topics: ['plt-none'] });
      expect(latest.get('plt-none')).toEqual([BigInt(COUNT)]);
      const deleted = await admin.deleteRecords({
        topics: [{ name: 'plt-none', partitions: [{ partition: 0, offset: 5n }] }],
      });
      expect(deleted).toEqual([{ name: 'plt-none', partitions: [{ partition: 0, lowWatermark: 5n }] }]);
      const earliest = await consumer.listOffsets({ topics: ['plt-none'], timestamp: -2n });
      expect(earliest.get('plt-none')).toEqual([5n]);
    } finally {
      await consumer.close();
    }
  });

  it('a consumer group reads every message of three partitions once and commits; the admin sees the offsets', async () => {
    await admin.createTopics({ topics: ['plt-group'], partitions: 3, replicas: 1 });
    const messages = Array.from({ length: 60 }, (_, i) => ({ topic: 'plt-group', partition: i % 3, value: `m${i}` }));
    await producer.send({ messages });
    const consumer = new Consumer({
      groupId: 'plt-g',
      clientId: 'plt-member',
      bootstrapBrokers: [broker.bootstrap],
      deserializers: stringDeserializers,
    });
    const seen: string[] = [];
    try {
      const stream = await consumer.consume({
        topics: ['plt-group'],
        mode: 'earliest',
        autocommit: false,
        sessionTimeout: 10_000,
        heartbeatInterval: 500,
      });
      for await (const m of stream) {
        seen.push(m.value);
        await m.commit();
        if (seen.length === messages.length) break;
      }
      await stream.close();
    } finally {
      await consumer.close();
    }
    expect(seen.sort()).toEqual(messages.map((m) => m.value).sort());
    const offsets = await admin.listConsumerGroupOffsets({ groups: ['plt-g'] });
    const committed = offsets[0].topics.find((t) => t.name === 'plt-group')!.partitions;
    expect(committed.map((p) => [p.partitionIndex, p.committedOffset]).sort()).toEqual([
      [0, 20n],
      [1, 20n],
      [2, 20n],
    ]);
    const groups = await admin.listGroups();
    expect(groups.get('plt-g')).toMatchObject({ id: 'plt-g', protocolType: 'consumer' });

    // The newest versions any client here uses: what the Java client of Kafka 3.x-4.x sends too.
    const versions = await requestVersions();
    for (const v of ['Metadata v12', 'Produce v11', 'Fetch v17', 'ListOffsets v9', 'JoinGroup v9', 'SyncGroup v5']) {
      expect(versions).toContain(v);
    }
  });
});
