/**
 * Walks record batches (magic v2) in a buffer or a .log file and says where the valid ones end. Recovery uses it with
 * CRC checks to find a torn tail, and walkHeaders (headers only) to cross the flushed batches before it; reads use it
 * without CRC checks to find batch boundaries. It looks at headers only (records are never decoded), so compressed
 * batches cost the same as plain ones.
 */
import fs from 'node:fs';
import {
  ATTRIBUTES,
  BASE_OFFSET,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH,
  CRC,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  MAGIC,
  MAX_TIMESTAMP,
  PARTITION_LEADER_EPOCH,
} from '../protocol/records/batch-header.js';
import { crc32c } from '../protocol/records/crc32c.js';
import { readInt64Number } from '../protocol/wire/int64.js';
import { StorageError } from './storage-error.js';

export interface BatchInfo {
  /** Byte position of the batch in the buffer or file. */
  position: number;
  /** Total bytes, header included. */
  size: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  partitionLeaderEpoch: number;
  attributes: number;
}

/** Why a scan stopped: clean end, or the first invalid bytes (a torn or corrupt tail). */
export type ScanStop = 'end' | 'truncated' | 'bad-length' | 'bad-magic' | 'bad-crc' | 'bad-offset';

export interface ScanOptions {
  verifyCrc: boolean;
  /** Batches must start at or after this offset and increase (0 accepts anything non-negative). */
  minOffset?: number;
  /** Do not check offsets at all (a produce request's batches all start at 0 before offsets are assigned). */
  ignoreOffsets?: boolean;
}

/** The batch's offsets and header fields once its length and magic are checked, or 'bad-offset'. */
function batchInfoAt(buf: Buffer, pos: number, size: number, opts: ScanOptions): BatchInfo | ScanStop {
  const baseOffset = readInt64Number(buf, pos + BASE_OFFSET);
  const lastOffsetDelta = buf.readInt32BE(pos + LAST_OFFSET_DELTA);
  const lastOffset = baseOffset + lastOffsetDelta;
  if (
    lastOffsetDelta < 0 ||
    (!opts.ignoreOffsets && (baseOffset < (opts.minOffset ?? 0) || !Number.isSafeInteger(lastOffset)))
  ) {
    return 'bad-offset';
  }
  return {
    position: pos,
    size,
    baseOffset,
    lastOffset,
    maxTimestamp: readInt64Number(buf, pos + MAX_TIMESTAMP),
    partitionLeaderEpoch: buf.readInt32BE(pos + PARTITION_LEADER_EPOCH),
    attributes: buf.readInt16BE(pos + ATTRIBUTES),
  };
}

/**
 * Checks the batch at `pos` (which must have at least LOG_OVERHEAD bytes before `end`). Returns the batch or the
 * reason it is invalid; 'truncated' means the bytes up to `end` do not hold the whole batch.
 */
export function checkBatchAt(buf: Buffer, pos: number, end: number, opts: ScanOptions): BatchInfo | ScanStop {
  const batchLength = buf.readInt32BE(pos + BATCH_LENGTH);
  if (batchLength < BATCH_HEADER_SIZE - LOG_OVERHEAD) return 'bad-length';
  const size = LOG_OVERHEAD + batchLength;
  if (pos + BATCH_HEADER_SIZE > end) {
    return end - pos > MAGIC && buf[pos + MAGIC] !== 2 ? 'bad-magic' : 'truncated';
  }
  if (buf[pos + MAGIC] !== 2) return 'bad-magic';
  if (pos + size > end) return 'truncated';
  if (opts.verifyCrc && crc32c(buf, pos + ATTRIBUTES, pos + size) !== buf.readUInt32BE(pos + CRC)) return 'bad-crc';
  return batchInfoAt(buf, pos, size, opts);
}

/**
 * Checks only the 61-byte header at `pos` (length, magic, offsets from opts.minOffset), not the CRC nor whether the
 * body is there: for batches known intact (flushed), whose headers are walked to find boundaries and offsets.
 */
export function checkHeaderAt(buf: Buffer, pos: number, opts: ScanOptions): BatchInfo | ScanStop {
  const batchLength = buf.readInt32BE(pos + BATCH_LENGTH);
  if (batchLength < BATCH_HEADER_SIZE - LOG_OVERHEAD) return 'bad-length';
  if (buf[pos + MAGIC] !== 2) return 'bad-magic';
  return batchInfoAt(buf, pos, LOG_OVERHEAD + batchLength, opts);
}

export interface ScanResult {
  /** Position just after the last valid batch. */
  validEnd: number;
  stop: ScanStop;
  batches: number;
  /** Next offset after the last valid batch (minOffset when there was none). */
  nextOffset: number;
}

/** Scans buf[start, end) batch by batch, calling onBatch for each valid one. */
export function scanBuffer(
  buf: Buffer,
  start: number,
  end: number,
  opts: ScanOptions,
  onBatch?: (b: BatchInfo) => void,
): ScanResult {
  let pos = start;
  let nextOffset = opts.minOffset ?? 0;
  let batches = 0;
  while (pos < end) {
    if (end - pos < LOG_OVERHEAD) return { validEnd: pos, stop: 'truncated', batches, nextOffset };
    const b = checkBatchAt(buf, pos, end, { ...opts, minOffset: nextOffset });
    if (typeof b === 'string') return { validEnd: pos, stop: b, batches, nextOffset };
    onBatch?.(b);
    batches++;
    nextOffset = b.lastOffset + 1;
    pos += b.size;
  }
  return { validEnd: pos, stop: 'end', batches, nextOffset };
}

export function readFully(fd: number, buf: Buffer, offset: number, length: number, position: number, path = '') {
  let done = 0;
  try {
    while (done < length) {
      const n = fs.readSync(fd, buf, offset + done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
  } catch (err) {
    throw StorageError.from(err, 'read', path);
  }
  return done;
}

const CHUNK = 1 << 20;
/**
 * The first read of a file scan. Reads then double up to CHUNK, so a short tail (the usual unclean recovery) reads
 * little past its end: a .log after a crash is often preallocated, with zeros up to megabytes past the last batch.
 */
const FIRST_READ = 4 * 1024;
/** Read past a batch that did not fit the last read, to see the next header (or the end) in the same read. */
const LOOKAHEAD = 4 * 1024;

export interface FileScanResult extends ScanResult {
  /** Bytes read from the file. */
  readBytes: number;
}

/**
 * Scans a .log file from `start` to `end` (its size, or the logical end), reading 4 KiB first and doubling up to
 * 1 MiB. Batches larger than a read are read whole. Synchronous: it runs at start-up, before the partition serves
 * anything.
 */
export function scanLogFile(
  fd: number,
  start: number,
  end: number,
  opts: ScanOptions,
  onBatch?: (b: BatchInfo) => void,
  path = '',
): FileScanResult {
  let size = Math.min(FIRST_READ, Math.max(end - start, LOG_OVERHEAD));
  let chunk = Buffer.allocUnsafe(size);
  let pos = start;
  let nextOffset = opts.minOffset ?? 0;
  let batches = 0;
  let readBytes = 0;
  while (pos < end) {
    if (chunk.length < size) chunk = Buffer.allocUnsafe(size);
    const want = Math.min(size, end - pos);
    const got = readFully(fd, chunk, 0, want, pos, path);
    readBytes += got;
    const atEnd = got < want || pos + got >= end;
    const r = scanBuffer(chunk, 0, got, { ...opts, minOffset: nextOffset }, (b) => {
      onBatch?.({ ...b, position: b.position + pos });
    });
    batches += r.batches;
    nextOffset = r.nextOffset;
    const grown = Math.min(CHUNK, size * 2);
    if (r.stop === 'end' && !(atEnd && got < want)) {
      pos += r.validEnd;
      size = grown;
      continue;
    }
    if (r.stop !== 'truncated' || atEnd) {
      return { validEnd: pos + r.validEnd, stop: r.stop, batches, nextOffset, readBytes };
    }
    // The read ended inside a batch: continue from that batch, reading all of it (and a little more) when its
    // length is known.
    pos += r.validEnd;
    size = grown;
    if (got - r.validEnd >= LOG_OVERHEAD) {
      const batchSize = LOG_OVERHEAD + chunk.readInt32BE(r.validEnd + BATCH_LENGTH);
      if (pos + batchSize > end) return { validEnd: pos, stop: 'truncated', batches, nextOffset, readBytes };
      size = Math.max(size, batchSize + LOOKAHEAD);
    }
  }
  return { validEnd: pos, stop: 'end', batches, nextOffset, readBytes };
}

/** Where a header walk stopped: 'reached' (the next batch reaches untilOffset), or the invalid header's problem. */
export type HeaderWalkStop = 'reached' | ScanStop;

export interface HeaderWalkResult {
  /** Position after the last walked batch: the first batch reaching untilOffset, or the invalid header. */
  position: number;
  stop: HeaderWalkStop;
  /** Batches walked (each wholly below untilOffset). */
  batches: number;
  /** Next offset after the last walked batch (minOffset when there was none). */
  nextOffset: number;
  /** Bytes read from the file. */
  readBytes: number;
}

/**
 * Walks the batches of a .log file from `start` (a batch boundary) while they end below `untilOffset`, reading only
 * their 61-byte headers: no body, no CRC. For flushed batches (below a recovery point: a completed fdatasync
 * covered them, so a crash cannot have torn them). The headers must still chain: length and magic valid, each batch
 * inside [start, end), offsets from minOffset increasing. The walk stops without reading further once the next
 * offset reaches untilOffset, or at the first batch whose last offset reaches it (that batch is not walked: the
 * caller CRC-checks it); any other stop means the flushed part is not what the caller expected.
 */
export function walkHeaders(
  fd: number,
  start: number,
  end: number,
  opts: { minOffset: number; untilOffset: number },
  onBatch?: (b: BatchInfo) => void,
  path = '',
): HeaderWalkResult {
  const head = Buffer.allocUnsafe(BATCH_HEADER_SIZE);
  let pos = start;
  let nextOffset = opts.minOffset;
  let batches = 0;
  let readBytes = 0;
  const stopped = (stop: HeaderWalkStop): HeaderWalkResult => ({ position: pos, stop, batches, nextOffset, readBytes });
  while (nextOffset < opts.untilOffset) {
    if (pos + BATCH_HEADER_SIZE > end) return stopped('truncated');
    const got = readFully(fd, head, 0, BATCH_HEADER_SIZE, pos, path);
    readBytes += got;
    if (got < BATCH_HEADER_SIZE) return stopped('truncated');
    const b = checkHeaderAt(head, 0, { verifyCrc: false, minOffset: nextOffset });
    if (typeof b === 'string') return stopped(b);
    if (pos + b.size > end) return stopped('truncated');
    if (b.lastOffset >= opts.untilOffset) break;
    onBatch?.({ ...b, position: pos });
    batches++;
    nextOffset = b.lastOffset + 1;
    pos += b.size;
  }
  return stopped('reached');
}

/** A batch header as the read path needs it (no CRC check: the bytes were validated when written or recovered). */
export interface BatchHeaderInfo {
  position: number;
  size: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  attributes: number;
}

export function headerAt(buf: Buffer, at: number, filePosition: number): BatchHeaderInfo {
  const baseOffset = readInt64Number(buf, at + BASE_OFFSET);
  return {
    position: filePosition,
    size: LOG_OVERHEAD + buf.readInt32BE(at + BATCH_LENGTH),
    baseOffset,
    lastOffset: baseOffset + buf.readInt32BE(at + LAST_OFFSET_DELTA),
    maxTimestamp: readInt64Number(buf, at + MAX_TIMESTAMP),
    attributes: buf.readInt16BE(at + ATTRIBUTES),
  };
}
