/**
 * Golden frames recorded between real clients and librdkafka's mock cluster (../shared/wire-captures): every
 * request decodes (header and body) and re-encodes byte-identically; every response decodes completely.
 * Known deviations of the recorded peers are listed in QUIRKS and checked to be exactly what they are.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError, ProtocolDecodeError } from '../../../protocol/error-codes.js';
import { decodeRequest, decodeResponse, encodeRequestFrame } from '../../../protocol/frames.js';
import { sharedAvailable, sharedDir } from './codec-fixtures.js';

interface Capture {
  client: string;
  direction: 'request' | 'response';
  apiKey: number;
  apiName: string;
  apiVersion: number;
  correlationId: number;
  flexible: boolean;
  hex: string;
}

type Quirk =
  | { kind: 'unsupported' }
  | { kind: 'malformed' }
  // biome-ignore lint/suspicious/noExplicitAny: decoded bodies are checked by shape
  | { kind: 'trailing'; bytes: number; when?: (body: any) => boolean }
  | { kind: 'apiVersionsFallback' };

/** key: `${file} ${direction} ${apiKey} v${apiVersion}` */
const QUIRKS: Record<string, Quirk> = {
  // Sarama 1.22.1 (pinned to Kafka 2.1) commits offsets with OffsetCommit v1, which Kafka 4 removed (2-10 remain).
  'sarama-1.22.1.jsonl request 8 v1': { kind: 'unsupported' },
  'sarama-1.22.1.jsonl response 8 v1': { kind: 'unsupported' },
  // The mock answers kafkajs's LeaveGroup v3 with UNKNOWN_MEMBER_ID and leaves out the Members array that v3
  // requires: the body ends early.
  'kafkajs-2.2.4.jsonl response 13 v3': { kind: 'malformed' },
  // librdkafka 2.12 sends Metadata v12 "all topics" (null Topics) with the array count written into a reserved
  // 4-byte slot that is never shrunk to its 1-byte varint: 3 stray zero bytes follow the count. Kafka's broker
  // reads the fields in order and ignores what is left, so do we (the frame has 3 trailing bytes).
  'node-rdkafka-3.6.1.jsonl request 3 v12': { kind: 'trailing', bytes: 3, when: (body) => body.topics === null },
  // The mock's Metadata v12 answers end with one byte more than the v12 layout has.
  'node-rdkafka-3.6.1.jsonl response 3 v12': { kind: 'trailing', bytes: 1 },
  // ApiVersions v3 refused by the mock: the UNSUPPORTED_VERSION body is neither v0 nor v3 layout; clients read
  // the error code only, and so does decodeResponse.
  'kcat-1.7.1.jsonl response 18 v3': { kind: 'apiVersionsFallback' },
  'kcat-1.7.1.mock-librdkafka-2.0.2.jsonl response 18 v3': { kind: 'apiVersionsFallback' },
  'confluent-kafka-python-1.7.0.jsonl response 18 v3': { kind: 'apiVersionsFallback' },
  'node-rdkafka-3.6.1.jsonl response 18 v3': { kind: 'apiVersionsFallback' },
  'platformatic-kafka-1.35.0.jsonl response 18 v3': { kind: 'apiVersionsFallback' },
};

const dir = resolve(sharedDir, 'wire-captures');
const files = (sharedAvailable ? readdirSync(dir) : []).filter((f) => f.endsWith('.jsonl')).sort();

describe.runIf(sharedAvailable)('wire captures', () => {
  it('finds the capture files', () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
  });

  for (const file of files) {
    const captures = readFileSync(resolve(dir, file), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Capture);
    describe(file, () => {
      captures.forEach((c, i) => {
        const key = `${file} ${c.direction} ${c.apiKey} v${c.apiVersion}`;
        const quirk = QUIRKS[key];
        it(`#${i} ${c.direction} ${c.apiName} v${c.apiVersion} corr ${c.correlationId}${quirk ? ` (${quirk.kind})` : ''}`, () => {
          const frame = Buffer.from(c.hex, 'hex');
          if (quirk?.kind === 'unsupported') {
            const run = () =>
              c.direction === 'request' ? decodeRequest(frame) : decodeResponse(c.apiKey, c.apiVersion, frame);
            expect(run).toThrow(KafkaError);
            try {
              run();
            } catch (err) {
              expect((err as KafkaError).errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
            }
            return;
          }
          if (c.direction === 'request') {
            const { header, body, trailingBytes } = decodeRequest(frame);
            expect(header.apiKey).toBe(c.apiKey);
            expect(header.apiVersion).toBe(c.apiVersion);
            expect(header.correlationId).toBe(c.correlationId);
            const expectedTrailing =
              quirk?.kind === 'trailing' && (quirk.when === undefined || quirk.when(body)) ? quirk.bytes : 0;
            expect(trailingBytes).toBe(expectedTrailing);
            const again = encodeRequestFrame(header, body);
            expect(again.readInt32BE(0)).toBe(again.length - 4);
            expect(again.subarray(4).toString('hex')).toBe(
              frame.subarray(0, frame.length - expectedTrailing).toString('hex'),
            );
            return;
          }
          if (quirk?.kind === 'malformed') {
            expect(() => decodeResponse(c.apiKey, c.apiVersion, frame)).toThrow(ProtocolDecodeError);
            return;
          }
          const decoded = decodeResponse(c.apiKey, c.apiVersion, frame);
          expect(decoded.header.correlationId).toBe(c.correlationId);
          if (quirk?.kind === 'apiVersionsFallback') {
            expect(decoded.bodyVersion).toBe(0);
            expect(decoded.body.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
            return;
          }
          const expectedTrailing =
            quirk?.kind === 'trailing' && (quirk.when === undefined || quirk.when(decoded.body)) ? quirk.bytes : 0;
          expect(decoded.trailingBytes).toBe(expectedTrailing);
          expect(decoded.bodyVersion).toBe(c.apiVersion);
        });
      });
    });
  }
});
