import { describe, expect, it } from 'vitest';
import { KafkaError } from '../../../../protocol/error-codes.js';
import {
  ATTRIBUTES,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH,
  CRC,
  MAGIC,
  RECORDS_COUNT,
} from '../../../../protocol/records/batch-header.js';
import { compress } from '../../../../protocol/records/compression.js';
import { crc32c } from '../../../../protocol/records/crc32c.js';
import {
  CorruptRecordError,
  DecompressionLimitError,
  UnsupportedCompressionTypeError,
  UnsupportedMessageFormatError,
} from '../../../../protocol/records/errors.js';
import { decodeRecords, encodeRecordBatch } from '../../../../protocol/records/record-batch.js';
import { writeVarint, writeVarlong } from '../../../../protocol/records/varint.js';
import { randomInt, seededRandom } from './helpers.js';

/** Record bytes written field by field, so a test can make any length lie. */
class RecordWriter {
  private readonly buf = Buffer.alloc(1 << 16);
  private pos = 0;
  varint(v: number): this {
    this.pos = writeVarint(this.buf, this.pos, v);
    return this;
  }
  varlong(v: bigint): this {
    this.pos = writeVarlong(this.buf, this.pos, v);
    return this;
  }
  byte(v: number): this {
    this.buf[this.pos++] = v;
    return this;
  }
  raw(b: Buffer | string): this {
    const bytes = typeof b === 'string' ? Buffer.from(b) : b;
    bytes.copy(this.buf, this.pos);
    this.pos += bytes.length;
    return this;
  }
  done(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

/** A syntactically fine record: the body is attributes, tsDelta 0, offsetDelta, key 'k', value 'v', no headers. */
function goodRecord(offsetDelta: number): Buffer {
  const body = new RecordWriter()
    .byte(0)
    .varlong(0n)
    .varint(offsetDelta)
    .varint(1)
    .raw('k')
    .varint(1)
    .raw('v')
    .varint(0);
  const bytes = body.done();
  return new RecordWriter().varint(bytes.length).raw(bytes).done();
}

/** Wraps record bytes in a v2 batch header with a correct length and CRC. */
function batchOf(records: Buffer, count: number, codecId = 0): Buffer {
  const payload =
    codecId === 0 ? records : compress(['none', 'gzip', 'snappy', 'lz4', 'zstd'][codecId] as 'gzip', records);
  const out = Buffer.alloc(BATCH_HEADER_SIZE + payload.length);
  out.writeInt32BE(out.length - 12, BATCH_LENGTH);
  out.writeInt8(2, MAGIC);
  out.writeInt16BE(codecId, ATTRIBUTES);
  out.writeInt32BE(Math.max(0, count - 1), 23);
  out.writeInt32BE(count, RECORDS_COUNT);
  payload.copy(out, BATCH_HEADER_SIZE);
  out.writeUInt32BE(crc32c(out, ATTRIBUTES, out.length), CRC);
  return out;
}

function expectCorrupt(buf: Buffer, pattern?: RegExp): void {
  try {
    decodeRecords(buf, 0);
  } catch (err) {
    expect(err).toBeInstanceOf(CorruptRecordError);
    expect((err as CorruptRecordError).errorCode).toBe(2);
    if (pattern) expect((err as Error).message).toMatch(pattern);
    return;
  }
  expect.unreachable('decodeRecords accepted a corrupt batch');
}

describe('decodeRecords on honest input', () => {
  it('decodes hand-written records (independent of our encoder)', () => {
    const records = decodeRecords(batchOf(Buffer.concat([goodRecord(0), goodRecord(1)]), 2), 0);
    expect(records.map((r) => [r.offset, r.key?.toString(), r.value?.toString(), r.headers])).toEqual([
      [0n, 'k', 'v', []],
      [1n, 'k', 'v', []],
    ]);
  });

  it('returns slices of the batch, not copies, for uncompressed batches', () => {
    const buf = encodeRecordBatch({ records: [{ key: 'abc', value: 'def' }] });
    const [r] = decodeRecords(buf, 0);
    expect(r.value?.buffer).toBe(buf.buffer);
  });
});

describe('decodeRecords refuses lying lengths with CORRUPT_MESSAGE', () => {
  it('a record count far beyond the bytes, without allocating for it', () => {
    expectCorrupt(batchOf(goodRecord(0), 1_000_000_000), /recordsCount/);
    expectCorrupt(batchOf(goodRecord(0), -1), /recordsCount/);
  });

  it('fewer records than the count, and bytes left after the last record', () => {
    expectCorrupt(batchOf(Buffer.concat([goodRecord(0), goodRecord(1)]), 3));
    expectCorrupt(batchOf(Buffer.concat([goodRecord(0), goodRecord(1), Buffer.from([0, 0])]), 2), /remain after/);
  });

  it('a record length beyond the batch, below the minimum, or not matching its fields', () => {
    const rec = goodRecord(0).subarray(1);
    expectCorrupt(batchOf(new RecordWriter().varint(1_000_000).raw(rec).raw(Buffer.alloc(20)).done(), 1), /claims/);
    expectCorrupt(batchOf(new RecordWriter().varint(3).raw(rec).raw(Buffer.alloc(20)).done(), 1), /claims/);
    expectCorrupt(batchOf(new RecordWriter().varint(-1).raw(rec).raw(Buffer.alloc(20)).done(), 1));
    expectCorrupt(
      batchOf(
        new RecordWriter()
          .varint(rec.length + 2)
          .raw(rec)
          .raw(Buffer.alloc(20))
          .done(),
        1,
      ),
    );
  });

  it('key, value and header lengths that overrun their record', () => {
    const wrap = (body: Buffer) => batchOf(new RecordWriter().varint(body.length).raw(body).done(), 1);
    const prefix = () => new RecordWriter().byte(0).varlong(0n).varint(0);
    expectCorrupt(wrap(prefix().varint(50).raw('k').varint(-1).varint(0).done()), /key/);
    expectCorrupt(wrap(prefix().varint(-2).varint(-1).varint(0).done()), /key/);
    expectCorrupt(wrap(prefix().varint(-1).varint(2_000_000_000).varint(0).done()), /value/);
    expectCorrupt(wrap(prefix().varint(-1).varint(-1).varint(1_000_000).done()), /headers/);
    expectCorrupt(wrap(prefix().varint(-1).varint(-1).varint(1).varint(-1).varint(-1).done()), /header key/);
    expectCorrupt(wrap(prefix().varint(-1).varint(-1).varint(1).varint(1).raw('h').varint(9).raw('x').done()));
    // a value whose length stays inside the batch but runs past its own record
    const body = prefix().varint(-1).varint(3).raw('v').varint(0).done();
    const tail = goodRecord(1);
    expectCorrupt(batchOf(Buffer.concat([new RecordWriter().varint(body.length).raw(body).done(), tail]), 2));
  });

  it('a varint cut off by the end of the record', () => {
    const body = new RecordWriter().byte(0).varlong(0n).varint(0).varint(-1).varint(-1).byte(0x80).done();
    expectCorrupt(batchOf(new RecordWriter().varint(body.length).raw(body).done(), 1), /varint/);
  });

  it('the same rules apply inside compressed batches', () => {
    expectCorrupt(batchOf(goodRecord(0), 50, 1), /recordsCount/);
    expectCorrupt(batchOf(Buffer.concat([goodRecord(0), Buffer.from([0xff])]), 1, 4));
    expectCorrupt(batchOf(Buffer.alloc(0), 1, 2), /recordsCount/);
  });

  it('compressed payloads that do not decompress', () => {
    const threw: number[] = [];
    for (const codecId of [1, 2, 3, 4]) {
      const buf = batchOf(Buffer.concat([goodRecord(0)]), 1, codecId);
      buf.fill(0x5a, BATCH_HEADER_SIZE + 2, buf.length - 1);
      try {
        decodeRecords(buf, 0);
        // some codecs (lz4 without checksums) can decode garbage into garbage: then the record checks catch it
      } catch (err) {
        expect([codecId, err instanceof CorruptRecordError || err instanceof DecompressionLimitError]).toEqual([
          codecId,
          true,
        ]);
        threw.push(codecId);
      }
    }
    expect(threw).toContain(1); // gzip has a CRC32 trailer
    expect(threw).toContain(4); // zstd checks its block structure
  });

  it('a truncated or too-short batch', () => {
    const buf = encodeRecordBatch({ records: [{ value: 'x' }] });
    expectCorrupt(buf.subarray(0, buf.length - 1));
    expectCorrupt(buf.subarray(0, 40));
    const short = Buffer.from(buf);
    short.writeInt32BE(10, BATCH_LENGTH);
    expectCorrupt(short);
  });

  it('control batches whose key or value is too short', () => {
    const key = Buffer.from([0, 0, 0]);
    expectCorrupt(encodeRecordBatch({ isControl: true, records: [{ key, value: Buffer.alloc(6) }] }), /control/);
    const commit = Buffer.from([0, 0, 0, 1]);
    expectCorrupt(encodeRecordBatch({ isControl: true, records: [{ key: commit, value: Buffer.alloc(5) }] }), /marker/);
    expectCorrupt(encodeRecordBatch({ isControl: true, records: [{ key: null, value: Buffer.alloc(6) }] }), /control/);
  });
});

describe('decodeRecords other typed errors', () => {
  it('magic 0/1, unknown magic and unknown codecs', () => {
    const buf = encodeRecordBatch({ records: [{ value: 'x' }] });
    for (const magic of [0, 1]) {
      const old = Buffer.from(buf);
      old[MAGIC] = magic;
      expect(() => decodeRecords(old, 0)).toThrow(UnsupportedMessageFormatError);
    }
    const unknown = Buffer.from(buf);
    unknown[MAGIC] = 7;
    expect(() => decodeRecords(unknown, 0)).toThrow(CorruptRecordError);
    const codec6 = Buffer.from(buf);
    codec6.writeInt16BE(6, ATTRIBUTES);
    expect(() => decodeRecords(codec6, 0)).toThrow(UnsupportedCompressionTypeError);
  });

  it('decompression bombs stop at the limit with MESSAGE_TOO_LARGE', () => {
    const bomb = encodeRecordBatch({ compression: 'gzip', records: [{ value: Buffer.alloc(2 * 1024 * 1024) }] });
    expect(() => decodeRecords(bomb, 0, { maxDecompressedBytes: 1024 * 1024 })).toThrow(DecompressionLimitError);
    expect(decodeRecords(bomb, 0, { maxDecompressedBytes: 3 * 1024 * 1024 })[0].value?.length).toBe(2 * 1024 * 1024);
    const payload = compress('zstd', Buffer.alloc(70 * 1024 * 1024));
    const big = Buffer.alloc(BATCH_HEADER_SIZE + payload.length);
    encodeRecordBatch({ compression: 'zstd', records: [{ value: 'x' }] }).copy(big, 0, 0, BATCH_HEADER_SIZE);
    payload.copy(big, BATCH_HEADER_SIZE);
    big.writeInt32BE(big.length - 12, BATCH_LENGTH);
    try {
      decodeRecords(big, 0); // default limit: 64 MiB
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(DecompressionLimitError);
      expect((err as DecompressionLimitError).errorCode).toBe(10);
    }
  });
});

describe('decodeRecords under seeded random mutation', () => {
  it('either decodes or throws a KafkaError: never a RangeError, TypeError or a hang', () => {
    const rng = seededRandom(30);
    const sources = (['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const).map((compression) =>
      encodeRecordBatch({
        compression,
        records: Array.from({ length: 8 }, (_, i) => ({
          key: `k${i}`,
          value: `v${i}`.repeat(i * 3),
          headers: [{ key: 'h', value: `${i}` }],
        })),
      }),
    );
    let thrown = 0;
    for (let i = 0; i < 3000; i++) {
      const src = sources[i % sources.length];
      const buf = Buffer.from(src);
      const flips = randomInt(rng, 1, 4);
      for (let f = 0; f < flips; f++) {
        buf[randomInt(rng, BATCH_HEADER_SIZE - 4, buf.length - 1)] = randomInt(rng, 0, 255);
      }
      const end = rng() < 0.2 ? randomInt(rng, 0, buf.length) : buf.length;
      try {
        decodeRecords(buf, 0, { end, maxDecompressedBytes: 1 << 20 });
      } catch (err) {
        if (!(err instanceof KafkaError)) throw err;
        thrown++;
      }
    }
    expect(thrown).toBeGreaterThan(1000);
  });
});
