/**
 * Variable-length integers of the record format (protobuf style, 7 bits per byte, little-endian groups):
 * zigzag varint (int32), zigzag varlong (int64) and the unsigned varint of flexible protocol versions.
 *
 * Readers advance a caller-owned cursor instead of returning tuples, so the record decoder allocates nothing per
 * field. Every read is bounded by `end`; a varint that runs past it, or is longer than its type allows, is a
 * CorruptRecordError. Writers return the position after what they wrote and throw RangeError on a short buffer or an
 * out-of-range value (those are programming errors, not bad input).
 */
import { CorruptRecordError } from './errors.js';

export interface Cursor {
  pos: number;
}

const TWO_POW_28 = 2 ** 28;

/** Unsigned varint of at most 5 bytes (uint32). */
export function readUnsignedVarint(buf: Uint8Array, cursor: Cursor, end: number = buf.length): number {
  let pos = cursor.pos;
  let result = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= end) throw new CorruptRecordError('varint runs past the end of its buffer');
    const b = buf[pos++];
    result |= (b & 0x7f) << shift;
    if (b < 0x80) {
      cursor.pos = pos;
      return result >>> 0;
    }
  }
  if (pos >= end) throw new CorruptRecordError('varint runs past the end of its buffer');
  const last = buf[pos++];
  // The fifth byte holds bits 28-31 only; anything more is not an int32.
  if (last > 0x0f) throw new CorruptRecordError('varint is longer than 32 bits');
  cursor.pos = pos;
  return (result >>> 0) + last * TWO_POW_28;
}

/** Zigzag varint (int32). */
export function readVarint(buf: Uint8Array, cursor: Cursor, end: number = buf.length): number {
  const u = readUnsignedVarint(buf, cursor, end);
  return (u >>> 1) ^ -(u & 1);
}

/** Zigzag varlong (int64). Values up to 49 bits (7 bytes) take a number-only fast path. */
export function readVarlong(buf: Uint8Array, cursor: Cursor, end: number = buf.length): bigint {
  let pos = cursor.pos;
  let low = 0; // bits 0-48, exact in a double
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    if (pos >= end) throw new CorruptRecordError('varlong runs past the end of its buffer');
    const b = buf[pos++];
    low += (b & 0x7f) * scale;
    if (b < 0x80) {
      cursor.pos = pos;
      // unzigzag in doubles: exact because low < 2^49
      return BigInt(low % 2 === 0 ? low / 2 : -(low + 1) / 2);
    }
    scale *= 128;
  }
  let u = BigInt(low);
  let shift = 49n;
  for (let i = 7; i < 10; i++) {
    if (pos >= end) throw new CorruptRecordError('varlong runs past the end of its buffer');
    const b = buf[pos++];
    if (i === 9 && b > 0x01) throw new CorruptRecordError('varlong is longer than 64 bits');
    u |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) {
      cursor.pos = pos;
      return (u >> 1n) ^ -(u & 1n);
    }
    shift += 7n;
  }
  throw new CorruptRecordError('varlong is longer than 64 bits');
}

export function unsignedVarintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

function zigzag32(value: number): number {
  return ((value << 1) ^ (value >> 31)) >>> 0;
}

export function varintSize(value: number): number {
  return unsignedVarintSize(zigzag32(value));
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER) / 2n;

export function varlongSize(value: bigint): number {
  if (value <= MAX_SAFE && value >= -MAX_SAFE) {
    const n = Number(value);
    let un = n >= 0 ? n * 2 : -n * 2 - 1;
    let sizeN = 1;
    while (un >= 0x80) {
      un = Math.floor(un / 128);
      sizeN++;
    }
    return sizeN;
  }
  let u = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  let size = 1;
  while (u >= 0x80n) {
    u >>= 7n;
    size++;
  }
  return size;
}

function checkRoom(buf: Uint8Array, pos: number, size: number): void {
  if (pos < 0 || pos + size > buf.length) throw new RangeError(`no room for a ${size}-byte varint at ${pos}`);
}

export function writeUnsignedVarint(buf: Uint8Array, pos: number, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`unsigned varint out of range: ${value}`);
  }
  checkRoom(buf, pos, unsignedVarintSize(value));
  let v = value;
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
    throw new RangeError(`varint out of int32 range: ${value}`);
  }
  return writeUnsignedVarint(buf, pos, zigzag32(value));
}

export function writeVarlong(buf: Uint8Array, pos: number, value: bigint): number {
  if (value < -0x8000000000000000n || value > 0x7fffffffffffffffn) {
    throw new RangeError(`varlong out of int64 range: ${value}`);
  }
  checkRoom(buf, pos, varlongSize(value));
  if (value <= MAX_SAFE && value >= -MAX_SAFE) {
    // Doubles are exact here, and much cheaper than bigint shifts.
    const n = Number(value);
    let u = n >= 0 ? n * 2 : -n * 2 - 1;
    while (u >= 0x80) {
      buf[pos++] = (u % 128) | 0x80;
      u = Math.floor(u / 128);
    }
    buf[pos++] = u;
    return pos;
  }
  let u = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  while (u >= 0x80n) {
    buf[pos++] = Number(u & 0x7fn) | 0x80;
    u >>= 7n;
  }
  buf[pos++] = Number(u);
  return pos;
}
