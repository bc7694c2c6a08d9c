/**
 * 64-bit big-endian integers read and written as JavaScript numbers, for offsets and timestamps (always safe
 * integers): record batch headers, indexes, producer snapshots.
 *
 * Why not Buffer's readBigInt64BE / writeBigInt64BE with Number() and BigInt() around them: each call builds three
 * or four intermediate BigInts (heap objects), and a produced batch goes through several of them (its header
 * checked, its base offset patched, its time index entry written). Two 32-bit halves give the same number:
 * `hi * 2^32` is exact and adding `lo` rounds once, to nearest, as Number(bigint) does.
 */

const TWO_32 = 4294967296;

/** The int64 at `pos`, as a number (rounded to the nearest double beyond 2^53, like Number(bigint)). */
export function readInt64Number(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * TWO_32 + buf.readUInt32BE(pos + 4);
}

/** Writes the safe integer `v` at `pos` as an int64. */
export function writeInt64Number(buf: Buffer, v: number, pos: number): void {
  if (!Number.isSafeInteger(v)) throw new RangeError(`not a safe integer for an int64 field: ${v}`);
  const hi = Math.floor(v / TWO_32);
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(v - hi * TWO_32, pos + 4);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A DataView over the whole of `buf`: DataView's BigInt accessors build no intermediate BigInts. */
export function viewOf(buf: Buffer): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Writes `v` at `pos` of `view`; throws a RangeError outside int64's range (DataView itself would wrap). */
export function setInt64(view: DataView, pos: number, v: bigint): void {
  if (v < INT64_MIN || v > INT64_MAX) throw new RangeError(`${v} is out of int64's range`);
  view.setBigInt64(pos, v);
}
