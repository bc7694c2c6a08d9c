/**
 * Golden evidence from real clients: the wire captures in ../shared/wire-captures (librdkafka via kcat,
 * confluent-kafka-python and node-rdkafka; Sarama; kafkajs; kafka-python) recorded against librdkafka's mock
 * cluster. kcat cannot produce without a broker, so these captures are the kcat evidence.
 *
 * The protocol codecs are generated elsewhere; this file locates record sets with a small hand parser of Produce
 * requests (v3-v10) and Fetch responses (v4-v16), then checks every batch with Berth's validator (CRC32C included)
 * and decodes every record: 20 messages per codec with keys, 100-byte values and headers h1=v1, trace=abc.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CompressionCodec, compressionOf } from '../../../../protocol/records/batch-header.js';
import {
  type DecodedRecord,
  decodeRecords,
  scanBatches,
  validateBatch,
  validateProduceRecords,
} from '../../../../protocol/records/record-batch.js';
import { readUnsignedVarint } from '../../../../protocol/records/varint.js';
import { sharedAvailable, sharedDir } from '../../../helpers/shared.js';

const CAPTURES = join(sharedDir, 'wire-captures');

interface Frame {
  client: string;
  clientVersion: string;
  direction: 'request' | 'response';
  apiKey: number;
  apiVersion: number;
  flexible: boolean;
  hex: string;
}

/** Just enough of the Kafka primitive types to walk to the record sets. */
class Walker {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    readonly flexible: boolean,
  ) {}
  i16(): number {
    this.pos += 2;
    return this.buf.readInt16BE(this.pos - 2);
  }
  i32(): number {
    this.pos += 4;
    return this.buf.readInt32BE(this.pos - 4);
  }
  skip(n: number): void {
    if (this.pos + n > this.buf.length) throw new Error('walked past the frame');
    this.pos += n;
  }
  uvarint(): number {
    const cursor = { pos: this.pos };
    const v = readUnsignedVarint(this.buf, cursor);
    this.pos = cursor.pos;
    return v;
  }
  /** Classic string (int16 length) or, when flexible, compact string (uvarint length + 1). */
  string(): string | null {
    const len = this.flexible ? this.uvarint() - 1 : this.i16();
    if (len < 0) return null;
    this.skip(len);
    return this.buf.toString('utf8', this.pos - len, this.pos);
  }
  bytes(): Buffer | null {
    const len = this.flexible ? this.uvarint() - 1 : this.i32();
    if (len < 0) return null;
    this.skip(len);
    return this.buf.subarray(this.pos - len, this.pos);
  }
  arrayLength(): number {
    return this.flexible ? this.uvarint() - 1 : this.i32();
  }
  taggedFields(): void {
    if (!this.flexible) return;
    for (let n = this.uvarint(); n > 0; n--) {
      this.uvarint(); // tag
      this.skip(this.uvarint());
    }
  }
}

/** Produce request v3+: header v1 (v2 when flexible: + tagged fields; the client id stays a classic string). */
function produceRecordSets(frame: Frame): Buffer[] {
  const w = new Walker(Buffer.from(frame.hex, 'hex'), false);
  w.skip(8); // api key, api version, correlation id
  w.string(); // client id
  const body = new Walker(w.buf, frame.flexible);
  body.pos = w.pos;
  body.taggedFields();
  body.string(); // transactional id
  body.i16(); // acks
  body.i32(); // timeout
  const sets: Buffer[] = [];
  for (let t = body.arrayLength(); t > 0; t--) {
    body.string(); // topic name (v13 would carry a topic id instead)
    for (let p = body.arrayLength(); p > 0; p--) {
      body.i32(); // partition index
      const records = body.bytes();
      if (records !== null) sets.push(records);
      body.taggedFields();
    }
    body.taggedFields();
  }
  body.taggedFields();
  expect(body.pos).toBe(body.buf.length);
  return sets;
}

/** Fetch response v4-v16: header v0 (v1 when flexible), then the version's partition fields up to Records. */
function fetchRecordSets(frame: Frame): Buffer[] {
  const v = frame.apiVersion;
  const w = new Walker(Buffer.from(frame.hex, 'hex'), frame.flexible);
  w.i32(); // correlation id
  w.taggedFields();
  w.i32(); // throttle time
  if (v >= 7) w.skip(2 + 4); // error code, session id
  const sets: Buffer[] = [];
  for (let t = w.arrayLength(); t > 0; t--) {
    if (v >= 13) w.skip(16);
    else w.string();
    for (let p = w.arrayLength(); p > 0; p--) {
      w.skip(4 + 2 + 8 + 8); // partition, error code, high watermark, last stable offset
      if (v >= 5) w.skip(8); // log start offset
      const aborted = w.arrayLength();
      for (let a = 0; a < aborted; a++) {
        w.skip(16);
        w.taggedFields();
      }
      if (v >= 11) w.skip(4); // preferred read replica
      const records = w.bytes();
      if (records !== null && records.length > 0) sets.push(records);
      w.taggedFields();
    }
    w.taggedFields();
  }
  w.taggedFields();
  expect(w.pos).toBe(w.buf.length);
  return sets;
}

function loadFrames(): Map<string, Frame[]> {
  const byFile = new Map<string, Frame[]>();
  for (const file of readdirSync(CAPTURES).filter((f) => f.endsWith('.jsonl'))) {
    const frames = readFileSync(join(CAPTURES, file), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Frame);
    byFile.set(file, frames);
  }
  return byFile;
}

function expectProducedShape(r: DecodedRecord): void {
  expect(r.key?.toString()).toMatch(/^key-\d+$/);
  expect(r.value?.length).toBe(100);
  expect(r.headers.map((h) => `${h.key}=${h.value?.toString()}`)).toEqual(['h1=v1', 'trace=abc']);
}

/** Codecs each client sent (README: kafkajs and kafka-python lack snappy/lz4/zstd; Sarama's zstd failed locally). */
const EXPECTED_CODECS: Record<string, CompressionCodec[]> = {
  'kcat-1.7.1.jsonl': ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
  'kcat-1.7.1.mock-librdkafka-2.0.2.jsonl': ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
  'confluent-kafka-python-1.7.0.jsonl': ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
  'node-rdkafka-3.6.1.jsonl': ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
  'sarama-1.22.1.jsonl': ['none', 'gzip', 'snappy', 'lz4'],
  'kafkajs-2.2.4.jsonl': ['none', 'gzip'],
  'kafka-python-2.0.2.jsonl': ['none', 'gzip'],
};

describe.runIf(sharedAvailable)('wire captures from real clients', () => {
  const frames = sharedAvailable ? loadFrames() : new Map<string, Frame[]>();

  it('has the captures this test expects', () => {
    for (const file of Object.keys(EXPECTED_CODECS)) expect(frames.has(file)).toBe(true);
  });

  for (const [file, codecs] of Object.entries(EXPECTED_CODECS)) {
    it(`${file}: every produced batch validates and decodes, for ${codecs.join('/')}`, () => {
      const produce = (frames.get(file) ?? []).filter((f) => f.apiKey === 0 && f.direction === 'request');
      expect(produce.length).toBeGreaterThan(0);
      const byCodec = new Map<CompressionCodec, DecodedRecord[]>();
      for (const frame of produce) {
        for (const set of produceRecordSets(frame)) {
          const header = validateProduceRecords(set); // one v2 batch, CRC32C, counts, not control
          const records = decodeRecords(set, 0);
          expect(records.length).toBe(header.recordsCount);
          const codec = compressionOf(header.attributes);
          byCodec.set(codec, [...(byCodec.get(codec) ?? []), ...records]);
        }
      }
      expect([...byCodec.keys()].sort()).toEqual([...codecs].sort());
      for (const [codec, records] of byCodec) {
        // At most 10 requests per (client, api, version) were kept, so the last codec may have lost a partition.
        expect([codec, records.length >= 10 && records.length <= 20]).toEqual([codec, true]);
        for (const r of records) expectProducedShape(r);
        const keys = records.map((r) => r.key?.toString());
        expect(new Set(keys).size).toBe(keys.length);
      }
      const complete = [...byCodec.values()].filter((r) => r.length === 20).length;
      expect(complete).toBeGreaterThanOrEqual(codecs.length - 1);
    });
  }

  it('every fetched record set scans to complete batches (or a trailing partial one) that validate and decode', () => {
    let batches = 0;
    let records = 0;
    const codecsSeen = new Set<CompressionCodec>();
    for (const [file, list] of frames) {
      for (const frame of list.filter((f) => f.apiKey === 1 && f.direction === 'response')) {
        for (const set of fetchRecordSets(frame)) {
          const scan = scanBatches(set, 0, set.length, { verifyCrc: true });
          expect([file, scan.stopReason === 'end' || scan.stopReason === 'partial']).toEqual([file, true]);
          let expectedOffset: bigint | null = null;
          for (const slice of scan.batches) {
            const header = validateBatch(set, slice.position, { end: slice.position + slice.size, origin: 'log' });
            codecsSeen.add(compressionOf(header.attributes));
            const decoded = decodeRecords(set, slice.position, { end: slice.position + slice.size });
            for (const r of decoded) {
              if (expectedOffset !== null) expect(r.offset).toBe(expectedOffset);
              expectedOffset = r.offset + 1n;
              expectProducedShape(r);
            }
            batches++;
            records += decoded.length;
          }
        }
      }
    }
    expect(codecsSeen).toEqual(new Set(['none', 'gzip', 'snappy', 'lz4', 'zstd']));
    expect(batches).toBeGreaterThan(20);
    expect(records).toBeGreaterThan(200);
  });
});
