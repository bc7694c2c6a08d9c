/**
 * Regressions found by the protocol fuzzer (test/fuzz), each reproduced with a well-formed request: what the broker
 * used to do wrong and the answer it gives now.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import type { KafkaClient } from '../../cli/kafka-client.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { encodeRequestFrame } from '../../protocol/frames.js';
import { ApiVersions } from '../../protocol/generated/api-versions.js';
import { Fetch } from '../../protocol/generated/fetch.js';
import { Metadata } from '../../protocol/generated/metadata.js';
import { Produce } from '../../protocol/generated/produce.js';
import { connectClient, startTestBroker } from '../helpers/broker.js';

describe('bad input regressions', () => {
  let broker: RunningBroker;
  let client: KafkaClient;

  beforeAll(async () => {
    broker = await startTestBroker();
    client = await connectClient(broker, 'bad-input');
  });

  afterAll(async () => {
    client?.close();
    await broker?.stop();
  });

  it('long-polls a Fetch that names no partition without starving the broker', async () => {
    // Used to spin: the re-read loop awaited a wait that resolved at once, forever, on microtasks.
    const fetching = client.send(Fetch, 12, {
      maxWaitMs: 300,
      minBytes: 1,
      maxBytes: 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [],
      forgottenTopicsData: [],
      rackId: '',
    });
    const other = await connectClient(broker, 'bad-input-2');
    try {
      expect((await other.request(ApiVersions, {})).errorCode).toBe(ErrorCode.NONE);
    } finally {
      other.close();
    }
    const res = await fetching;
    expect(res.errorCode).toBe(ErrorCode.NONE);
    expect(res.responses).toEqual([]);
  });

  it('answers Metadata v10 and v11 for an unknown topic id with UNKNOWN_TOPIC_ID and an empty name', async () => {
    // Names are not nullable in v10-11 responses: encoding null used to fail and close the connection.
    for (const version of [10, 11, 12]) {
      const res = await client.send(Metadata, version, {
        topics: [{ name: null, topicId: 'AAAAAAAAAAAAAAAAAAAAAQ' }],
        allowAutoTopicCreation: false,
      });
      expect(res.topics[0].errorCode, `v${version}`).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
      expect(res.topics[0].name).toBe(version >= 12 ? null : '');
    }
  });

  it('closes the connection on a failed acks=0 Produce, without an answer the client would not expect', async () => {
    // Used to answer UNKNOWN_SERVER_ERROR (and log an error): the handler's close request was taken for a crash.
    const frame = encodeRequestFrame(
      { apiKey: Produce.apiKey, apiVersion: 9, correlationId: 3, clientId: 'acks0' },
      {
        transactionalId: null,
        acks: 0,
        timeoutMs: 1000,
        topicData: [{ name: 'no-such-topic-acks0', partitionData: [{ index: 0, records: Buffer.alloc(70) }] }],
      },
    );
    const socket = connect({ host: broker.host, port: broker.port });
    let received = 0;
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => {
      socket.on('data', (d: Buffer) => {
        received += d.length;
        resolve();
      });
      socket.on('close', () => resolve());
      socket.write(frame);
    });
    expect(received).toBe(0);
    socket.destroy();
  });

  it('does not make a metrics series of every request version a client invents', async () => {
    const frames: Buffer[] = [];
    for (let v = 100; v < 150; v++) {
      // ApiVersions v100-149 (a v3 frame, header v2, renumbered): answered UNSUPPORTED_VERSION in the v0 layout.
      const frame = encodeRequestFrame(
        { apiKey: 18, apiVersion: 3, correlationId: v, clientId: 'versions' },
        { clientSoftwareName: 'x', clientSoftwareVersion: '1' },
      );
      frame.writeInt16BE(v, 6);
      frames.push(frame);
    }
    const socket = connect({ host: broker.host, port: broker.port });
    let received = Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      socket.on('error', reject);
      socket.on('close', () => reject(new Error('closed')));
      socket.on('data', (d: Buffer) => {
        received = Buffer.concat([received, d]);
        let n = 0;
        for (let p = 0; p + 4 <= received.length; p += 4 + received.readInt32BE(p)) n++;
        if (n >= 50) resolve();
      });
      socket.write(Buffer.concat(frames));
    });
    socket.destroy();
    const series = (await broker.broker.metrics.registry.getSingleMetric('berth_requests_total')?.get())?.values ?? [];
    const versions = series.filter((s) => s.labels.api === 'ApiVersions').map((s) => String(s.labels.version));
    expect(versions).toContain('unsupported');
    expect(versions.filter((v) => Number(v) >= 100)).toEqual([]);
  });
});
