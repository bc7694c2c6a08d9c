// protocol/wire/int64.ts against Node's own BigInt accessors: the same bytes written, the same values read, and the
// same refusals (a number that is not a safe integer, a bigint outside int64's range).
import { describe, expect, it } from 'vitest';
import { readInt64Number, setInt64, viewOf, writeInt64Number } from '../../../../protocol/wire/int64.js';
import { Reader } from '../../../../protocol/wire/reader.js';
import { Writer } from '../../../../protocol/wire/writer.js';

const TWO_63 = 2n ** 63n;
const bigints = [0n, 1n, -1n, 255n, 2n ** 31n, -(2n ** 31n) - 1n, 2n ** 32n, 2n ** 32n - 1n, -(2n ** 32n)];
bigints.push(2n ** 53n - 1n);
bigints.push(-(2n ** 53n) + 1n, 2n ** 53n + 1n, 2n ** 62n + 12345n, TWO_63 - 1n, -TWO_63, 1_700_000_000_123n);
// A seeded spread over the whole range too.
let seed = 7n;
for (let i = 0; i < 200; i++) {
  seed = (seed * 6364136223846793005n + 1442695040888963407n) % 2n ** 64n;
  bigints.push(BigInt.asIntN(64, seed));
}

describe('int64 fields without intermediate BigInts', () => {
  it('reads as a number exactly what Number(readBigInt64BE) gives, at any offset', () => {
    const buf = Buffer.alloc(24);
    for (const v of bigints) {
      buf.writeBigInt64BE(v, 5);
      expect(readInt64Number(buf, 5)).toBe(Number(v));
    }
  });

  it('writes a safe integer as the same bytes as writeBigInt64BE(BigInt(v)), and refuses anything else', () => {
    const ours = Buffer.alloc(16);
    const node = Buffer.alloc(16);
    for (const v of bigints) {
      const n = Number(v);
      if (!Number.isSafeInteger(n)) continue;
      writeInt64Number(ours, n, 3);
      node.writeBigInt64BE(BigInt(n), 3);
      expect(ours.equals(node)).toBe(true);
    }
    for (const bad of [2 ** 53, -(2 ** 53), 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => writeInt64Number(ours, bad, 0)).toThrow(RangeError);
    }
  });

  it('writes and reads bigints through a DataView as Buffer does, and refuses values outside int64', () => {
    const ours = Buffer.alloc(32).subarray(8);
    const node = Buffer.alloc(24);
    const view = viewOf(ours);
    for (const v of bigints) {
      setInt64(view, 9, v);
      node.writeBigInt64BE(v, 9);
      expect(ours.equals(node)).toBe(true);
      expect(view.getBigInt64(9)).toBe(node.readBigInt64BE(9));
    }
    expect(() => setInt64(view, 0, TWO_63)).toThrow(RangeError);
    expect(() => setInt64(view, 0, -TWO_63 - 1n)).toThrow(RangeError);
  });

  it('round-trips int64 fields through Writer and Reader, across the writer growing its buffer', () => {
    const w = new Writer(16);
    for (const v of bigints) {
      w.int8(1);
      w.int64(v);
    }
    expect(() => w.int64(TWO_63)).toThrow(RangeError);
    const r = new Reader(w.finish());
    for (const v of bigints) {
      expect(r.int8()).toBe(1);
      expect(r.int64()).toBe(v);
    }
  });
});
