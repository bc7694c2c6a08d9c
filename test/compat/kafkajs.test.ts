/**
 * kafkajs (unmodified, from npm) against Berth on both io engines and fetch paths: admin, producer with every acks
 * setting and codec, keys and headers byte-identical, the idempotent producer.
 *
 * Read-back: kafkajs has no consumer without a consumer group, and the group coordinator is not served yet, so what
 * kafkajs produced is read back with our own client's Fetch (CRC-checked, batch by batch). When FindCoordinator and
 * the group APIs are registered, the consumer test below switches to a kafkajs group consumer on its own.
 */
import type { Admin, IHeaders, Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import type { KafkaClient } from '../../cli/kafka-client.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { brokerModes, connectClient, startTestBroker } from '../helpers/broker.js';
import { kafkajsClient, kafkajsCompression } from '../helpers/compat-kafkajs.js';
import { CODECS, compatConfig, readPartition, seededBytes } from '../helpers/compat-readback.js';

const INIT_PRODUCER_ID = 22;
const GROUP_APIS = [10, 11, 12, 13, 14]; // FindCoordinator, JoinGroup, Heartbeat, LeaveGroup, SyncGroup

describe.each(brokerModes)('kafkajs ($name)', ({ config }) => {
  let broker: RunningBroker;
  let client: KafkaClient;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;

  beforeAll(async () => {
    broker = await startTestBroker({ config: compatConfig(config) });
    client = await connectClient(broker);
    kafka = kafkajsClient(broker.bootstrap);
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await admin?.disconnect();
    client?.close();
    await broker?.stop();
  });

  it('admin: createTopics, fetchTopicMetadata, listTopics, deleteTopics', async () => {
    expect(
      await admin.createTopics({
        topics: [
          { topic: 'kj-admin-a', numPartitions: 3 },
          { topic: 'kj-admin-b', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '60000' }] },
        ],
        waitForLeaders: true,
      }),
    ).toBe(true);
    // A second create of the same topic is not an error for kafkajs: it answers false.
    expect(await admin.createTopics({ topics: [{ topic: 'kj-admin-a' }] })).toBe(false);

    const md = await admin.fetchTopicMetadata({ topics: ['kj-admin-a', 'kj-admin-b'] });
    const a = md.topics.find((t) => t.name === 'kj-admin-a')!;
    expect(a.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2]);
    for (const p of a.partitions) {
      expect(p.partitionErrorCode).toBe(ErrorCode.NONE);
      expect(p.leader).toBe(broker.broker.nodeId);
      expect(p.replicas).toEqual([broker.broker.nodeId]);
      expect(p.isr).toEqual([broker.broker.nodeId]);
    }
    expect(await admin.listTopics()).toEqual(expect.arrayContaining(['kj-admin-a', 'kj-admin-b']));

    await admin.deleteTopics({ topics: ['kj-admin-b'] });
    expect(await admin.listTopics()).not.toContain('kj-admin-b');
    await expect(admin.fetchTopicMetadata({ topics: ['kj-admin-b'] })).rejects.toThrow(/does not host|not exist/i);
  });

  it('produces with acks 0, 1 and -1, in order, and fetchTopicOffsets sees them', async () => {
    await admin.createTopics({ topics: [{ topic: 'kj-acks', numPartitions: 2 }] });
    const sent: string[] = [];
    for (const acks of [1, -1, 0]) {
      const values = Array.from({ length: 10 }, (_, i) => `acks${acks}-${i}`);
      sent.push(...values);
      const res = await producer.send({
        topic: 'kj-acks',
        acks,
        messages: values.map((value) => ({ value, partition: 1 })),
      });
      if (acks !== 0) {
        expect(res).toHaveLength(1);
        expect(res[0].errorCode).toBe(ErrorCode.NONE);
        expect(BigInt(res[0].baseOffset!)).toBe(BigInt(sent.length - 10));
      }
    }
    // acks=0 gets no answer; an acks=1 send on the same connection and partition is appended after it, so once it
    // is acknowledged the acks=0 records are in the log (its base offset proves where they went).
    const fence = await producer.send({ topic: 'kj-acks', acks: 1, messages: [{ value: 'fence', partition: 1 }] });
    expect(fence[0].baseOffset).toBe('30');
    sent.push('fence');

    const back = await readPartition(client, 'kj-acks', 1);
    expect(back.records.map((r) => r.value?.toString())).toEqual(sent);
    expect(back.records.map((r) => Number(r.offset))).toEqual(sent.map((_, i) => i));

    const offsets = await admin.fetchTopicOffsets('kj-acks');
    const byPartition = new Map(offsets.map((o) => [o.partition, o]));
    expect(byPartition.get(0)).toMatchObject({ offset: '0', high: '0', low: '0' });
    expect(byPartition.get(1)).toMatchObject({ offset: '31', high: '31', low: '0' });
  });

  it('round-trips binary keys, values and headers byte-identical in every codec', async () => {
    await admin.createTopics({ topics: [{ topic: 'kj-codecs', numPartitions: 1 }] });
    let seed = 1;
    const expected: Array<{ key: Buffer | null; value: Buffer | null; headers: Array<[string, Buffer]> }> = [];
    for (const codec of CODECS) {
      const messages = Array.from({ length: 25 }, (_, i) => {
        const key = i % 5 === 4 ? null : seededBytes(seed++, 1 + (i % 7) * 3);
        // Every codec gets some payloads large enough that compression actually changes the bytes.
        const value = i === 3 ? null : seededBytes(seed++, i % 2 === 0 ? 16 : 3000);
        const headers: IHeaders = { codec, bin: seededBytes(seed++, 9), repeated: ['one', Buffer.from([0, 255])] };
        expected.push({
          key,
          value,
          headers: [
            ['codec', Buffer.from(codec)],
            ['bin', headers.bin as Buffer],
            ['repeated', Buffer.from('one')],
            ['repeated', Buffer.from([0, 255])],
          ],
        });
        return { key, value, headers };
      });
      const res = await producer.send({
        topic: 'kj-codecs',
        acks: -1,
        compression: kafkajsCompression[codec],
        messages,
      });
      expect(res[0].errorCode).toBe(ErrorCode.NONE);
    }

    const back = await readPartition(client, 'kj-codecs', 0);
    // One batch per send, each in the codec kafkajs was asked for (the broker stores batches as produced).
    expect(back.batches.map((b) => b.codec)).toEqual(CODECS);
    expect(back.records).toHaveLength(expected.length);
    // Compared as hex: vitest's deep equality walks Buffers byte by byte, which is slow for 75 KB of payloads.
    const hex = (b: Buffer | null) => (b === null ? null : b.toString('hex'));
    expect(back.records.map((r) => r.offset)).toEqual(expected.map((_, i) => BigInt(i)));
    expect(back.records.map((r) => hex(r.key))).toEqual(expected.map((e) => hex(e.key)));
    expect(back.records.map((r) => hex(r.value))).toEqual(expected.map((e) => hex(e.value)));
    expect(back.records.map((r) => r.headers.map((h) => [h.key, hex(h.value)]))).toEqual(
      expected.map((e) => e.headers.map(([k, v]) => [k, hex(v)])),
    );
  });

  it('refuses a batch over max.message.bytes with MESSAGE_TOO_LARGE, which kafkajs reports', async () => {
    await admin.createTopics({
      topics: [{ topic: 'kj-errors', configEntries: [{ name: 'max.message.bytes', value: '10000' }] }],
    });
    await expect(
      producer.send({ topic: 'kj-errors', acks: -1, messages: [{ value: Buffer.alloc(20_000, 1) }] }),
    ).rejects.toMatchObject({ type: 'MESSAGE_TOO_LARGE' });
    // Under the limit the same topic takes it, and nothing of the refused batch is there.
    await producer.send({ topic: 'kj-errors', acks: -1, messages: [{ value: Buffer.alloc(5_000, 2) }] });
    const back = await readPartition(client, 'kj-errors', 0);
    expect(back.records.map((r) => r.value?.length)).toEqual([5_000]);
  });

  it('keeps CreateTime timestamps and finds offsets by timestamp', async () => {
    await admin.createTopics({ topics: [{ topic: 'kj-time', numPartitions: 1 }] });
    const base = 1_700_000_000_000;
    await producer.send({
      topic: 'kj-time',
      acks: -1,
      messages: [0, 1000, 2000, 3000].map((d, i) => ({ value: `t${i}`, timestamp: String(base + d) })),
    });
    const back = await readPartition(client, 'kj-time', 0);
    expect(back.records.map((r) => r.timestamp)).toEqual([0, 1000, 2000, 3000].map((d) => BigInt(base + d)));
    expect(await admin.fetchTopicOffsetsByTimestamp('kj-time', base + 1500)).toEqual([{ partition: 0, offset: '2' }]);
    expect(await admin.fetchTopicOffsetsByTimestamp('kj-time', base)).toEqual([{ partition: 0, offset: '0' }]);
    // Past the last timestamp: the log end offset, as Kafka answers.
    expect(await admin.fetchTopicOffsetsByTimestamp('kj-time', base + 10_000)).toEqual([{ partition: 0, offset: '4' }]);
  });

  it('idempotent producer: one producer id, consecutive sequences, no duplicates', async () => {
    await admin.createTopics({ topics: [{ topic: 'kj-idem', numPartitions: 1 }] });
    const idempotent = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    if (!broker.broker.handlers.has(INIT_PRODUCER_ID)) {
      // InitProducerId is not served yet: kafkajs must refuse cleanly at connect (and not produce anything).
      await expect(idempotent.connect()).rejects.toThrow(/does not support/i);
      await idempotent.disconnect();
      expect((await readPartition(client, 'kj-idem', 0)).records).toHaveLength(0);
      return;
    }
    await idempotent.connect();
    try {
      for (let i = 0; i < 3; i++) {
        await idempotent.send({
          topic: 'kj-idem',
          acks: -1,
          messages: Array.from({ length: 4 }, (_, j) => ({ key: `k${j}`, value: `idem-${i}-${j}` })),
        });
      }
    } finally {
      await idempotent.disconnect();
    }
    const back = await readPartition(client, 'kj-idem', 0);
    expect(back.records).toHaveLength(12);
    const ids = new Set(back.batches.map((b) => b.header.producerId));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toBeGreaterThanOrEqual(0n);
    expect(back.batches.map((b) => b.header.baseSequence)).toEqual([0, 4, 8]);
  });

  it('consumer reads everything back by offset', async () => {
    await admin.createTopics({ topics: [{ topic: 'kj-consume', numPartitions: 2 }] });
    const sent = Array.from({ length: 40 }, (_, i) => ({
      key: `k${i}`,
      value: seededBytes(1000 + i, 200),
      partition: i % 2,
      headers: { n: String(i) },
    }));
    await producer.send({ topic: 'kj-consume', acks: -1, compression: kafkajsCompression.zstd, messages: sent });

    if (!GROUP_APIS.every((k) => broker.broker.handlers.has(k))) {
      // No group coordinator yet: read back with our client's Fetch, from the start and from a middle offset.
      for (const partition of [0, 1]) {
        const mine = sent.filter((m) => m.partition === partition);
        const all = await readPartition(client, 'kj-consume', partition);
        expect(all.records.map((r) => r.value?.toString('hex'))).toEqual(mine.map((m) => m.value.toString('hex')));
        const tail = await readPartition(client, 'kj-consume', partition, 7n);
        expect(tail.records.map((r) => r.key?.toString())).toEqual(mine.slice(7).map((m) => m.key));
      }
      return;
    }
    const consumer = kafka.consumer({ groupId: `kj-${Date.now()}`, maxWaitTimeInMs: 200 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: 'kj-consume', fromBeginning: true });
      const got: Array<{ partition: number; offset: string; key: string; value: Buffer; n: string }> = [];
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            eachMessage: async ({ partition, message }) => {
              got.push({
                partition,
                offset: message.offset,
                key: message.key!.toString(),
                value: message.value!,
                n: message.headers!.n!.toString(),
              });
              if (got.length === sent.length) resolve();
            },
          })
          .catch(reject);
      });
      for (const partition of [0, 1]) {
        const mine = sent.filter((m) => m.partition === partition);
        const theirs = got.filter((g) => g.partition === partition);
        expect(theirs.map((g) => g.offset)).toEqual(mine.map((_, i) => String(i)));
        expect(theirs.map((g) => g.value.toString('hex'))).toEqual(mine.map((m) => m.value.toString('hex')));
        expect(theirs.map((g) => g.n)).toEqual(mine.map((m) => m.headers.n));
      }
    } finally {
      await consumer.disconnect();
    }
  });
});
