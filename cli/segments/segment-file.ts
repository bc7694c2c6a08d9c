/**
 * Reads segment files for `berth segments`: walks the record batches of a `.log` through a 1 MiB window (any size of
 * file, one read per window rather than per batch), and reads `.index` / `.timeindex` entries. Kafka's files and
 * ours have the same format, so this reads both. A run of zeros after the last batch is a preallocated tail, not
 * corruption; it must be zeros to the end of the file.
 */
import fs from 'node:fs';
import { basename } from 'node:path';
import {
  ATTRIBUTES,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH,
  CRC,
  LOG_OVERHEAD,
  MAGIC,
  type RecordBatchHeader,
  readBatchHeader,
} from '../../protocol/records/batch-header.js';
import { crc32c } from '../../protocol/records/crc32c.js';
import { readInt64Number } from '../../protocol/wire/int64.js';

const WINDOW = 4 << 20;
const MIN_BATCH_LENGTH = BATCH_HEADER_SIZE - LOG_OVERHEAD;

/** A positioned read-through window over a file. */
export class FileWindow {
  private buf = Buffer.allocUnsafe(WINDOW);
  private start = 0;
  private length = 0;
  /** Bytes read from the file so far (progress). */
  bytesRead = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  /** file[pos, pos+n) as (buffer, offset into it), valid until the next call; n is clamped to the file's end. */
  view(pos: number, n: number): { buf: Buffer; at: number; length: number } {
    const want = Math.max(0, Math.min(n, this.size - pos));
    if (pos < this.start || pos + want > this.start + this.length) {
      if (want > this.buf.length) this.buf = Buffer.allocUnsafe(want);
      const toRead = Math.min(this.buf.length, this.size - pos);
      let done = 0;
      while (done < toRead) {
        const got = fs.readSync(this.fd, this.buf, done, toRead - done, pos + done);
        if (got === 0) break;
        done += got;
      }
      this.bytesRead += done;
      this.start = pos;
      this.length = done;
    }
    return { buf: this.buf, at: pos - this.start, length: Math.min(want, this.start + this.length - pos) };
  }
}

export interface WalkedBatch {
  position: number;
  size: number;
  header: RecordBatchHeader;
  crcOk: boolean;
  /** The batch's bytes (a view into the window: copy to keep). */
  bytes: Buffer;
}

/**
 * How a walk ended: 'end' (the last batch ends at the file's end), 'zeros' (zeros from stopPosition to the end),
 * 'partial' (a batch cut short by the end of the file: a torn write), 'corrupt' (bytes that cannot be a batch).
 */
export interface WalkEnd {
  stop: 'end' | 'zeros' | 'partial' | 'corrupt';
  stopPosition: number;
  detail?: string;
  fileSize: number;
}

const ZEROS = Buffer.alloc(64 * 1024);

/** Index of the first non-zero byte in buf[from, to), or -1. Compares 64 KiB at a time (memcmp), then finds it. */
function allZero(buf: Buffer, from: number, to: number): number {
  for (let at = from; at < to; at += ZEROS.length) {
    const end = Math.min(to, at + ZEROS.length);
    if (buf.compare(ZEROS, 0, end - at, at, end) === 0) continue;
    for (let i = at; i < end; i++) if (buf[i] !== 0) return i;
  }
  return -1;
}

/** Calls onBatch for each batch of the .log at `path`, in order; onProgress with bytes read so far. */
export function walkLog(
  path: string,
  onBatch: (b: WalkedBatch) => void,
  onProgress?: (bytesRead: number) => void,
  /** Read a zero tail to the end to prove it is all zeros (verify); inspect stops at the first zeros. */
  checkZeroTail = true,
): WalkEnd {
  const fd = fs.openSync(path, 'r');
  try {
    const fileSize = fs.fstatSync(fd).size;
    const win = new FileWindow(fd, fileSize);
    let pos = 0;
    const end = (stop: WalkEnd['stop'], detail?: string): WalkEnd => ({
      stop,
      stopPosition: pos,
      fileSize,
      ...(detail ? { detail } : {}),
    });
    let reported = 0;
    while (pos < fileSize) {
      if (onProgress && win.bytesRead - reported >= WINDOW) {
        reported = win.bytesRead;
        onProgress(reported);
      }
      const head = win.view(pos, BATCH_HEADER_SIZE);
      const nonZero = allZero(head.buf, head.at, head.at + head.length);
      if (nonZero < 0) {
        // Zeros: a preallocated tail only if they run to the end of the file.
        if (!checkZeroTail) return end('zeros');
        let p = pos;
        while (p < fileSize) {
          const v = win.view(p, WINDOW);
          const nz = allZero(v.buf, v.at, v.at + v.length);
          if (nz >= 0) {
            const at = p + (nz - v.at);
            return { ...end('corrupt', `non-zero byte at ${at} after zeros starting at ${pos}`) };
          }
          p += v.length;
        }
        onProgress?.(fileSize);
        return end('zeros');
      }
      if (head.length <= MAGIC) return end('partial', `${head.length} bytes cannot hold a batch header`);
      const magic = head.buf.readInt8(head.at + MAGIC);
      if (magic === 0 || magic === 1) return end('corrupt', `message format v${magic} (only v2 batches are read)`);
      if (magic !== 2) return end('corrupt', `unknown magic ${magic}`);
      const batchLength = head.buf.readInt32BE(head.at + BATCH_LENGTH);
      if (batchLength < MIN_BATCH_LENGTH) return end('corrupt', `batchLength ${batchLength} < ${MIN_BATCH_LENGTH}`);
      const size = LOG_OVERHEAD + batchLength;
      if (pos + size > fileSize) return end('partial', `batch of ${size} bytes runs past the end of the file`);
      const v = win.view(pos, size);
      const bytes = v.buf.subarray(v.at, v.at + size);
      const crcOk = bytes.readUInt32BE(CRC) === crc32c(bytes, ATTRIBUTES, size);
      onBatch({ position: pos, size, header: readBatchHeader(bytes, 0), crcOk, bytes });
      pos += size;
    }
    onProgress?.(fileSize);
    return end('end');
  } finally {
    fs.closeSync(fd);
  }
}

export interface IndexEntries {
  /** Entries before the trailing zero run (a preallocated, untrimmed active index). */
  entries: Array<{ key: number; value: number; position: number }>;
  /** Bytes of zeros after the entries. */
  zeroTail: number;
  /** Bytes past the last whole entry (a file size that is not a multiple of the entry size). */
  partialBytes: number;
}

/**
 * Reads an .index (8-byte entries: relative offset u32, position u32) or .timeindex (12-byte: timestamp i64,
 * relative offset u32). `key` is the relative offset (index) or the timestamp (timeindex).
 */
export function readIndexFile(path: string, kind: 'offset' | 'time'): IndexEntries {
  const buf = fs.readFileSync(path);
  const size = kind === 'offset' ? 8 : 12;
  const whole = Math.floor(buf.length / size);
  let last = whole; // entries after the last non-zero one are preallocation
  while (last > 0 && allZero(buf, (last - 1) * size, last * size) < 0) last--;
  const entries: IndexEntries['entries'] = [];
  for (let i = 0; i < last; i++) {
    const p = i * size;
    entries.push(
      kind === 'offset'
        ? { key: buf.readUInt32BE(p), value: buf.readUInt32BE(p + 4), position: p }
        : { key: readInt64Number(buf, p), value: buf.readUInt32BE(p + 8), position: p },
    );
  }
  return { entries, zeroTail: (whole - last) * size, partialBytes: buf.length - whole * size };
}

/** Kafka's segment file name: 20 digits of base offset. */
export function segmentBaseOffset(path: string): number | null {
  const m = /^(\d{20})\.(log|index|timeindex|txnindex)$/.exec(basename(path));
  return m ? Number(m[1]) : null;
}
