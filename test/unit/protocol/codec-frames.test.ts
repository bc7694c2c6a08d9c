import { describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError, ProtocolDecodeError, ProtocolEncodeError } from '../../../protocol/error-codes.js';
import {
  decodeRequest,
  decodeResponse,
  encodeRequestBody,
  encodeRequestFrame,
  encodeResponseFrame,
  encodeResponseFrameChunks,
} from '../../../protocol/frames.js';
import { ApiVersions, Fetch, Produce } from '../../../protocol/generated/index.js';
import { Writer } from '../../../protocol/wire/writer.js';

describe('frames', () => {
  it('encodes a request frame with its size prefix and decodes it back', () => {
    const records = Buffer.alloc(3000, 0xab);
    const body = {
      transactionalId: null,
      acks: -1,
      timeoutMs: 30000,
      topicData: [{ name: 't', partitionData: [{ index: 0, records }] }],
    };
    for (const apiVersion of [3, 8, 9, 12]) {
      const frame = encodeRequestFrame({ apiKey: 0, apiVersion, correlationId: 11, clientId: 'me' }, body);
      expect(frame.readInt32BE(0)).toBe(frame.length - 4);
      const { header, body: decoded, trailingBytes } = decodeRequest(frame.subarray(4));
      expect(header).toMatchObject({ apiKey: 0, apiVersion, correlationId: 11, clientId: 'me' });
      expect(trailingBytes).toBe(0);
      expect(decoded.topicData[0].partitionData[0].records.equals(records)).toBe(true);
      // The records are a slice of the frame, not a copy.
      expect(decoded.topicData[0].partitionData[0].records.buffer).toBe(frame.buffer);
    }
  });

  it('encodes a response frame as chunks that reference the record bytes', () => {
    const records = Buffer.alloc(8192, 1);
    const body = {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: [
        {
          topic: 'wire',
          partitions: [
            {
              partitionIndex: 0,
              errorCode: 0,
              highWatermark: 10n,
              lastStableOffset: 10n,
              logStartOffset: 0n,
              abortedTransactions: [],
              preferredReadReplica: -1,
              records,
            },
          ],
        },
      ],
    };
    const chunks = encodeResponseFrameChunks(1, 11, 99, body);
    expect(chunks).toContain(records);
    const frame = Buffer.concat(chunks);
    expect(frame.equals(encodeResponseFrame(1, 11, 99, body))).toBe(true);
    expect(frame.readInt32BE(0)).toBe(frame.length - 4);
    const decoded = decodeResponse(1, 11, frame.subarray(4));
    expect(decoded.header.correlationId).toBe(99);
    expect(decoded.body.responses[0].partitions[0].records.equals(records)).toBe(true);
  });

  it('reads an ApiVersions v3+ UNSUPPORTED_VERSION answer in the v0 layout', () => {
    const v0Body = {
      errorCode: ErrorCode.UNSUPPORTED_VERSION,
      apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 2 }],
    };
    const frame = encodeResponseFrame(18, 0, 5, v0Body).subarray(4);
    const decoded = decodeResponse(18, 4, frame);
    expect(decoded.bodyVersion).toBe(0);
    expect(decoded.trailingBytes).toBe(0);
    expect(decoded.body).toMatchObject(v0Body);
    // A successful v3 answer decodes at v3.
    const ok = encodeResponseFrame(18, 3, 6, { errorCode: 0, apiKeys: [], throttleTimeMs: 0 }).subarray(4);
    expect(decodeResponse(18, 3, ok).bodyVersion).toBe(3);
  });

  it('uses response header v0 for ApiVersions even at flexible versions', () => {
    const frame = encodeResponseFrame(18, 3, 0x01020304, { errorCode: 0, apiKeys: [], throttleTimeMs: 0 });
    // size, correlation id, then straight to the body's error code (no header tag byte)
    expect(frame.subarray(4, 10).toString('hex')).toBe('010203040000');
  });

  it('refuses unknown api keys and versions with UNSUPPORTED_VERSION', () => {
    const frame = Buffer.from('7fff000000000001ffff', 'hex');
    expect(() => decodeRequest(frame)).toThrow(KafkaError);
    try {
      decodeRequest(Buffer.from('00000000000000010000', 'hex'));
      expect.unreachable();
    } catch (err) {
      expect((err as KafkaError).errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    }
    expect(() => encodeRequestBody(0, 2, {})).toThrow(KafkaError);
  });

  it('fails a truncated frame with ProtocolDecodeError', () => {
    const frame = encodeRequestFrame(
      { apiKey: 18, apiVersion: 3, correlationId: 1, clientId: 'x' },
      {
        clientSoftwareName: 'berth',
        clientSoftwareVersion: '1',
      },
    ).subarray(4);
    for (let n = 0; n < frame.length; n++)
      expect(() => decodeRequest(frame.subarray(0, n))).toThrow(ProtocolDecodeError);
  });
});

describe('encoding rules', () => {
  it('throws ProtocolEncodeError for a non-ignorable field set at a version that lacks it', () => {
    // Fetch v4 has no ForgottenTopicsData (added in v7, not ignorable).
    const forgotten = [{ topic: 'a', partitions: [1] }];
    expect(() =>
      Fetch.request.encode(new Writer(), { maxWaitMs: 0, minBytes: 0, topics: [], forgottenTopicsData: forgotten }, 4),
    ).toThrow(ProtocolEncodeError);
    // At its default (empty) it is fine, and so is an ignorable field (SessionId, 7+).
    expect(() =>
      Fetch.request.encode(
        new Writer(),
        { maxWaitMs: 0, minBytes: 0, topics: [], forgottenTopicsData: [], sessionId: 5 },
        4,
      ),
    ).not.toThrow();
  });

  it('drops an ignorable field silently', () => {
    // Produce TopicData.Name is ignorable and absent at v13 (topics by id).
    const msg = {
      acks: 1,
      timeoutMs: 1,
      topicData: [{ name: 'x', topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partitionData: [] }],
    };
    const w = new Writer();
    Produce.request.encode(w, msg, 13);
    expect(w.finish().includes(Buffer.from('x'))).toBe(false);
  });

  it('uses spec defaults for undefined fields, including hex and negative ones', () => {
    const w = new Writer();
    Fetch.request.encode(w, { maxWaitMs: 0, minBytes: 0, topics: [] }, 4);
    const buf = w.finish();
    // replicaId -1, maxWaitMs 0, minBytes 0, maxBytes 0x7fffffff, isolationLevel 0, topics []
    expect(buf.toString('hex')).toBe('ffffffff' + '00000000' + '00000000' + '7fffffff' + '00' + '00000000');
  });

  it('throws ProtocolEncodeError for unsupported versions', () => {
    expect(() => ApiVersions.request.encode(new Writer(), {}, 99)).toThrow(ProtocolEncodeError);
  });
});

describe('encoding bad values', () => {
  it('turns out-of-range and mistyped values into ProtocolEncodeError', () => {
    expect(() => Produce.request.encode(new Writer(), { acks: 70000, timeoutMs: 1, topicData: [] }, 3)).toThrow(
      ProtocolEncodeError,
    );
    const badOffset = {
      responses: [{ name: 't', partitionResponses: [{ index: 0, errorCode: 0, baseOffset: 5 as unknown as bigint }] }],
    };
    expect(() => Produce.response.encode(new Writer(), badOffset, 8)).toThrow(ProtocolEncodeError);
  });
});
