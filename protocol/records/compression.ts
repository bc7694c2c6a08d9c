/**
 * The four record-batch codecs, synchronous and bounded.
 *
 * - gzip: node:zlib (RFC 1952 members, as the Java client writes them).
 * - snappy: npm `snappy`. Writes raw snappy by default (what librdkafka writes; Java's snappy-java reader falls back
 *   to raw when the xerial magic is absent). Reads raw snappy and the xerial framing of snappy-java:
 *   0x82 'SNAPPY' 0x00, int32 version, int32 compatible version, then chunks of [int32 BE length][raw snappy].
 * - lz4: the LZ4 *frame* format (magic 0x184D2204), blocks compressed by npm `lz4-napi`; Java and librdkafka
 *   both write 64 KiB independent blocks and so do we.
 * - zstd: npm `zstd-napi`, streamed through a DCtx so that output is produced in bounded steps.
 *
 * Every decompressor enforces `maxOutputBytes` before or while it allocates: snappy and lz4 from their size
 * preambles/block headers, gzip through zlib's maxOutputLength, zstd chunk by chunk with a window cap. Codec modules
 * are loaded on first use, so a missing native module only fails the codec that needs it.
 */

import { constants as bufferConstants } from 'node:buffer';
import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import type { CompressionCodec } from './batch-header.js';
import { CorruptRecordError, DecompressionLimitError, UnsupportedCompressionTypeError } from './errors.js';
import { readUnsignedVarint } from './varint.js';

export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;
const MAX_BUFFER_LENGTH = bufferConstants.MAX_LENGTH;

export interface CompressOptions {
  /** Codec level (gzip 1-9, zstd 1-22); the library default when absent. Ignored by snappy and lz4. */
  level?: number;
  /** Snappy framing to write: 'raw' (default) or snappy-java's 'xerial' chunks. */
  snappyFraming?: 'raw' | 'xerial';
}

interface SnappyModule {
  compressSync(input: Uint8Array): Buffer;
  uncompressSync(input: Uint8Array, opts: { asBuffer: true }): Buffer;
}
interface Lz4Module {
  /** Raw LZ4 block prefixed with the uncompressed size (u32 LE). */
  compressSync(input: Buffer): Buffer;
  decompressFrameSync(input: Buffer): Buffer;
}
type StreamResult = [returnValue: number, dstProduced: number, srcConsumed: number];
interface ZstdDCtx {
  decompressStream(dst: Uint8Array, src: Uint8Array): StreamResult;
  reset(directive: number): void;
  setParameter(param: number, value: number): void;
}
interface ZstdBinding {
  DCtx: new () => ZstdDCtx;
  getFrameContentSize(frame: Uint8Array): number | null;
  DParameter: { windowLogMax: number };
  ResetDirective: { sessionOnly: number };
}
interface ZstdModule {
  compress(data: Uint8Array, params?: { compressionLevel?: number }): Buffer;
}

const require = createRequire(import.meta.url);
const loaded = new Map<string, unknown>();

function load<T>(codec: CompressionCodec, id: string): T {
  let mod = loaded.get(id);
  if (mod === undefined) {
    try {
      mod = require(id) as unknown;
    } catch (err) {
      throw new UnsupportedCompressionTypeError(
        codecCode(codec),
        `${codec} codec unavailable: cannot load ${id} (${(err as Error).message})`,
      );
    }
    loaded.set(id, mod);
  }
  return mod as T;
}

function codecCode(codec: CompressionCodec): number {
  return ['none', 'gzip', 'snappy', 'lz4', 'zstd'].indexOf(codec);
}

function corrupt(codec: string, err: unknown): CorruptRecordError {
  return new CorruptRecordError(`${codec} records do not decompress: ${(err as Error).message}`, { cause: err });
}

// ---------------------------------------------------------------------------------------------------------------
// compress

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_SIZE = 16;
const XERIAL_CHUNK = 32 * 1024; // snappy-java's default block size

export function compress(codec: CompressionCodec, data: Buffer, options: CompressOptions = {}): Buffer {
  switch (codec) {
    case 'none':
      return data;
    case 'gzip':
      return zlib.gzipSync(data, options.level === undefined ? {} : { level: options.level });
    case 'snappy': {
      const snappy = load<SnappyModule>('snappy', 'snappy');
      if (options.snappyFraming !== 'xerial') return snappy.compressSync(data);
      const parts: Buffer[] = [];
      const header = Buffer.alloc(XERIAL_HEADER_SIZE);
      XERIAL_MAGIC.copy(header, 0);
      header.writeInt32BE(1, 8);
      header.writeInt32BE(1, 12);
      parts.push(header);
      for (let off = 0; off < data.length; off += XERIAL_CHUNK) {
        const block = snappy.compressSync(data.subarray(off, Math.min(off + XERIAL_CHUNK, data.length)));
        const len = Buffer.allocUnsafe(4);
        len.writeInt32BE(block.length, 0);
        parts.push(len, block);
      }
      return Buffer.concat(parts);
    }
    case 'lz4':
      return lz4Frame(load<Lz4Module>('lz4', 'lz4-napi'), data);
    case 'zstd':
      return load<ZstdModule>('zstd', 'zstd-napi').compress(
        data,
        options.level === undefined ? {} : { compressionLevel: options.level },
      );
    default:
      throw new UnsupportedCompressionTypeError(codecCode(codec));
  }
}

/**
 * The frame Java's KafkaLZ4BlockOutputStream and librdkafka write: version 01, independent blocks, no checksums, no
 * content size, 64 KiB blocks. lz4-napi's own frame writer picks up to 4 MiB blocks for large inputs, which makes
 * readers allocate more, so the frame is assembled here from single-block compressions. 0x82 is the frame
 * descriptor's header checksum (second byte of xxh32 over FLG 0x60, BD 0x40), constant for this descriptor.
 */
const LZ4_FRAME_HEADER = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]);
const LZ4_BLOCK_SIZE = 64 * 1024;
const LZ4_STORED_BLOCK = 0x80000000;

function lz4Frame(lz4: Lz4Module, data: Buffer): Buffer {
  const parts: Buffer[] = [LZ4_FRAME_HEADER];
  let total = LZ4_FRAME_HEADER.length + 4;
  for (let off = 0; off < data.length; off += LZ4_BLOCK_SIZE) {
    const chunk = data.subarray(off, Math.min(off + LZ4_BLOCK_SIZE, data.length));
    const packed = lz4.compressSync(chunk).subarray(4); // drop the size prefix: the frame's block is raw
    const stored = packed.length >= chunk.length;
    const block = stored ? chunk : packed;
    const size = Buffer.allocUnsafe(4);
    size.writeUInt32LE(stored ? (LZ4_STORED_BLOCK | block.length) >>> 0 : block.length, 0);
    parts.push(size, block);
    total += 4 + block.length;
  }
  parts.push(Buffer.alloc(4)); // end mark
  return Buffer.concat(parts, total);
}

// ---------------------------------------------------------------------------------------------------------------
// decompress

/** Decompresses `data`, refusing (DecompressionLimitError) to produce more than `maxOutputBytes`. */
export function decompress(
  codec: CompressionCodec,
  data: Buffer,
  maxOutputBytes: number = DEFAULT_MAX_DECOMPRESSED_BYTES,
): Buffer {
  switch (codec) {
    case 'none':
      if (data.length > maxOutputBytes) throw new DecompressionLimitError(codec, maxOutputBytes);
      return data;
    case 'gzip':
      return gunzipBounded(data, maxOutputBytes);
    case 'snappy':
      return snappyBounded(data, maxOutputBytes);
    case 'lz4':
      return lz4Bounded(data, maxOutputBytes);
    case 'zstd':
      return zstdBounded(data, maxOutputBytes);
    default:
      throw new UnsupportedCompressionTypeError(codecCode(codec));
  }
}

function gunzipBounded(data: Buffer, limit: number): Buffer {
  try {
    return zlib.gunzipSync(data, { maxOutputLength: Math.min(Math.max(1, limit), MAX_BUFFER_LENGTH) });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw new DecompressionLimitError('gzip', limit);
    throw corrupt('gzip', err);
  }
}

/** True when `data` starts with snappy-java's stream magic. */
export function isXerialSnappy(data: Uint8Array): boolean {
  if (data.length < XERIAL_MAGIC.length) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (data[i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

function snappyBounded(data: Buffer, limit: number): Buffer {
  const snappy = load<SnappyModule>('snappy', 'snappy');
  if (!isXerialSnappy(data)) return rawSnappy(snappy, data, limit);
  if (data.length < XERIAL_HEADER_SIZE) throw new CorruptRecordError('xerial snappy header is truncated');
  // First pass: walk the chunks and add up their declared sizes, so nothing is inflated past the limit.
  const chunks: Buffer[] = [];
  let total = 0;
  let pos = XERIAL_HEADER_SIZE;
  while (pos < data.length) {
    // snappy-java's reader accepts concatenated streams: a new header where a chunk length would be (a length
    // starting with 0x82 would be negative, so this cannot be mistaken for a chunk).
    if (isXerialSnappy(data.subarray(pos))) {
      pos += XERIAL_HEADER_SIZE;
      continue;
    }
    if (pos + 4 > data.length) throw new CorruptRecordError('xerial snappy chunk length is truncated');
    const len = data.readInt32BE(pos);
    pos += 4;
    if (len < 0 || len > data.length - pos)
      throw new CorruptRecordError(`xerial snappy chunk of ${len} bytes overruns`);
    const chunk = data.subarray(pos, pos + len);
    total += snappyDeclaredLength(chunk);
    if (total > limit) throw new DecompressionLimitError('snappy', limit);
    chunks.push(chunk);
    pos += len;
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const chunk of chunks) {
    const part = rawSnappy(snappy, chunk, limit);
    part.copy(out, at);
    at += part.length;
  }
  return out;
}

function snappyDeclaredLength(block: Buffer): number {
  return readUnsignedVarint(block, { pos: 0 }, block.length);
}

function rawSnappy(snappy: SnappyModule, block: Buffer, limit: number): Buffer {
  if (snappyDeclaredLength(block) > limit) throw new DecompressionLimitError('snappy', limit);
  try {
    return snappy.uncompressSync(block, { asBuffer: true });
  } catch (err) {
    throw corrupt('snappy', err);
  }
}

const LZ4_MAGIC = 0x184d2204;
const LZ4_BLOCK_MAX: Record<number, number> = { 4: 64 * 1024, 5: 256 * 1024, 6: 1024 * 1024, 7: 4 * 1024 * 1024 };

/**
 * Walks an LZ4 frame's block headers to bound its output (each compressed block inflates to at most the frame's
 * block maximum; encoders fill every block but the last, so the bound is tight), then lets lz4-napi decode it.
 */
export function lz4FrameOutputBound(data: Buffer): number {
  if (data.length < 7 || data.readUInt32LE(0) !== LZ4_MAGIC) throw new CorruptRecordError('not an LZ4 frame');
  const flg = data[4];
  const bd = data[5];
  if (flg >> 6 !== 1) throw new CorruptRecordError(`unsupported LZ4 frame version ${flg >> 6}`);
  const blockMax = LZ4_BLOCK_MAX[(bd >> 4) & 0x07];
  if (blockMax === undefined) throw new CorruptRecordError(`invalid LZ4 block size id ${(bd >> 4) & 0x07}`);
  const blockChecksum = (flg & 0x10) !== 0;
  let pos = 6 + ((flg & 0x08) !== 0 ? 8 : 0) + ((flg & 0x01) !== 0 ? 4 : 0) + 1; // + content size, dict id, HC
  let bound = 0;
  for (;;) {
    if (pos + 4 > data.length) throw new CorruptRecordError('LZ4 frame is truncated');
    const word = data.readUInt32LE(pos);
    pos += 4;
    if (word === 0) return bound; // end mark
    const size = word & 0x7fffffff;
    const stored = word >>> 31 === 1;
    if (size > blockMax || size > data.length - pos)
      throw new CorruptRecordError(`LZ4 block of ${size} bytes overruns`);
    bound += stored ? size : blockMax;
    pos += size + (blockChecksum ? 4 : 0);
  }
}

function lz4Bounded(data: Buffer, limit: number): Buffer {
  const lz4 = load<Lz4Module>('lz4', 'lz4-napi');
  const bound = lz4FrameOutputBound(data);
  if (bound > limit) {
    // The bound may overshoot by up to one block; only refuse if even a full last block could not fit.
    const blockMax = LZ4_BLOCK_MAX[(data[5] >> 4) & 0x07];
    if (bound - blockMax >= limit) throw new DecompressionLimitError('lz4', limit);
  }
  let out: Buffer;
  try {
    out = lz4.decompressFrameSync(data);
  } catch (err) {
    throw corrupt('lz4', err);
  }
  if (out.length > limit) throw new DecompressionLimitError('lz4', limit);
  return out;
}

const ZSTD_WINDOW_LOG_MIN = 10;
const ZSTD_WINDOW_LOG_MAX = 27; // zstd's own default limit
let zstdContext: { dctx: ZstdDCtx; windowLogMax: number } | null = null;

function zstdBounded(data: Buffer, limit: number): Buffer {
  const binding = load<ZstdBinding>('zstd', 'zstd-napi/binding');
  // A window larger than the output limit buys nothing but memory, so the window cap follows the limit.
  const windowLogMax = Math.min(
    ZSTD_WINDOW_LOG_MAX,
    Math.max(ZSTD_WINDOW_LOG_MIN, Math.ceil(Math.log2(Math.max(1, limit)))),
  );
  if (zstdContext === null) zstdContext = { dctx: new binding.DCtx(), windowLogMax: -1 };
  const ctx = zstdContext;
  try {
    ctx.dctx.reset(binding.ResetDirective.sessionOnly);
    if (ctx.windowLogMax !== windowLogMax) {
      ctx.dctx.setParameter(binding.DParameter.windowLogMax, windowLogMax);
      ctx.windowLogMax = windowLogMax;
    }
    let declared: number | null = null;
    try {
      declared = binding.getFrameContentSize(data);
    } catch {
      declared = null; // unknown or unreadable: the stream decoder reports real errors
    }
    if (declared !== null && declared > limit) throw new DecompressionLimitError('zstd', limit);
    let step = declared !== null ? declared + 1 : Math.max(64 * 1024, data.length * 4);
    const parts: Buffer[] = [];
    let total = 0;
    let src = 0;
    for (;;) {
      const dst = Buffer.allocUnsafe(Math.max(1, Math.min(step, limit - total + 1)));
      const [ret, produced, consumed] = ctx.dctx.decompressStream(dst, data.subarray(src));
      src += consumed;
      total += produced;
      if (total > limit) throw new DecompressionLimitError('zstd', limit);
      if (produced > 0) parts.push(dst.subarray(0, produced));
      if (ret === 0 && src === data.length) break; // frame complete, no more input
      if (src === data.length && produced < dst.length) throw new CorruptRecordError('zstd frame is truncated');
      if (produced === 0 && consumed === 0) throw new CorruptRecordError('zstd decoder made no progress');
      step = Math.min(step * 2, 16 * 1024 * 1024);
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, total);
  } catch (err) {
    if (err instanceof DecompressionLimitError || err instanceof CorruptRecordError) throw err;
    // zstd's frameParameter_windowTooLarge: the frame's window exceeds the cap derived from the limit.
    if (/too much memory/i.test((err as Error).message)) throw new DecompressionLimitError('zstd', limit);
    throw corrupt('zstd', err);
  } finally {
    ctx.dctx.reset(binding.ResetDirective.sessionOnly);
  }
}
