/**
 * Writes Kafka wire primitives. Small values go into the current chunk; when it fills, the chunk is closed and a
 * new one started, so growing never copies what was already written. Large byte slices (record batches) are kept
 * by reference as their own chunk and copied once, in finish() (or not at all by finishChunks()).
 * A 4-byte size prefix can be reserved first and is patched when the writer finishes.
 */
import { ProtocolEncodeError } from '../error-codes.js';
import { ExternalBytes } from './external-bytes.js';
import { setInt64, viewOf } from './int64.js';
import type { UnknownTaggedField } from './reader.js';

const MIN_CHUNK = 256;
const MAX_CHUNK = 64 * 1024;
/** Byte slices at least this large are referenced, not copied into a chunk. */
const REFERENCE_THRESHOLD = 512;

/** A tagged field to write: its tag and a function that writes its value. */
export interface TaggedFieldWrite {
  tag: number;
  write: (w: Writer) => void;
}

export class Writer {
  private chunks: Buffer[] = [];
  private buf: Buffer;
  /** A DataView of `buf` for int64 fields (int64.ts says why), made again when `buf` changes. */
  private view: DataView | null = null;
  private viewBuf: Buffer | null = null;
  private pos = 0;
  private closedLength = 0;
  private sizePrefix = false;

  private nextChunk: number;

  constructor(initialSize = 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(initialSize, 16));
    this.nextChunk = Math.max(initialSize, MIN_CHUNK / 2);
  }

  /** Bytes written so far (including a reserved size prefix). */
  get length(): number {
    return this.closedLength + this.pos;
  }

  /** Reserves a 4-byte big-endian size prefix, patched at finish with the number of bytes that follow it. */
  reserveSizePrefix(): this {
    if (this.length !== 0) throw new Error('reserveSizePrefix must come before any write');
    this.sizePrefix = true;
    this.pos = 4;
    return this;
  }

  private ensure(n: number): void {
    if (this.buf.length - this.pos >= n) return;
    this.closeChunk();
    // Each new chunk doubles (up to MAX_CHUNK), so a large message takes few chunks.
    this.nextChunk = Math.min(MAX_CHUNK, this.nextChunk * 2);
    this.buf = Buffer.allocUnsafe(Math.max(this.nextChunk, n));
    this.pos = 0;
  }

  private closeChunk(): void {
    if (this.pos > 0) {
      this.chunks.push(this.buf.subarray(0, this.pos));
      this.closedLength += this.pos;
      this.buf = this.buf.subarray(this.pos);
      this.pos = 0;
    }
  }

  int8(v: number): void {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
  }

  uint8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  bool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  int16(v: number): void {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
  }

  uint16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  int32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  uint32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  int64(v: bigint): void {
    this.ensure(8);
    if (this.viewBuf !== this.buf) {
      this.view = viewOf(this.buf);
      this.viewBuf = this.buf;
    }
    setInt64(this.view!, this.pos, v);
    this.pos += 8;
  }

  float64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  uvarint(v: number): void {
    this.ensure(5);
    const buf = this.buf;
    if (v < 0 || v > 0xffffffff) throw new ProtocolEncodeError(`unsigned varint out of range: ${v}`);
    while (v >= 0x80) {
      buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[this.pos++] = v;
  }

  varint(v: number): void {
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  uvarlong(v: bigint): void {
    this.ensure(10);
    const buf = this.buf;
    let u = BigInt.asUintN(64, v);
    while (u >= 0x80n) {
      buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    buf[this.pos++] = Number(u);
  }

  varlong(v: bigint): void {
    this.uvarlong((v << 1n) ^ (v >> 63n));
  }

  uuid(v: string): void {
    this.ensure(16);
    if (v.length !== 22 || this.buf.write(v, this.pos, 16, 'base64url') !== 16) {
      throw new ProtocolEncodeError(`invalid uuid ${JSON.stringify(v)}: expected 22 characters of base64url`);
    }
    this.pos += 16;
  }

  private utf8(v: string, len: number): void {
    this.ensure(len);
    this.buf.write(v, this.pos, len, 'utf8');
    this.pos += len;
  }

  string(v: string): void {
    if (typeof v !== 'string') throw new ProtocolEncodeError('null for a non-nullable string');
    const len = Buffer.byteLength(v, 'utf8');
    if (len > 0x7fff) throw new ProtocolEncodeError(`string of ${len} bytes is too long`);
    this.int16(len);
    this.utf8(v, len);
  }

  nullableString(v: string | null): void {
    if (v === null) this.int16(-1);
    else this.string(v);
  }

  compactString(v: string): void {
    if (typeof v !== 'string') throw new ProtocolEncodeError('null for a non-nullable string');
    const len = Buffer.byteLength(v, 'utf8');
    this.uvarint(len + 1);
    this.utf8(v, len);
  }

  compactNullableString(v: string | null): void {
    if (v === null) this.uvarint(0);
    else this.compactString(v);
  }

  /** Raw bytes with no length. Large slices are referenced, not copied, until finish(). */
  raw(v: Uint8Array): void {
    const n = v.length;
    if (v instanceof ExternalBytes) {
      this.closeChunk();
      this.chunks.push(v as unknown as Buffer);
      this.closedLength += n;
      return;
    }
    if (n >= REFERENCE_THRESHOLD) {
      this.closeChunk();
      this.chunks.push(Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, n));
      this.closedLength += n;
      return;
    }
    this.ensure(n);
    this.buf.set(v, this.pos);
    this.pos += n;
  }

  bytes(v: Uint8Array): void {
    if (v === null || v === undefined) throw new ProtocolEncodeError('null for non-nullable bytes');
    this.int32(v.length);
    this.raw(v);
  }

  nullableBytes(v: Uint8Array | null): void {
    if (v === null) this.int32(-1);
    else this.bytes(v);
  }

  compactBytes(v: Uint8Array): void {
    if (v === null || v === undefined) throw new ProtocolEncodeError('null for non-nullable bytes');
    this.uvarint(v.length + 1);
    this.raw(v);
  }

  compactNullableBytes(v: Uint8Array | null): void {
    if (v === null) this.uvarint(0);
    else this.compactBytes(v);
  }

  /** Classic array count; null writes -1. */
  arrayLength(n: number): void {
    this.int32(n);
  }

  /** Compact array count: count + 1, 0 for null (-1). */
  compactArrayLength(n: number): void {
    this.uvarint(n + 1);
  }

  /**
   * Writes a tagged-field section: known fields (already filtered to non-default ones) and unknown raw ones,
   * merged in ascending tag order as the protocol requires.
   */
  taggedFields(known: TaggedFieldWrite[] | undefined, unknown: UnknownTaggedField[] | undefined): void {
    const entries: Array<{ tag: number; data: Buffer }> = [];
    if (known !== undefined) {
      for (const k of known) {
        const sub = new Writer(64);
        k.write(sub);
        entries.push({ tag: k.tag, data: sub.finish() });
      }
    }
    if (unknown !== undefined) for (const u of unknown) entries.push(u);
    entries.sort((a, b) => a.tag - b.tag);
    this.uvarint(entries.length);
    for (const e of entries) {
      this.uvarint(e.tag);
      this.uvarint(e.data.length);
      this.raw(e.data);
    }
  }

  /** The chunks written, in order, without joining them (for writev). Patches the size prefix. */
  /** Like finishChunks, with ExternalBytes placeholders left in place for the sender to fill. */
  finishParts(): Array<Buffer | ExternalBytes> {
    return this.finishChunks();
  }

  finishChunks(): Buffer[] {
    this.closeChunk();
    const chunks = this.chunks;
    if (this.sizePrefix && chunks.length > 0) chunks[0].writeInt32BE(this.closedLength - 4, 0);
    this.chunks = [];
    this.closedLength = 0;
    this.sizePrefix = false;
    return chunks;
  }

  /** Everything written as one Buffer (size prefix patched). The writer is empty afterwards. */
  finish(): Buffer {
    const total = this.length;
    const chunks = this.finishChunks();
    if (chunks.length === 1) return chunks[0];
    return Buffer.concat(chunks, total);
  }
}
