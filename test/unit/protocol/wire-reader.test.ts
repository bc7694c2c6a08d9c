import { describe, expect, it } from 'vitest';
import { ProtocolDecodeError } from '../../../protocol/error-codes.js';
import { Reader } from '../../../protocol/wire/reader.js';
import { Writer } from '../../../protocol/wire/writer.js';

function bytes(...values: number[]): Buffer {
  return Buffer.from(values);
}

function written(fn: (w: Writer) => void): Buffer {
  const w = new Writer(16);
  fn(w);
  return w.finish();
}

describe('Reader', () => {
  it('reads fixed-width integers big-endian', () => {
    const r = new Reader(
      bytes(0xff, 0x80, 0x00, 0xff, 0xfe, 0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1),
    );
    expect(r.int8()).toBe(-1);
    expect(r.int16()).toBe(-32768);
    expect(r.uint16()).toBe(0xfffe);
    expect(r.int32()).toBe(-(2 ** 31));
    expect(r.uint32()).toBe(0xffffffff);
    expect(r.int64()).toBe(-(2n ** 63n) + 1n);
    r.checkEnd();
  });

  it('reads unsigned varints and zigzag varints and varlongs', () => {
    expect(new Reader(bytes(0)).uvarint()).toBe(0);
    expect(new Reader(bytes(0x7f)).uvarint()).toBe(127);
    expect(new Reader(bytes(0x80, 0x01)).uvarint()).toBe(128);
    expect(new Reader(bytes(0xff, 0xff, 0xff, 0xff, 0x0f)).uvarint()).toBe(0xffffffff);
    expect(new Reader(bytes(1)).varint()).toBe(-1);
    expect(new Reader(bytes(2)).varint()).toBe(1);
    expect(new Reader(bytes(0xff, 0xff, 0xff, 0xff, 0x0f)).varint()).toBe(-(2 ** 31));
    expect(new Reader(bytes(0xfe, 0xff, 0xff, 0xff, 0x0f)).varint()).toBe(2 ** 31 - 1);
    expect(new Reader(bytes(0x01)).varlong()).toBe(-1n);
    const max = written((w) => w.varlong(2n ** 63n - 1n));
    expect(max.length).toBe(10);
    expect(new Reader(max).varlong()).toBe(2n ** 63n - 1n);
    expect(new Reader(written((w) => w.varlong(-(2n ** 63n)))).varlong()).toBe(-(2n ** 63n));
  });

  it('fails on varints that are too long', () => {
    const r = new Reader(bytes(0xff, 0xff, 0xff, 0xff, 0x1f));
    expect(r.uvarint()).toBe(0);
    expect(r.failed).toBe(true);
    const r2 = new Reader(bytes(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01));
    expect(r2.uvarlong()).toBe(0n);
    expect(r2.failed).toBe(true);
  });

  it('keeps the first error and returns zero values afterwards', () => {
    const r = new Reader(bytes(0, 1, 2));
    expect(r.int32()).toBe(0);
    expect(r.failed).toBe(true);
    const first = r.error;
    expect(r.int8()).toBe(0);
    expect(r.string()).toBe('');
    expect(r.int64()).toBe(0n);
    expect(r.bytes().length).toBe(0);
    expect(r.arrayLength()).toBe(0);
    expect(r.compactArrayLength()).toBe(0);
    expect(r.error).toBe(first);
    expect(() => r.check()).toThrow(ProtocolDecodeError);
  });

  it('reads classic and compact strings, nullable or not', () => {
    const buf = written((w) => {
      w.string('héllo');
      w.nullableString(null);
      w.compactString('日本');
      w.compactNullableString(null);
      w.compactString('');
    });
    const r = new Reader(buf);
    expect(r.string()).toBe('héllo');
    expect(r.nullableString()).toBe(null);
    expect(r.compactString()).toBe('日本');
    expect(r.compactNullableString()).toBe(null);
    expect(r.compactString()).toBe('');
    r.checkEnd();
  });

  it('fails a null for a non-nullable string or bytes', () => {
    const classicNull = () => new Reader(bytes(0xff, 0xff, 0xff, 0xff));
    const compactNull = () => new Reader(bytes(0));
    const cases: Array<[Reader, (r: Reader) => unknown]> = [
      [classicNull(), (r) => r.string()],
      [classicNull(), (r) => r.bytes()],
      [compactNull(), (r) => r.compactString()],
      [compactNull(), (r) => r.compactBytes()],
    ];
    for (const [r, read] of cases) {
      read(r);
      expect(r.error).toMatch(/null for non-nullable|null for a non-nullable/);
    }
  });

  it('fails lengths that exceed the bytes left before reading anything', () => {
    const s = new Reader(bytes(0x7f, 0xff, 0x61));
    expect(s.string()).toBe('');
    expect(s.error).toMatch(/exceeds/);
    const b = new Reader(bytes(0x7f, 0xff, 0xff, 0xff, 1, 2));
    expect(b.bytes().length).toBe(0);
    expect(b.error).toMatch(/exceeds/);
    const a = new Reader(Buffer.concat([bytes(0x7f, 0xff, 0xff, 0xff), Buffer.alloc(6)]));
    expect(a.arrayLength()).toBe(0);
    expect(a.error).toMatch(/array length 2147483647 exceeds the 6 bytes left/);
    const c = new Reader(bytes(0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0));
    expect(c.compactArrayLength()).toBe(0);
    expect(c.failed).toBe(true);
    const neg = new Reader(bytes(0xff, 0xff, 0xff, 0xfe, 0, 0));
    neg.arrayLength();
    expect(neg.error).toMatch(/invalid array length -2/);
  });

  it('returns -1 for null arrays', () => {
    expect(new Reader(bytes(0xff, 0xff, 0xff, 0xff)).arrayLength()).toBe(-1);
    expect(new Reader(bytes(0)).compactArrayLength()).toBe(-1);
    expect(new Reader(bytes(3, 0, 0)).compactArrayLength()).toBe(2);
  });

  it('returns bytes as slices of the input, without copying', () => {
    const buf = written((w) => {
      w.bytes(Buffer.from('abc'));
      w.compactNullableBytes(Buffer.from('de'));
    });
    const r = new Reader(buf);
    const a = r.bytes();
    const b = r.compactNullableBytes()!;
    expect(a.toString()).toBe('abc');
    expect(b.toString()).toBe('de');
    expect(a.buffer).toBe(buf.buffer);
    buf[4] = 0x7a;
    expect(a.toString()).toBe('zbc');
  });

  it('reads uuids as 22 characters of base64url', () => {
    const raw = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const r = new Reader(raw);
    const id = r.uuid();
    expect(id).toBe(raw.toString('base64url'));
    expect(id).toHaveLength(22);
    expect(written((w) => w.uuid(id)).equals(raw)).toBe(true);
  });

  it('keeps unknown tagged fields raw and fails tags whose size lies', () => {
    const buf = bytes(2, 1, 2, 0xaa, 0xbb, 7, 0);
    const r = new Reader(buf);
    expect(r.unknownTaggedFields()).toEqual([
      { tag: 1, data: bytes(0xaa, 0xbb) },
      { tag: 7, data: bytes() },
    ]);
    r.checkEnd();
    const lying = new Reader(bytes(1, 1, 9, 0));
    expect(lying.unknownTaggedFields()).toBeUndefined();
    expect(lying.failed).toBe(true);
    const manyTags = new Reader(bytes(0x7f, 0, 0));
    expect(manyTags.taggedFieldCount()).toBe(0);
    expect(manyTags.failed).toBe(true);
  });

  it('checkEnd reports bytes left over', () => {
    const r = new Reader(bytes(0, 1, 2));
    r.int16();
    expect(() => r.checkEnd()).toThrow(/1 bytes left over/);
  });

  it('reads float64 and bool', () => {
    const r = new Reader(
      written((w) => {
        w.float64(-1.5);
        w.bool(true);
        w.bool(false);
      }),
    );
    expect(r.float64()).toBe(-1.5);
    expect(r.bool()).toBe(true);
    expect(r.bool()).toBe(false);
    r.checkEnd();
  });
});
