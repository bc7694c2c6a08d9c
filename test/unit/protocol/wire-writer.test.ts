import { describe, expect, it } from 'vitest';
import { ProtocolEncodeError } from '../../../protocol/error-codes.js';
import { Reader } from '../../../protocol/wire/reader.js';
import { Writer } from '../../../protocol/wire/writer.js';

describe('Writer', () => {
  it('grows by chunks and keeps what was written', () => {
    const w = new Writer(16);
    for (let i = 0; i < 10_000; i++) w.int32(i);
    expect(w.length).toBe(40_000);
    const chunks = w.finishChunks();
    expect(chunks.length).toBeGreaterThan(1);
    const all = Buffer.concat(chunks);
    for (let i = 0; i < 10_000; i++) expect(all.readInt32BE(i * 4)).toBe(i);
  });

  it('references large byte slices instead of copying them', () => {
    const big = Buffer.alloc(4096, 7);
    const w = new Writer();
    w.int16(1);
    w.bytes(big);
    w.int8(2);
    const chunks = w.finishChunks();
    expect(chunks).toContain(big);
    const whole = Buffer.concat(chunks);
    expect(whole.length).toBe(2 + 4 + 4096 + 1);
    expect(whole.readInt32BE(2)).toBe(4096);
    expect(whole[whole.length - 1]).toBe(2);
  });

  it('patches a reserved size prefix at finish', () => {
    const w = new Writer(8).reserveSizePrefix();
    w.string('hello');
    w.bytes(Buffer.alloc(1000, 1));
    w.int64(5n);
    const frame = w.finish();
    expect(frame.readInt32BE(0)).toBe(frame.length - 4);
    expect(frame.length).toBe(4 + 2 + 5 + 4 + 1000 + 8);
  });

  it('refuses to reserve a prefix after writing', () => {
    const w = new Writer();
    w.int8(1);
    expect(() => w.reserveSizePrefix()).toThrow();
  });

  it('writes unsigned varints at their boundaries', () => {
    for (const [value, size] of [
      [0, 1],
      [127, 1],
      [128, 2],
      [16383, 2],
      [16384, 3],
      [0xffffffff, 5],
    ] as const) {
      const w = new Writer();
      w.uvarint(value);
      const b = w.finish();
      expect(b.length).toBe(size);
      expect(new Reader(b).uvarint()).toBe(value);
    }
  });

  it('rejects null for non-nullable strings and bytes, and bad uuids', () => {
    const w = new Writer();
    expect(() => w.string(null as unknown as string)).toThrow(ProtocolEncodeError);
    expect(() => w.compactString(null as unknown as string)).toThrow(ProtocolEncodeError);
    expect(() => w.bytes(null as unknown as Buffer)).toThrow(ProtocolEncodeError);
    expect(() => w.uuid('short')).toThrow(ProtocolEncodeError);
    expect(() => w.string('x'.repeat(40_000))).toThrow(ProtocolEncodeError);
  });

  it('writes nullable and compact forms', () => {
    const w = new Writer();
    w.nullableString(null);
    w.compactNullableString(null);
    w.nullableBytes(null);
    w.compactNullableBytes(null);
    w.compactBytes(Buffer.from([1, 2]));
    expect(w.finish().toString('hex')).toBe('ffff00ffffffff00030102');
  });

  it('merges known and unknown tagged fields in ascending tag order', () => {
    const w = new Writer();
    w.taggedFields(
      [
        { tag: 5, write: (x) => x.int8(5) },
        { tag: 0, write: (x) => x.int16(0x0102) },
      ],
      [{ tag: 3, data: Buffer.from([0xaa]) }],
    );
    // count 3; tag 0 size 2; tag 3 size 1; tag 5 size 1
    expect(w.finish().toString('hex')).toBe('03' + '00020102' + '0301aa' + '050105');
  });

  it('is empty and reusable after finish', () => {
    const w = new Writer();
    w.int32(1);
    expect(w.finish().length).toBe(4);
    expect(w.length).toBe(0);
    w.int8(9);
    expect(w.finish()).toEqual(Buffer.from([9]));
  });
});

describe('Writer growth', () => {
  it('doubles its chunks so that a large message takes few of them', () => {
    const w = new Writer(16);
    for (let i = 0; i < 250_000; i++) w.int32(i);
    const chunks = w.finishChunks();
    // 1 MB in chunks that double from 256 bytes up to 64 KiB: well under 40 chunks.
    expect(chunks.length).toBeLessThan(40);
    expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(1_000_000);
  });
});
