import { describe, expect, it } from 'vitest';
import { CorruptRecordError } from '../../../../protocol/records/errors.js';
import {
  readUnsignedVarint,
  readVarint,
  readVarlong,
  unsignedVarintSize,
  varintSize,
  varlongSize,
  writeUnsignedVarint,
  writeVarint,
  writeVarlong,
} from '../../../../protocol/records/varint.js';
import { randomInt, requireCjs, seededRandom } from './helpers.js';

const KafkajsEncoder = requireCjs('kafkajs/src/protocol/encoder.js');
const KafkajsDecoder = requireCjs('kafkajs/src/protocol/decoder.js');
const Long = requireCjs('kafkajs/src/utils/long.js');

function encodeVarint(v: number): Buffer {
  const buf = Buffer.alloc(varintSize(v));
  expect(writeVarint(buf, 0, v)).toBe(buf.length);
  return buf;
}

function encodeVarlong(v: bigint): Buffer {
  const buf = Buffer.alloc(varlongSize(v));
  expect(writeVarlong(buf, 0, v)).toBe(buf.length);
  return buf;
}

describe('zigzag varint (int32)', () => {
  it('encodes known values as the record format does', () => {
    expect(encodeVarint(0).toString('hex')).toBe('00');
    expect(encodeVarint(-1).toString('hex')).toBe('01');
    expect(encodeVarint(1).toString('hex')).toBe('02');
    expect(encodeVarint(63).toString('hex')).toBe('7e');
    expect(encodeVarint(-64).toString('hex')).toBe('7f');
    expect(encodeVarint(64).toString('hex')).toBe('8001');
    expect(encodeVarint(300).toString('hex')).toBe('d804');
    expect(encodeVarint(2147483647).toString('hex')).toBe('feffffff0f');
    expect(encodeVarint(-2147483648).toString('hex')).toBe('ffffffff0f');
  });

  it('sizes change exactly at the 7-bit boundaries', () => {
    const cases: Array<[number, number]> = [
      [63, 1],
      [64, 2],
      [-64, 1],
      [-65, 2],
      [8191, 2],
      [8192, 3],
      [1048575, 3],
      [1048576, 4],
      [134217727, 4],
      [134217728, 5],
      [-2147483648, 5],
    ];
    for (const [v, size] of cases) expect([v, varintSize(v)]).toEqual([v, size]);
  });

  it('round-trips edge and seeded random values and agrees with kafkajs', () => {
    const rng = seededRandom(1);
    const values = [0, 1, -1, 63, 64, -64, -65, 2147483647, -2147483648];
    for (let i = 0; i < 2000; i++) values.push(randomInt(rng, -2147483648, 2147483647));
    for (const v of values) {
      const buf = encodeVarint(v);
      const cursor = { pos: 0 };
      expect(readVarint(buf, cursor, buf.length)).toBe(v);
      expect(cursor.pos).toBe(buf.length);
      expect(buf.equals(new KafkajsEncoder().writeVarInt(v).buffer)).toBe(true);
      expect(new KafkajsDecoder(buf).readVarInt()).toBe(v);
    }
  });

  it('advances the cursor from a non-zero position', () => {
    const buf = Buffer.from([0xaa, 0xd8, 0x04, 0x03]);
    const cursor = { pos: 1 };
    expect(readVarint(buf, cursor)).toBe(300);
    expect(readVarint(buf, cursor)).toBe(-2);
    expect(cursor.pos).toBe(4);
  });

  it('refuses to read past the end it is given, even if the buffer goes on', () => {
    const buf = Buffer.from([0xd8, 0x04]);
    expect(() => readVarint(buf, { pos: 0 }, 1)).toThrow(CorruptRecordError);
    expect(() => readVarint(Buffer.alloc(0), { pos: 0 })).toThrow(CorruptRecordError);
    expect(() => readVarint(Buffer.from([0x80, 0x80, 0x80, 0x80]), { pos: 0 })).toThrow(CorruptRecordError);
  });

  it('refuses varints longer than 32 bits', () => {
    expect(() => readVarint(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x1f]), { pos: 0 })).toThrow(CorruptRecordError);
    expect(() => readVarint(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), { pos: 0 })).toThrow(CorruptRecordError);
    try {
      readVarint(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), { pos: 0 });
      expect.unreachable();
    } catch (err) {
      expect((err as CorruptRecordError).errorCode).toBe(2); // CORRUPT_MESSAGE
    }
  });

  it('writers check range and room', () => {
    expect(() => writeVarint(Buffer.alloc(5), 0, 2147483648)).toThrow(RangeError);
    expect(() => writeVarint(Buffer.alloc(5), 0, 1.5)).toThrow(RangeError);
    expect(() => writeVarint(Buffer.alloc(1), 0, 64)).toThrow(RangeError);
    expect(() => writeVarint(Buffer.alloc(2), 1, 64)).toThrow(RangeError);
  });
});

describe('unsigned varint', () => {
  it('handles the full uint32 range', () => {
    for (const v of [0, 1, 127, 128, 16383, 16384, 0x7fffffff, 0x80000000, 0xffffffff]) {
      const buf = Buffer.alloc(unsignedVarintSize(v));
      writeUnsignedVarint(buf, 0, v);
      expect(readUnsignedVarint(buf, { pos: 0 })).toBe(v);
    }
    const max = Buffer.alloc(5);
    writeUnsignedVarint(max, 0, 0xffffffff);
    expect(max.toString('hex')).toBe('ffffffff0f');
    expect(() => writeUnsignedVarint(Buffer.alloc(5), 0, -1)).toThrow(RangeError);
    expect(() => writeUnsignedVarint(Buffer.alloc(5), 0, 2 ** 32)).toThrow(RangeError);
  });
});

describe('zigzag varlong (int64)', () => {
  it('encodes the extremes in 10 bytes', () => {
    expect(encodeVarlong(9223372036854775807n).toString('hex')).toBe('feffffffffffffffff01');
    expect(encodeVarlong(-9223372036854775808n).toString('hex')).toBe('ffffffffffffffffff01');
    expect(varlongSize(0n)).toBe(1);
    expect(varlongSize(-1n)).toBe(1);
    expect(varlongSize(-64n)).toBe(1);
    expect(varlongSize(64n)).toBe(2);
  });

  it('round-trips across the fast-path boundary (49 bits) and agrees with kafkajs', () => {
    const rng = seededRandom(2);
    const values: bigint[] = [0n, 1n, -1n, 2n ** 48n - 1n, 2n ** 48n, -(2n ** 48n), -(2n ** 48n) - 1n];
    values.push(2n ** 52n, -(2n ** 52n), 2n ** 53n, 2n ** 62n, -(2n ** 63n), 2n ** 63n - 1n, 1732500000000n);
    for (let i = 0; i < 2000; i++) {
      const bits = BigInt(randomInt(rng, 1, 63));
      const magnitude = BigInt(Math.floor(rng() * 2 ** 31)) * BigInt(Math.floor(rng() * 2 ** 31)) + BigInt(i);
      const v = BigInt.asIntN(64, magnitude % (1n << bits));
      values.push(rng() < 0.5 ? v : -v);
    }
    for (const v of values) {
      const buf = encodeVarlong(v);
      const cursor = { pos: 0 };
      expect(readVarlong(buf, cursor, buf.length)).toBe(v);
      expect(cursor.pos).toBe(buf.length);
      const theirs = new KafkajsEncoder().writeVarLong(Long.fromString(v.toString())).buffer;
      expect(buf.equals(theirs)).toBe(true);
      expect(new KafkajsDecoder(buf).readVarLong().toString()).toBe(v.toString());
    }
  });

  it('refuses truncated and over-long varlongs', () => {
    const long = encodeVarlong(2n ** 60n);
    expect(() => readVarlong(long, { pos: 0 }, long.length - 1)).toThrow(CorruptRecordError);
    expect(() => readVarlong(Buffer.from([0x80, 0x80]), { pos: 0 })).toThrow(CorruptRecordError);
    const eleven = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x01]);
    expect(() => readVarlong(eleven, { pos: 0 })).toThrow(CorruptRecordError);
    const tooWide = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]);
    expect(() => readVarlong(tooWide, { pos: 0 })).toThrow(CorruptRecordError);
  });

  it('writers check range and room', () => {
    expect(() => writeVarlong(Buffer.alloc(10), 0, 2n ** 63n)).toThrow(RangeError);
    expect(() => writeVarlong(Buffer.alloc(1), 0, 64n)).toThrow(RangeError);
  });
});
