/**
 * Reads Kafka wire primitives from a Buffer with a sticky error, in the manner of franz-go's kbin.Reader:
 * a read past the end (or a length that cannot fit in what remains) returns a zero value and marks the reader
 * failed; every later read also returns zero values. Decoders read a whole message and call `check()` once.
 * Lengths are checked against the remaining bytes before anything is allocated or looped over, so a lying length
 * costs nothing. Bytes and records are returned as slices of the input (no copy).
 */
import { ProtocolDecodeError } from '../error-codes.js';
import { viewOf } from './int64.js';

const EMPTY = Buffer.alloc(0);

/** A tagged field the decoder does not know, kept raw so that a re-encode is byte-identical. */
export interface UnknownTaggedField {
  tag: number;
  data: Buffer;
}

export class Reader {
  readonly buf: Buffer;
  /** For int64 fields (int64.ts says why). */
  private view: DataView | null = null;
  offset: number;
  readonly end: number;
  /** The first problem met, or null. Sticky. */
  error: string | null = null;

  constructor(buf: Buffer, offset = 0, end = buf.length) {
    this.buf = buf;
    this.offset = offset;
    this.end = end;
  }

  get failed(): boolean {
    return this.error !== null;
  }

  remaining(): number {
    return this.end - this.offset;
  }

  /** Marks the reader failed (keeps the first reason) and moves to the end so that later reads return zeros. */
  fail(reason: string): void {
    if (this.error === null) this.error = `${reason} at offset ${this.offset}`;
    this.offset = this.end;
  }

  /** Throws ProtocolDecodeError if any read failed. `what` names the message for the error text. */
  check(what = 'message'): void {
    if (this.error !== null) throw new ProtocolDecodeError(`cannot decode ${what}: ${this.error}`);
  }

  /** Like check(), and also fails when bytes are left over. */
  checkEnd(what = 'message'): void {
    this.check(what);
    if (this.offset !== this.end) {
      throw new ProtocolDecodeError(`cannot decode ${what}: ${this.end - this.offset} bytes left over`);
    }
  }

  private need(n: number): boolean {
    if (this.end - this.offset >= n) return true;
    this.fail(`needed ${n} bytes, ${this.end - this.offset} left`);
    return false;
  }

  int8(): number {
    if (!this.need(1)) return 0;
    return this.buf.readInt8(this.offset++);
  }

  uint8(): number {
    if (!this.need(1)) return 0;
    return this.buf[this.offset++];
  }

  bool(): boolean {
    if (!this.need(1)) return false;
    return this.buf[this.offset++] !== 0;
  }

  int16(): number {
    if (!this.need(2)) return 0;
    const v = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  uint16(): number {
    if (!this.need(2)) return 0;
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  int32(): number {
    if (!this.need(4)) return 0;
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  uint32(): number {
    if (!this.need(4)) return 0;
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  int64(): bigint {
    if (!this.need(8)) return 0n;
    this.view ??= viewOf(this.buf);
    const v = this.view.getBigInt64(this.offset);
    this.offset += 8;
    return v;
  }

  float64(): number {
    if (!this.need(8)) return 0;
    const v = this.buf.readDoubleBE(this.offset);
    this.offset += 8;
    return v;
  }

  /** Unsigned LEB128, up to 32 bits (5 bytes). */
  uvarint(): number {
    // Fast path: lengths, counts and tag sections are almost always one byte.
    if (this.offset < this.end) {
      const b = this.buf[this.offset];
      if (b < 0x80) {
        this.offset++;
        return b;
      }
    }
    return this.uvarintLong();
  }

  private uvarintLong(): number {
    const buf = this.buf;
    const end = this.end;
    let pos = this.offset;
    let result = 0;
    // The first four groups fit in 28 bits: plain int arithmetic.
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= end) {
        this.offset = pos;
        this.fail('truncated varint');
        return 0;
      }
      const b = buf[pos++];
      result |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.offset = pos;
        return result;
      }
    }
    if (pos >= end) {
      this.offset = pos;
      this.fail('truncated varint');
      return 0;
    }
    const last = buf[pos++];
    this.offset = pos;
    if (last > 0x0f) {
      this.fail('varint longer than 32 bits');
      return 0;
    }
    return result + last * 0x10000000;
  }

  /** Zigzag varint (int32). */
  varint(): number {
    const u = this.uvarint();
    // (u >>> 1) ^ -(u & 1), done on a number that may exceed 2^31
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /** Unsigned LEB128 up to 64 bits, as bigint. */
  uvarlong(): bigint {
    const buf = this.buf;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.offset >= this.end) {
        this.fail('truncated varlong');
        return 0n;
      }
      const b = buf[this.offset++];
      if (i === 9 && b > 0x01) {
        this.fail('varlong longer than 64 bits');
        return 0n;
      }
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result;
      shift += 7n;
    }
    this.fail('varlong longer than 10 bytes');
    return 0n;
  }

  /** Zigzag varlong (int64). */
  varlong(): bigint {
    const u = this.uvarlong();
    return (u >> 1n) ^ -(u & 1n);
  }

  /** Kafka's UUID: 16 bytes, returned as 22 characters of URL-safe base64 without padding. */
  uuid(): string {
    if (!this.need(16)) return 'AAAAAAAAAAAAAAAAAAAAAA';
    const s = this.buf.toString('base64url', this.offset, this.offset + 16);
    this.offset += 16;
    return s;
  }

  private utf8(len: number): string {
    if (len > this.end - this.offset) {
      this.fail(`string length ${len} exceeds the ${this.end - this.offset} bytes left`);
      return '';
    }
    const start = this.offset;
    this.offset += len;
    return this.buf.toString('utf8', start, start + len);
  }

  private slice(len: number): Buffer {
    if (len < 0 || len > this.end - this.offset) {
      this.fail(`bytes length ${len} exceeds the ${this.end - this.offset} bytes left`);
      return EMPTY;
    }
    const start = this.offset;
    this.offset += len;
    return this.buf.subarray(start, start + len);
  }

  /** Classic string: int16 length. A negative length fails (not nullable). */
  string(): string {
    const len = this.int16();
    if (len < 0) {
      if (this.error === null) this.fail('null for a non-nullable string');
      return '';
    }
    return this.utf8(len);
  }

  nullableString(): string | null {
    const len = this.int16();
    if (len < 0) return this.error === null ? (len === -1 ? null : this.badLength(len, null)) : '';
    return this.utf8(len);
  }

  /** Compact string: unsigned varint length + 1. */
  compactString(): string {
    const n = this.uvarint();
    if (n === 0) {
      if (this.error === null) this.fail('null for a non-nullable compact string');
      return '';
    }
    return this.utf8(n - 1);
  }

  compactNullableString(): string | null {
    const n = this.uvarint();
    if (n === 0) return this.error === null ? null : '';
    return this.utf8(n - 1);
  }

  /** Classic bytes: int32 length. */
  bytes(): Buffer {
    const len = this.int32();
    if (len < 0) {
      if (this.error === null) this.fail('null for non-nullable bytes');
      return EMPTY;
    }
    return this.slice(len);
  }

  nullableBytes(): Buffer | null {
    const len = this.int32();
    if (len < 0) return this.error === null ? (len === -1 ? null : this.badLength(len, null)) : EMPTY;
    return this.slice(len);
  }

  compactBytes(): Buffer {
    const n = this.uvarint();
    if (n === 0) {
      if (this.error === null) this.fail('null for non-nullable compact bytes');
      return EMPTY;
    }
    return this.slice(n - 1);
  }

  compactNullableBytes(): Buffer | null {
    const n = this.uvarint();
    if (n === 0) return this.error === null ? null : EMPTY;
    return this.slice(n - 1);
  }

  /** Exactly n raw bytes (a slice). */
  raw(n: number): Buffer {
    return this.slice(n);
  }

  private badLength<T>(len: number, zero: T): T {
    this.fail(`invalid length ${len}`);
    return zero;
  }

  /**
   * Classic array count (int32). Returns -1 for null (only valid when nullable; callers check) and 0 once failed.
   * A count larger than the bytes that remain fails at once: every element takes at least one byte.
   */
  arrayLength(): number {
    const n = this.int32();
    if (n < 0) {
      if (n !== -1) this.fail(`invalid array length ${n}`);
      return this.error === null ? -1 : 0;
    }
    return this.countFits(n);
  }

  /** Compact array count (unsigned varint count + 1); -1 for null. */
  compactArrayLength(): number {
    const n = this.uvarint();
    if (n === 0) return this.error === null ? -1 : 0;
    return this.countFits(n - 1);
  }

  private countFits(n: number): number {
    if (n > this.end - this.offset) {
      this.fail(`array length ${n} exceeds the ${this.end - this.offset} bytes left`);
      return 0;
    }
    return n;
  }

  /** A count of tagged fields; each takes at least two bytes. */
  taggedFieldCount(): number {
    const n = this.uvarint();
    if (n * 2 > this.end - this.offset) {
      this.fail(`tagged field count ${n} exceeds the ${this.end - this.offset} bytes left`);
      return 0;
    }
    return n;
  }

  /** Reads a tagged field's size and returns where its value must end (fails if it overruns). */
  taggedFieldEnd(): number {
    const size = this.uvarint();
    if (size > this.end - this.offset) {
      this.fail(`tagged field size ${size} exceeds the ${this.end - this.offset} bytes left`);
      return this.offset;
    }
    return this.offset + size;
  }

  /** Fails unless a tagged value ended exactly where its size said it would. */
  expectOffset(end: number): void {
    if (this.offset !== end && this.error === null) this.fail(`tagged field ended at ${this.offset}, expected ${end}`);
  }

  /** Reads all tagged fields into raw entries (used where a struct knows no tags at this version). */
  unknownTaggedFields(): UnknownTaggedField[] | undefined {
    if (this.offset < this.end && this.buf[this.offset] === 0) {
      this.offset++;
      return undefined;
    }
    const n = this.taggedFieldCount();
    if (n === 0) return undefined;
    const out: UnknownTaggedField[] = [];
    for (let i = 0; i < n; i++) {
      const tag = this.uvarint();
      const size = this.uvarint();
      const data = this.slice(size);
      if (this.error !== null) return undefined;
      out.push({ tag, data });
    }
    return out;
  }
}
