import { describe, expect, it } from 'vitest';
import { compressionOf, readBatchHeader } from '../../../../protocol/records/batch-header.js';
import {
  type DecodedRecord,
  decodeRecords,
  encodeControlBatch,
  encodeRecordBatch,
  type RecordInput,
  validateBatch,
} from '../../../../protocol/records/record-batch.js';
import { compressibleBytes, seededRandom } from './helpers.js';

const codecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

function sampleRecords(): RecordInput[] {
  const rng = seededRandom(20);
  const records: RecordInput[] = [];
  for (let i = 0; i < 20; i++) {
    records.push({
      key: `key-${i}`,
      value: compressibleBytes(rng, 100),
      headers: [
        { key: 'h1', value: 'v1' },
        { key: 'trace', value: 'abc' },
      ],
      timestamp: 1_732_500_000_000n + BigInt(i * 7),
    });
  }
  records.push({ key: null, value: 'null key' });
  records.push({ key: 'null value', value: null });
  records.push({ key: Buffer.alloc(0), value: Buffer.alloc(0) }); // empty is not null
  records.push({ value: 'dup headers', headers: [{ key: 'x', value: '1' }, { key: 'x', value: '2' }, { key: 'x' }] });
  records.push({ value: 'unicode', headers: [{ key: 'clé-ключ-🔑', value: Buffer.from([0, 255, 1]) }] });
  records.push({ value: 'older timestamp', timestamp: 1_000n }); // negative delta
  records.push({ value: compressibleBytes(rng, 200_000) });
  return records;
}

function asPlain(r: DecodedRecord) {
  return {
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key === null ? null : r.key.toString('hex'),
    value: r.value === null ? null : r.value.toString('hex'),
    headers: r.headers.map((h) => [h.key, h.value === null ? null : h.value.toString('hex')]),
  };
}

function expected(records: RecordInput[], baseOffset: bigint, now: bigint) {
  const hex = (v: Buffer | string | null | undefined) =>
    v === undefined || v === null ? null : (typeof v === 'string' ? Buffer.from(v) : v).toString('hex');
  return records.map((r, i) => ({
    offset: baseOffset + BigInt(r.offsetDelta ?? i),
    timestamp: r.timestamp ?? now,
    key: hex(r.key),
    value: hex(r.value),
    headers: (r.headers ?? []).map((h) => [h.key, hex(h.value)]),
  }));
}

describe('encodeRecordBatch -> decodeRecords', () => {
  const now = 1_732_500_000_500n;
  for (const compression of codecs) {
    it(`round-trips keys, values, nulls, headers and timestamps with ${compression}`, () => {
      const records = sampleRecords();
      const buf = encodeRecordBatch({ baseOffset: 1000n, compression, now, records });
      const header = validateBatch(buf, 0);
      expect(compressionOf(header.attributes)).toBe(compression);
      expect(header.recordsCount).toBe(records.length);
      expect(header.lastOffsetDelta).toBe(records.length - 1);
      expect(header.baseTimestamp).toBe(1_732_500_000_000n); // the first record's
      expect(header.maxTimestamp).toBe(now); // records without a timestamp take `now`, the largest here
      expect(decodeRecords(buf, 0).map(asPlain)).toEqual(expected(records, 1000n, now));
    });
  }

  it('xerial snappy batches decode too', () => {
    const records = sampleRecords();
    const buf = encodeRecordBatch({ compression: 'snappy', snappyFraming: 'xerial', now, records });
    expect(buf.subarray(61, 69).toString('latin1')).toBe('\x82SNAPPY\x00');
    expect(decodeRecords(buf, 0).map(asPlain)).toEqual(expected(records, 0n, now));
  });

  it('writes the producer fields and attribute bits it is given, and Kafka defaults otherwise', () => {
    const defaults = readBatchHeader(encodeRecordBatch({ records: [{ value: 'x' }] }), 0);
    expect(defaults).toMatchObject({
      baseOffset: 0n,
      partitionLeaderEpoch: -1,
      magic: 2,
      attributes: 0,
      producerId: -1n,
      producerEpoch: -1,
      baseSequence: -1,
    });
    const buf = encodeRecordBatch({
      baseOffset: 5n,
      partitionLeaderEpoch: 3,
      producerId: 9_000_000_000n,
      producerEpoch: 4,
      baseSequence: 77,
      isTransactional: true,
      timestampType: 'logAppend',
      compression: 'lz4',
      records: [{ value: 'x', timestamp: 10n }],
    });
    expect(validateBatch(buf, 0)).toMatchObject({
      baseOffset: 5n,
      partitionLeaderEpoch: 3,
      producerId: 9_000_000_000n,
      producerEpoch: 4,
      baseSequence: 77,
      attributes: 0x10 | 0x08 | 3,
    });
  });

  it('keeps explicit offset deltas (a compacted-looking batch) and their lastOffsetDelta', () => {
    const buf = encodeRecordBatch({
      baseOffset: 100n,
      records: [
        { value: 'a', offsetDelta: 0 },
        { value: 'b', offsetDelta: 4 },
        { value: 'c', offsetDelta: 9 },
      ],
    });
    const header = validateBatch(buf, 0, { origin: 'log' });
    expect(header.lastOffsetDelta).toBe(9);
    expect(decodeRecords(buf, 0).map((r) => [r.offset, r.offsetDelta])).toEqual([
      [100n, 0],
      [104n, 4],
      [109n, 9],
    ]);
  });

  it('stamps records without a timestamp with the current time', () => {
    const before = BigInt(Date.now());
    const [record] = decodeRecords(encodeRecordBatch({ records: [{ value: 'now' }] }), 0);
    expect(record.timestamp >= before && record.timestamp <= BigInt(Date.now())).toBe(true);
  });

  it('needs an explicit lastOffsetDelta for an empty batch', () => {
    expect(() => encodeRecordBatch({ records: [] })).toThrow(RangeError);
    const empty = encodeRecordBatch({ records: [], lastOffsetDelta: 0 });
    expect(empty.length).toBe(61);
    expect(decodeRecords(empty, 0)).toEqual([]);
    expect(readBatchHeader(empty, 0)).toMatchObject({ baseTimestamp: -1n, maxTimestamp: -1n, recordsCount: 0 });
  });
});

describe('control batches', () => {
  for (const type of ['commit', 'abort'] as const) {
    it(`encodes and decodes a ${type} marker`, () => {
      const buf = encodeControlBatch({
        type,
        producerId: 4242n,
        producerEpoch: 3,
        coordinatorEpoch: 17,
        baseOffset: 50n,
        partitionLeaderEpoch: 2,
        timestamp: 1_732_500_000_000n,
      });
      const header = validateBatch(buf, 0);
      expect(header).toMatchObject({ producerId: 4242n, producerEpoch: 3, baseSequence: -1, recordsCount: 1 });
      expect(header.attributes & 0x30).toBe(0x30); // transactional + control
      const [record] = decodeRecords(buf, 0);
      expect(record.offset).toBe(50n);
      expect(record.timestamp).toBe(1_732_500_000_000n);
      expect(record.controlKey).toEqual({ version: 0, type, typeId: type === 'abort' ? 0 : 1 });
      expect(record.endTxnMarker).toEqual({ version: 0, coordinatorEpoch: 17 });
      expect(record.key?.toString('hex')).toBe(type === 'abort' ? '00000000' : '00000001');
      expect(record.value?.toString('hex')).toBe('000000000011');
    });
  }

  it('decodes unknown control types without an EndTxnMarker, and plain batches without control fields', () => {
    const key = Buffer.from([0, 0, 0, 3]); // KRaft snapshot header type
    const buf = encodeRecordBatch({ isControl: true, records: [{ key, value: Buffer.from([0, 0]) }] });
    const [record] = decodeRecords(buf, 0);
    expect(record.controlKey).toEqual({ version: 0, type: 'unknown', typeId: 3 });
    expect(record.endTxnMarker).toBeUndefined();
    const [plain] = decodeRecords(encodeRecordBatch({ records: [{ key, value: 'v' }] }), 0);
    expect(plain.controlKey).toBeUndefined();
  });
});
