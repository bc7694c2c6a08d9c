/**
 * The broker's limits, each with the error a client sees (docs/operations.md, "Limits"). connection.test.ts
 * already covers a frame over socket.request.max.bytes (closed from its size alone), a frame that stops half way,
 * idle connections and the per-address connection limit; this file covers the rest.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import type { KafkaClient } from '../../cli/kafka-client.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { encodeRequestFrame } from '../../protocol/frames.js';
import { CreatePartitions } from '../../protocol/generated/create-partitions.js';
import { CreateTopics } from '../../protocol/generated/create-topics.js';
import { DeleteTopics } from '../../protocol/generated/delete-topics.js';
import { Fetch } from '../../protocol/generated/fetch.js';
import { ListOffsets } from '../../protocol/generated/list-offsets.js';
import { Metadata } from '../../protocol/generated/metadata.js';
import { Produce } from '../../protocol/generated/produce.js';
import { LAST_OFFSET_DELTA, RECORDS_COUNT } from '../../protocol/records/batch-header.js';
import { crc32c } from '../../protocol/records/crc32c.js';
import { encodeRecordBatch } from '../../protocol/records/encode-batch.js';
import { ZERO_UUID } from '../../protocol/uuid.js';
import { connectClient, fetchRequest, startTestBroker } from '../helpers/broker.js';

const MAX_REQUEST_BYTES = 65536;
const MESSAGE_MAX_BYTES = 4096;
const MAX_PARTITIONS = 8;
const MAX_CONNECTIONS = 8;

/** A raw socket that splits response frames, for byte-level control. */
class Raw {
  private buffered = Buffer.alloc(0);
  closed = false;
  readonly socket: Socket;
  readonly frames: Buffer[] = [];

  constructor(port: number) {
    this.socket = connect({ host: '127.0.0.1', port });
    this.socket.on('data', (d: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      while (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readInt32BE(0)) {
        this.frames.push(this.buffered.subarray(4, 4 + this.buffered.readInt32BE(0)));
        this.buffered = this.buffered.subarray(4 + this.buffered.readInt32BE(0));
      }
    });
    this.socket.on('close', () => {
      this.closed = true;
    });
    this.socket.on('error', () => undefined);
  }

  ready(): Promise<void> {
    return new Promise((r) => {
      this.socket.once('connect', () => r());
      this.socket.once('close', () => r());
    });
  }

  async until(done: () => boolean, ms = 5000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return done();
  }
}

function metadataFrame(correlationId: number): Buffer {
  return encodeRequestFrame(
    { apiKey: Metadata.apiKey, apiVersion: 6, correlationId, clientId: 'limits' },
    { topics: [], allowAutoTopicCreation: false },
  );
}

function batch(valueBytes: number, records = 1): Buffer {
  return encodeRecordBatch({
    compression: 'none',
    records: Array.from({ length: records }, (_, i) => ({ key: `k${i}`, value: Buffer.alloc(valueBytes, i) })),
  });
}

describe('limits', () => {
  let broker: RunningBroker;
  let client: KafkaClient;

  async function produce(topic: string, records: Buffer) {
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
    return res.responses[0].partitionResponses[0];
  }

  async function createTopic(name: string, numPartitions = 1, configs: Array<{ name: string; value: string }> = []) {
    const res = await client.request(CreateTopics, {
      topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    return res.topics[0];
  }

  async function deleteTopic(name: string) {
    await client.request(DeleteTopics, { topicNames: [name], topics: [{ name, topicId: ZERO_UUID }], timeoutMs: 5000 });
  }

  async function logEndOffset(topic: string): Promise<bigint> {
    const res = await client.request(ListOffsets, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -1n }] }],
    });
    return res.topics[0].partitions[0].offset;
  }

  beforeAll(async () => {
    broker = await startTestBroker({
      config: {
        'socket.request.max.bytes': String(MAX_REQUEST_BYTES),
        'message.max.bytes': String(MESSAGE_MAX_BYTES),
        'max.partitions': String(MAX_PARTITIONS),
        'max.connections': String(MAX_CONNECTIONS),
        'queued.max.requests.per.connection': '2',
        'request.frame.timeout.ms': '300',
      },
    });
    client = await connectClient(broker, 'limits');
    expect((await createTopic('limits')).errorCode).toBe(ErrorCode.NONE);
  });

  afterAll(async () => {
    client?.close();
    await broker?.stop();
  });

  it('answers a request of exactly socket.request.max.bytes', async () => {
    // A Produce padded to the limit: read and answered (MESSAGE_TOO_LARGE for its records), not closed.
    const frameOf = (n: number) =>
      encodeRequestFrame(
        { apiKey: Produce.apiKey, apiVersion: 9, correlationId: 7, clientId: 'limits' },
        {
          transactionalId: null,
          acks: 1,
          timeoutMs: 5000,
          topicData: [{ name: 'limits', partitionData: [{ index: 0, records: Buffer.alloc(n) }] }],
        },
      );
    const overhead = frameOf(0).length - 4;
    const frame = frameOf(MAX_REQUEST_BYTES - overhead - 2); // the varint length grows by 2 bytes
    expect(frame.readInt32BE(0)).toBe(MAX_REQUEST_BYTES);
    const raw = new Raw(broker.port);
    await raw.ready();
    raw.socket.write(frame);
    expect(await raw.until(() => raw.frames.length === 1 || raw.closed)).toBe(true);
    expect(raw.frames).toHaveLength(1);
    expect(raw.frames[0].readInt32BE(0)).toBe(7);
    raw.socket.destroy();
  });

  it('refuses a batch over message.max.bytes, or over the topic max.message.bytes, with MESSAGE_TOO_LARGE', async () => {
    const big = batch(MESSAGE_MAX_BYTES);
    const refused = await produce('limits', big);
    expect(refused.errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    expect(refused.errorMessage).toMatch(/max\.message\.bytes/);
    expect(await logEndOffset('limits')).toBe(0n);
    // A topic may allow more (or less) than the broker default.
    const created = await createTopic('limits-large', 1, [{ name: 'max.message.bytes', value: '16384' }]);
    expect(created.errorCode).toBe(ErrorCode.NONE);
    expect((await produce('limits-large', big)).errorCode).toBe(ErrorCode.NONE);
    expect((await produce('limits-large', batch(16384))).errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    await deleteTopic('limits-large');
  });

  it('refuses a batch whose record count lies with CORRUPT_MESSAGE, and appends nothing', async () => {
    const before = await logEndOffset('limits');
    for (const lie of [2, 5, 1000, 0x7fffffff]) {
      const bad = Buffer.from(batch(10, 3));
      bad.writeInt32BE(lie, RECORDS_COUNT);
      bad.writeInt32BE(lie - 1, LAST_OFFSET_DELTA);
      bad.writeUInt32BE(crc32c(bad, 21, bad.length), 17); // a valid CRC: the count is the only lie
      const res = await produce('limits', bad);
      expect(res.errorCode, `count ${lie}`).toBe(ErrorCode.CORRUPT_MESSAGE);
      expect(res.errorMessage).toMatch(/records/);
    }
    expect(await logEndOffset('limits')).toBe(before);
    expect((await produce('limits', batch(10, 3))).errorCode).toBe(ErrorCode.NONE);
  });

  it('holds at most queued.max.requests.per.connection requests in flight and drops none', async () => {
    // Six long-polling fetches (each waits 150 ms on an empty partition) and a Metadata, pipelined in one write.
    const topic = 'limits-idle';
    expect((await createTopic(topic)).errorCode).toBe(ErrorCode.NONE);
    const fetchFrame = (correlationId: number) =>
      encodeRequestFrame(
        { apiKey: Fetch.apiKey, apiVersion: 12, correlationId, clientId: 'limits' },
        fetchRequest(topic, [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1024 }], {
          maxWaitMs: 150,
          maxBytes: 1024,
        }),
      );
    const raw = new Raw(broker.port);
    await raw.ready();
    raw.socket.write(Buffer.concat([...[1, 2, 3, 4, 5, 6].map(fetchFrame), metadataFrame(7)]));
    let most = 0;
    const done = await raw.until(() => {
      most = Math.max(most, broker.broker.fetchWaiters.waitingOn(topic, 0));
      return raw.frames.length === 7 || raw.closed;
    });
    expect(done).toBe(true);
    expect(raw.frames.map((f) => f.readInt32BE(0))).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(2);
    raw.socket.destroy();
    await deleteTopic(topic);
  });

  it('accepts at most max.connections connections in total, and frees a slot when one closes', async () => {
    // The test client holds one connection already.
    const conns = Array.from({ length: MAX_CONNECTIONS + 3 }, () => new Raw(broker.port));
    await Promise.all(conns.map((c) => c.ready()));
    for (const c of conns) c.socket.write(metadataFrame(1));
    await Promise.all(conns.map((c) => c.until(() => c.frames.length > 0 || c.closed)));
    const served = conns.filter((c) => c.frames.length > 0);
    expect(served).toHaveLength(MAX_CONNECTIONS - 1);
    expect(conns.filter((c) => c.closed)).toHaveLength(4);
    served[0].socket.destroy();
    await served[0].until(() => served[0].closed);
    // The broker notices the close asynchronously: retry until the slot is free.
    let again: Raw | null = null;
    for (let i = 0; i < 50 && !again; i++) {
      const c = new Raw(broker.port);
      await c.ready();
      c.socket.write(metadataFrame(2));
      if (await c.until(() => c.frames.length > 0 || c.closed)) {
        if (c.frames.length > 0) again = c;
      }
    }
    expect(again).not.toBeNull();
    again?.socket.destroy();
    for (const c of conns) c.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
  });

  it('refuses topics and partitions past max.partitions with POLICY_VIOLATION and a message', async () => {
    // 'limits' holds 1 of the 8 partitions.
    const huge = await createTopic('limits-huge', 0x7fffffff);
    expect(huge.errorCode).toBe(ErrorCode.POLICY_VIOLATION);
    expect(huge.errorMessage).toMatch(/max\.partitions 8/);
    expect((await createTopic('limits-8', 8)).errorCode).toBe(ErrorCode.POLICY_VIOLATION);
    const validateOnly = await client.request(CreateTopics, {
      topics: [{ name: 'limits-8', numPartitions: 8, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: true,
    });
    expect(validateOnly.topics[0].errorCode).toBe(ErrorCode.POLICY_VIOLATION);
    expect((await createTopic('limits-6', 6)).errorCode).toBe(ErrorCode.NONE); // 7 of 8

    const grow = await client.request(CreatePartitions, {
      topics: [{ name: 'limits-6', count: 8, assignments: null }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(grow.results[0].errorCode).toBe(ErrorCode.POLICY_VIOLATION);
    expect(grow.results[0].errorMessage).toMatch(/max\.partitions/);

    // Auto-creation takes the last one, then is refused.
    const auto = async (name: string) =>
      (await client.request(Metadata, { topics: [{ name }], allowAutoTopicCreation: true })).topics[0].errorCode;
    expect(await auto('limits-auto-1')).toBe(ErrorCode.NONE);
    expect(await auto('limits-auto-2')).toBe(ErrorCode.POLICY_VIOLATION);
    expect((await produce('limits-auto-2', batch(1))).errorCode).not.toBe(ErrorCode.NONE);

    // Deleting a topic makes room again.
    await deleteTopic('limits-6');
    expect((await createTopic('limits-6b', 6)).errorCode).toBe(ErrorCode.NONE);
    await deleteTopic('limits-6b');
    await deleteTopic('limits-auto-1');
  });

  it('refuses topic names Kafka refuses with INVALID_TOPIC_EXCEPTION', async () => {
    const ok = 'n'.repeat(249);
    expect((await createTopic(ok)).errorCode).toBe(ErrorCode.NONE);
    await deleteTopic(ok);
    for (const name of ['n'.repeat(250), '.', '..', '', 'a/b', 'a b', 'caf\u00e9', 'a\u0000b', 'tab\t']) {
      const res = await createTopic(name);
      expect(res.errorCode, JSON.stringify(name)).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
      expect(res.errorMessage).toMatch(/invalid topic name/);
    }
    const meta = await client.request(Metadata, { topics: [{ name: 'a/b' }], allowAutoTopicCreation: true });
    expect(meta.topics[0].errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
  });

  it('closes a connection whose frame trickles in slower than request.frame.timeout.ms, though bytes keep coming', async () => {
    const frame = metadataFrame(9);
    const raw = new Raw(broker.port);
    await raw.ready();
    // One byte every 40 ms: every byte is far inside the idle timeout, the whole frame far outside 300 ms.
    for (let i = 0; i < frame.length - 1 && !raw.closed; i++) {
      raw.socket.write(frame.subarray(i, i + 1));
      await new Promise((r) => setTimeout(r, 40));
    }
    expect(raw.closed).toBe(true);
    expect(raw.frames).toHaveLength(0);
    // The same frame sent whole is answered.
    const prompt = new Raw(broker.port);
    await prompt.ready();
    prompt.socket.write(frame);
    expect(await prompt.until(() => prompt.frames.length === 1)).toBe(true);
    prompt.socket.destroy();
  });

  it('times each frame from its own first byte: a stream of split frames, each prompt, outlives the frame timeout', async () => {
    const raw = new Raw(broker.port);
    await raw.ready();
    // Five frames, each sent in two halves 100 ms apart: every frame is whole well inside 300 ms, the five together
    // take longer than that. The timeout runs per frame, so none of them may close the connection.
    for (let n = 0; n < 5; n++) {
      const frame = metadataFrame(20 + n);
      raw.socket.write(frame.subarray(0, 10));
      await new Promise((r) => setTimeout(r, 100));
      raw.socket.write(frame.subarray(10));
      expect(await raw.until(() => raw.frames.length === n + 1 || raw.closed)).toBe(true);
      expect(raw.closed).toBe(false);
    }
    // A frame left half-sent after them still times out.
    raw.socket.write(metadataFrame(30).subarray(0, 10));
    expect(await raw.until(() => raw.closed)).toBe(true);
    expect(raw.frames).toHaveLength(5);
  });
});
