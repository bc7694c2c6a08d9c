/**
 * Walks record batches (magic v2) in a buffer or a .log file and says where the valid ones end. Recovery uses it with
 * CRC checks to find a torn tail; reads use it without CRC checks to find batch boundaries. It looks at headers only
 * (records are never decoded), so compressed batches cost the same as plain ones.
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
  const baseOffset = Number(buf.readBigInt64BE(pos + BASE_OFFSET));
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
    maxTimestamp: Number(buf.readBigInt64BE(pos + MAX_TIMESTAMP)),
    partitionLeaderEpoch: buf.readInt32BE(pos + PARTITION_LEADER_EPOCH),
    attributes: buf.readInt16BE(pos + ATTRIBUTES),
  };
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
 * Scans a .log file from `start` to `end` (its size, or the logical end) in 1 MiB reads. Batches larger than a chunk
 * are read whole. Synchronous: it runs at start-up, before the partition serves anything.
 */
export function scanLogFile(
  fd: number,
  start: number,
  end: number,
  opts: ScanOptions,
  onBatch?: (b: BatchInfo) => void,
  path = '',
): ScanResult {
  let chunk = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(end - start, LOG_OVERHEAD)));
  let pos = start;
  let nextOffset = opts.minOffset ?? 0;
  let batches = 0;
  while (pos < end) {
    const want = Math.min(chunk.length, end - pos);
    const got = readFully(fd, chunk, 0, want, pos, path);
    const atEnd = got < want || pos + got >= end;
    const r = scanBuffer(chunk, 0, got, { ...opts, minOffset: nextOffset }, (b) => {
      onBatch?.({ ...b, position: b.position + pos });
    });
    batches += r.batches;
    nextOffset = r.nextOffset;
    if (r.stop === 'end' && !(atEnd && got < want)) {
      pos += r.validEnd;
      continue;
    }
    if (r.stop !== 'truncated' || atEnd) return { validEnd: pos + r.validEnd, stop: r.stop, batches, nextOffset };
    // The chunk ended inside a batch: continue from that batch, with a bigger chunk when it does not fit.
    if (r.validEnd === 0) {
      const size = LOG_OVERHEAD + chunk.readInt32BE(BATCH_LENGTH);
      if (pos + size > end) return { validEnd: pos, stop: 'truncated', batches, nextOffset };
      chunk = Buffer.allocUnsafe(size);
    }
    pos += r.validEnd;
  }
  return { validEnd: pos, stop: 'end', batches, nextOffset };
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
  const baseOffset = Number(buf.readBigInt64BE(at + BASE_OFFSET));
  return {
    position: filePosition,
    size: LOG_OVERHEAD + buf.readInt32BE(at + BATCH_LENGTH),
    baseOffset,
    lastOffset: baseOffset + buf.readInt32BE(at + LAST_OFFSET_DELTA),
    maxTimestamp: Number(buf.readBigInt64BE(at + MAX_TIMESTAMP)),
    attributes: buf.readInt16BE(at + ATTRIBUTES),
  };
}
