import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../../protocol/error-codes.js';
import {
  ATTRIBUTES,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH,
  CRC,
  LAST_OFFSET_DELTA,
  MAGIC,
  MAX_TIMESTAMP,
  RECORDS_COUNT,
  readBatchHeader,
} from '../../../../protocol/records/batch-header.js';
import { crc32c } from '../../../../protocol/records/crc32c.js';
import {
  CorruptRecordError,
  DecompressionLimitError,
  InvalidRecordError,
  UnsupportedCompressionTypeError,
  UnsupportedMessageFormatError,
} from '../../../../protocol/records/errors.js';
import {
  batchCrcMatches,
  decodeRecords,
  encodeControlBatch,
  encodeRecordBatch,
  iterateBatches,
  MIN_BATCH_LENGTH,
  nextOffsetOf,
  scanBatches,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  validateBatch,
  validateProduceRecords,
} from '../../../../protocol/records/record-batch.js';

function batch(n: number, compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd' = 'none', baseOffset = 0n): Buffer {
  return encodeRecordBatch({
    baseOffset,
    compression,
    now: 1_700_000_000_000n,
    records: Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `value-${i}`.repeat(3) })),
  });
}

/** Rewrites the CRC after a test tampers with the covered bytes, so that only the tampered rule fails. */
function recrc(buf: Buffer, pos = 0): Buffer {
  const end = pos + 12 + buf.readInt32BE(pos + BATCH_LENGTH);
  buf.writeUInt32BE(crc32c(buf, pos + ATTRIBUTES, end), pos + CRC);
  return buf;
}

/** A magic 1 message set entry (Kafka 0.10 format), written from the format description. */
function legacyMessage(magic: 0 | 1, value: string): Buffer {
  const v = Buffer.from(value);
  const body = Buffer.alloc(4 + 1 + 1 + (magic === 1 ? 8 : 0) + 4 + 4 + v.length);
  let p = 4;
  body.writeInt8(magic, p++);
  body.writeInt8(0, p++);
  if (magic === 1) {
    body.writeBigInt64BE(1_700_000_000_000n, p);
    p += 8;
  }
  body.writeInt32BE(-1, p);
  p += 4;
  body.writeInt32BE(v.length, p);
  v.copy(body, p + 4);
  const head = Buffer.alloc(12);
  head.writeBigInt64BE(0n, 0);
  head.writeInt32BE(body.length, 8);
  return Buffer.concat([head, body]);
}

function catchError(fn: () => unknown): Error & { errorCode?: number } {
  try {
    fn();
  } catch (err) {
    return err as Error & { errorCode?: number };
  }
  throw new Error('expected a throw');
}

describe('scanBatches / iterateBatches', () => {
  const a = batch(3, 'none', 0n);
  const b = batch(5, 'gzip', 3n);
  const c = batch(2, 'zstd', 8n);
  const log = Buffer.concat([a, b, c]);

  it('finds every complete batch, zero-copy, and stops at the end', () => {
    const result = scanBatches(log, 0, log.length, { verifyCrc: true });
    expect(result.stopReason).toBe('end');
    expect(result.validBytes).toBe(log.length);
    expect(result.stopPosition).toBe(log.length);
    expect(result.batches.map((s) => [s.position, s.size])).toEqual([
      [0, a.length],
      [a.length, b.length],
      [a.length + b.length, c.length],
    ]);
    expect(result.batches.map((s) => s.header.baseOffset)).toEqual([0n, 3n, 8n]);
    expect(result.batches.map((s) => nextOffsetOf(s.header))).toEqual([3n, 8n, 10n]);
  });

  it('reports a trailing partial batch, wherever the cut falls', () => {
    const whole = a.length + b.length;
    for (const cut of [1, 10, 16, 17, 61, c.length - 1]) {
      const result = scanBatches(log, 0, whole + cut);
      expect([cut, result.stopReason, result.stopPosition, result.batches.length]).toEqual([cut, 'partial', whole, 2]);
    }
  });

  it('honours start and end inside a larger buffer', () => {
    const padded = Buffer.concat([Buffer.alloc(7, 0xee), log, Buffer.alloc(5, 0xee)]);
    const result = scanBatches(padded, 7 + a.length, 7 + log.length);
    expect(result.stopReason).toBe('end');
    expect(result.batches.map((s) => s.position)).toEqual([7 + a.length, 7 + a.length + b.length]);
    expect(result.validBytes).toBe(b.length + c.length);
    expect(() => scanBatches(padded, 10, 5)).toThrow(RangeError);
  });

  it('stops at impossible lengths and unknown magic as corrupt', () => {
    const short = Buffer.from(log);
    short.writeInt32BE(MIN_BATCH_LENGTH - 1, a.length + BATCH_LENGTH);
    expect(scanBatches(short)).toMatchObject({ stopReason: 'corrupt', stopPosition: a.length, validBytes: a.length });
    const magic3 = Buffer.from(log);
    magic3[a.length + MAGIC] = 3;
    expect(scanBatches(magic3)).toMatchObject({ stopReason: 'corrupt', stopPosition: a.length });
  });

  it('checks CRCs only when asked (recovery asks, fetch readers need not)', () => {
    const torn = Buffer.from(log);
    torn[a.length + b.length - 1] ^= 0x01;
    expect(scanBatches(torn).stopReason).toBe('end');
    const checked = scanBatches(torn, 0, torn.length, { verifyCrc: true });
    expect(checked).toMatchObject({ stopReason: 'corrupt', stopPosition: a.length, detail: 'CRC mismatch' });
    expect(checked.batches.length).toBe(1);
  });

  it('reports magic 0 and 1 message sets as oldFormat', () => {
    for (const magic of [0, 1] as const) {
      const mixed = Buffer.concat([a, legacyMessage(magic, 'old')]);
      expect(scanBatches(mixed)).toMatchObject({ stopReason: 'oldFormat', stopPosition: a.length });
    }
  });

  it('is a generator whose return value is the stop', () => {
    const it = iterateBatches(log, 0, a.length + 5);
    expect(it.next().value).toMatchObject({ position: 0 });
    expect(it.next()).toEqual({
      done: true,
      value: { stopReason: 'partial', stopPosition: a.length, validBytes: a.length },
    });
  });

  it('an empty range is a clean end', () => {
    expect(scanBatches(Buffer.alloc(0))).toEqual({ batches: [], stopReason: 'end', stopPosition: 0, validBytes: 0 });
  });
});

describe('validateBatch', () => {
  it('accepts producer batches of every codec and returns the header', () => {
    for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
      const buf = batch(4, codec);
      const header = validateBatch(buf, 0);
      expect(header).toEqual(readBatchHeader(buf, 0));
      expect(header.recordsCount).toBe(4);
      expect(header.lastOffsetDelta).toBe(3);
    }
  });

  it('finds a batch at an offset inside a larger buffer and respects `end`', () => {
    const buf = Buffer.concat([batch(1), batch(2)]);
    const pos = batch(1).length;
    expect(validateBatch(buf, pos).recordsCount).toBe(2);
    expect(() => validateBatch(buf, pos, { end: buf.length - 1 })).toThrow(CorruptRecordError);
  });

  it('CRC mismatch anywhere after the CRC field is CORRUPT_MESSAGE', () => {
    const good = batch(3, 'lz4');
    for (const at of [ATTRIBUTES, LAST_OFFSET_DELTA, MAX_TIMESTAMP + 3, RECORDS_COUNT, 61, good.length - 1]) {
      const bad = Buffer.from(good);
      bad[at] ^= 0x40;
      const err = catchError(() => validateBatch(bad, 0));
      expect([at, err.constructor]).toEqual([at, CorruptRecordError]);
      expect(err.errorCode).toBe(2);
      expect(err.message).toMatch(/CRC mismatch/);
    }
  });

  it('magic 0 and 1 give UNSUPPORTED_FOR_MESSAGE_FORMAT', () => {
    for (const magic of [0, 1] as const) {
      const err = catchError(() => validateBatch(legacyMessage(magic, 'x'), 0));
      expect(err).toBeInstanceOf(UnsupportedMessageFormatError);
      expect(err.errorCode).toBe(43);
      expect((err as UnsupportedMessageFormatError).magic).toBe(magic);
    }
  });

  it('impossible or truncated lengths are CORRUPT_MESSAGE', () => {
    const good = batch(2);
    const cases: Buffer[] = [good.subarray(0, 10), good.subarray(0, good.length - 1), Buffer.alloc(0)];
    const short = Buffer.from(good);
    short.writeInt32BE(48, BATCH_LENGTH);
    const negative = Buffer.from(good);
    negative.writeInt32BE(-5, BATCH_LENGTH);
    const huge = Buffer.from(good);
    huge.writeInt32BE(0x7fffffff, BATCH_LENGTH);
    const magic9 = Buffer.from(good);
    magic9[MAGIC] = 9;
    for (const bad of [...cases, short, negative, huge, magic9]) {
      expect(catchError(() => validateBatch(bad, 0))).toBeInstanceOf(CorruptRecordError);
    }
  });

  it('compression codes 5-7 give UNSUPPORTED_COMPRESSION_TYPE', () => {
    for (const code of [5, 6, 7]) {
      const bad = Buffer.from(batch(1));
      bad.writeInt16BE((bad.readInt16BE(ATTRIBUTES) & ~7) | code, ATTRIBUTES);
      const err = catchError(() => validateBatch(recrc(bad), 0));
      expect(err).toBeInstanceOf(UnsupportedCompressionTypeError);
      expect(err.errorCode).toBe(76);
    }
  });

  it('offsets and counts must agree for producer batches; logs may be thinned by compaction', () => {
    const negative = Buffer.from(batch(1));
    negative.writeInt32BE(-1, LAST_OFFSET_DELTA);
    expect(catchError(() => validateBatch(recrc(negative), 0))).toBeInstanceOf(InvalidRecordError);

    const gap = Buffer.from(batch(3));
    gap.writeInt32BE(5, LAST_OFFSET_DELTA); // 3 records spanning 6 offsets
    recrc(gap);
    const err = catchError(() => validateBatch(gap, 0));
    expect(err).toBeInstanceOf(InvalidRecordError);
    expect(err.errorCode).toBe(ErrorCode.INVALID_RECORD);
    expect(validateBatch(gap, 0, { origin: 'log' }).recordsCount).toBe(3);

    const tooMany = Buffer.from(batch(3));
    tooMany.writeInt32BE(1, LAST_OFFSET_DELTA);
    expect(catchError(() => validateBatch(recrc(tooMany), 0, { origin: 'log' }))).toBeInstanceOf(InvalidRecordError);

    const compacted = encodeRecordBatch({ records: [], lastOffsetDelta: 9 });
    expect(validateBatch(compacted, 0, { origin: 'log' }).recordsCount).toBe(0);
    expect(catchError(() => validateBatch(compacted, 0))).toBeInstanceOf(InvalidRecordError);
  });

  it('an uncompressed recordsCount that cannot fit the bytes is corrupt', () => {
    const bad = Buffer.from(batch(2));
    bad.writeInt32BE(1000, RECORDS_COUNT);
    bad.writeInt32BE(999, LAST_OFFSET_DELTA);
    expect(catchError(() => validateBatch(recrc(bad), 0))).toBeInstanceOf(CorruptRecordError);
  });

  it('with records: true, decodes (even compressed) records and checks their offset deltas', () => {
    const deltas = (ds: number[], extra: { lastOffsetDelta?: number } = {}) =>
      encodeRecordBatch({
        compression: 'zstd',
        ...extra,
        records: ds.map((offsetDelta) => ({ value: 'x', offsetDelta })),
      });
    expect(validateBatch(deltas([0, 1, 2]), 0, { records: true }).recordsCount).toBe(3);
    const swapped = deltas([1, 0, 2]); // the header is consistent (3 records, lastOffsetDelta 2); the records are not
    expect(validateBatch(swapped, 0).recordsCount).toBe(3);
    expect(catchError(() => validateBatch(swapped, 0, { records: true }))).toBeInstanceOf(InvalidRecordError);
    expect(validateBatch(deltas([0, 4, 9]), 0, { origin: 'log', records: true }).lastOffsetDelta).toBe(9);
    expect(catchError(() => validateBatch(deltas([0, 4, 4]), 0, { origin: 'log', records: true }))).toBeInstanceOf(
      InvalidRecordError,
    );
    const beyond = deltas([0, 4, 12], { lastOffsetDelta: 9 });
    expect(catchError(() => validateBatch(beyond, 0, { origin: 'log', records: true }))).toBeInstanceOf(
      InvalidRecordError,
    );
    const bomb = encodeRecordBatch({ compression: 'lz4', records: [{ value: Buffer.alloc(1 << 20) }] });
    expect(() => validateBatch(bomb, 0, { records: true, maxDecompressedBytes: 1 << 16 })).toThrow(
      DecompressionLimitError,
    );
  });

  it('a batchLength that claims 2 GiB is refused from the header alone', () => {
    const bad = Buffer.from(batch(2));
    bad.writeInt32BE(0x7ffffff0, BATCH_LENGTH);
    expect(catchError(() => validateBatch(bad, 0)).message).toMatch(/truncated/);
  });
});

describe('validateProduceRecords', () => {
  it('accepts exactly one producer batch', () => {
    expect(validateProduceRecords(batch(3, 'snappy')).recordsCount).toBe(3);
  });

  it('refuses two batches, trailing bytes and control batches with INVALID_RECORD', () => {
    const two = Buffer.concat([batch(1), batch(1)]);
    expect(catchError(() => validateProduceRecords(two)).errorCode).toBe(ErrorCode.INVALID_RECORD);
    expect(catchError(() => validateProduceRecords(Buffer.concat([batch(1), Buffer.alloc(3)]))).errorCode).toBe(
      ErrorCode.INVALID_RECORD,
    );
    const marker = encodeControlBatch({ type: 'commit', producerId: 7n, producerEpoch: 1, coordinatorEpoch: 2 });
    expect(catchError(() => validateProduceRecords(marker))).toBeInstanceOf(InvalidRecordError);
  });

  it('refuses an uncompressed batch whose record count lies about its records with CORRUPT_MESSAGE', () => {
    // Count and lastOffsetDelta agree with each other and the CRC is right: only the records themselves disagree.
    for (const lie of [2, 4]) {
      const bad = Buffer.from(batch(3));
      bad.writeInt32BE(lie, RECORDS_COUNT);
      bad.writeInt32BE(lie - 1, LAST_OFFSET_DELTA);
      const err = catchError(() => validateProduceRecords(recrc(bad)));
      expect(err.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
      expect(err.message).toMatch(/declares \d+ records/);
    }
    // A record length that runs past the batch.
    const overrun = Buffer.from(batch(1));
    overrun[BATCH_HEADER_SIZE] = 0x7e; // zigzag 63: longer than what is left
    expect(catchError(() => validateProduceRecords(recrc(overrun))).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
  });

  it('walks record lengths of one, two and three varint bytes', () => {
    // Record lengths 63 and below take one zigzag byte, up to 8191 two, beyond that three or more.
    for (const size of [1, 50, 60, 100, 1000, 8000, 8200, 20_000, 300_000]) {
      const b = encodeRecordBatch({
        now: 1_700_000_000_000n,
        records: [{ value: Buffer.alloc(size, 1) }, { value: Buffer.alloc(3) }, { value: Buffer.alloc(size, 2) }],
      });
      expect(validateProduceRecords(b).recordsCount).toBe(3);
      // One record fewer declared than there are: the walk must find the third record's bytes.
      const bad = Buffer.from(b);
      bad.writeInt32BE(2, RECORDS_COUNT);
      bad.writeInt32BE(1, LAST_OFFSET_DELTA);
      expect(catchError(() => validateProduceRecords(recrc(bad))).message).toMatch(/bytes left after them/);
    }
  });

  it('refuses a record length whose varint is cut off by the end of the batch', () => {
    const b = Buffer.from(batch(1));
    // Two records declared: one of 12 bytes, then the first byte of a two-byte length and nothing after it.
    const body = Buffer.concat([Buffer.from([0x18]), Buffer.alloc(12), Buffer.from([0x80])]);
    const cut = Buffer.concat([b.subarray(0, BATCH_HEADER_SIZE), body]);
    cut.writeInt32BE(cut.length - 12, BATCH_LENGTH);
    cut.writeInt32BE(2, RECORDS_COUNT);
    cut.writeInt32BE(1, LAST_OFFSET_DELTA);
    const err = catchError(() => validateProduceRecords(recrc(cut)));
    expect(err.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(err.message).toMatch(/runs past the end/);
  });

  it('passes through the typed errors of validateBatch', () => {
    expect(catchError(() => validateProduceRecords(legacyMessage(1, 'v')))).toBeInstanceOf(
      UnsupportedMessageFormatError,
    );
  });
});

describe('patching in place', () => {
  it('setBaseOffset and setPartitionLeaderEpoch leave the CRC valid and untouched', () => {
    for (const codec of ['none', 'zstd'] as const) {
      const buf = Buffer.concat([Buffer.alloc(3), batch(4, codec)]);
      const crcBefore = buf.readUInt32BE(3 + CRC);
      setBaseOffset(buf, 3, 123_456_789_012n);
      setPartitionLeaderEpoch(buf, 3, 42);
      expect(buf.readUInt32BE(3 + CRC)).toBe(crcBefore);
      const header = validateBatch(buf, 3);
      expect(header.baseOffset).toBe(123_456_789_012n);
      expect(header.partitionLeaderEpoch).toBe(42);
      expect(decodeRecords(buf, 3).map((r) => r.offset)).toEqual([
        123_456_789_012n,
        123_456_789_013n,
        123_456_789_014n,
        123_456_789_015n,
      ]);
    }
  });

  it('setLogAppendTime sets the timestamp type and maxTimestamp, recomputes the CRC, and readers see that time', () => {
    const buf = encodeRecordBatch({
      compression: 'gzip',
      records: [
        { value: 'a', timestamp: 1_000n },
        { value: 'b', timestamp: 5_000n },
      ],
    });
    const before = readBatchHeader(buf, 0);
    setLogAppendTime(buf, 0, 1_700_000_123_456n);
    expect(batchCrcMatches(buf, 0, buf.length)).toBe(true);
    const header = validateBatch(buf, 0);
    expect(header.attributes & 0x08).toBe(0x08);
    expect(header.attributes & 0x07).toBe(1); // codec bits untouched
    expect(header.maxTimestamp).toBe(1_700_000_123_456n);
    expect(header.baseTimestamp).toBe(before.baseTimestamp);
    expect(header.crc).not.toBe(before.crc);
    expect(decodeRecords(buf, 0).map((r) => r.timestamp)).toEqual([1_700_000_123_456n, 1_700_000_123_456n]);
  });
});
