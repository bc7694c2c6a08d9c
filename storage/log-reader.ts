/**
 * The read path: offsets to file byte ranges on batch boundaries (for sendfile/splice, or a copy), and timestamps to
 * offsets. Readers see each segment up to its written position only, never a batch still being written.
 */
import fs from 'node:fs';
import type { LogSegment } from './log-segment.js';
import type { LogSegments } from './log-segments.js';
import { readTimestampOffset } from './record-timestamps.js';
import { StorageError } from './storage-error.js';

/** A byte range of a segment file, starting and ending on batch boundaries. */
export interface FileRange {
  segmentFile: string;
  fd: number;
  position: number;
  length: number;
  firstOffset: number;
  lastOffset: number;
}

export interface ReadOptions {
  /** Return the first batch whole even when it is larger than maxBytes (Kafka's fetch for the first partition). */
  minOneBatch?: boolean;
}

function range(seg: LogSegment, start: number, end: number, firstOffset: number, lastOffset: number): FileRange {
  return { segmentFile: seg.logPath, fd: seg.fd, position: start, length: end - start, firstOffset, lastOffset };
}

/** See PartitionLog.read; `offset` has been checked against the log start and end offsets. */
export async function readRanges(
  segments: LogSegments,
  offset: number,
  logEndOffset: number,
  maxBytes: number,
  opts: ReadOptions,
): Promise<FileRange[]> {
  const ranges: FileRange[] = [];
  let remaining = maxBytes;
  let seg = segments.floor(offset);
  let target = offset;
  while (seg && target < logEndOffset) {
    const end = seg.writtenPosition;
    const first = end > 0 ? await seg.findBatch(target, end) : null;
    if (first) {
      const cap = first.position + Math.max(remaining, 0);
      if (cap < end) {
        // maxBytes ends inside this segment: stop at the last batch boundary before it.
        const b = await seg.boundaryAtOrBefore(first.position, cap, end);
        if (b.end > first.position) ranges.push(range(seg, first.position, b.end, first.baseOffset, b.lastOffset));
        else if (opts.minOneBatch && ranges.length === 0) {
          ranges.push(range(seg, first.position, first.position + first.size, first.baseOffset, first.lastOffset));
        }
        return ranges;
      }
      const r = range(seg, first.position, end, first.baseOffset, seg.writtenNextOffset - 1);
      ranges.push(r);
      remaining -= r.length;
      if (remaining <= 0) return ranges;
    }
    seg = segments.next(seg);
    if (seg) target = seg.baseOffset;
  }
  return ranges;
}

export async function readRangeBytes(r: FileRange): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(r.length);
  let done = 0;
  while (done < r.length) {
    const n = await new Promise<number>((resolve, reject) =>
      fs.read(r.fd, buf, done, r.length - done, r.position + done, (err, got) =>
        err ? reject(StorageError.from(err, 'read', r.segmentFile)) : resolve(got),
      ),
    );
    if (n === 0) throw new StorageError(`short read of ${r.segmentFile}`, { path: r.segmentFile });
    done += n;
  }
  return buf;
}

/** See PartitionLog.readByTimestamp. */
export async function findOffsetByTimestamp(
  segments: LogSegments,
  timestamp: number,
  logStartOffset: number,
): Promise<{ offset: number; timestamp: number } | null> {
  for (const seg of segments) {
    if (seg.writtenNextOffset <= logStartOffset || seg.writtenPosition === 0) continue;
    if (seg.largestTimestamp < timestamp) continue;
    const fromEntry = seg.timeIndex.lookup(timestamp);
    let startOffset = Math.max(fromEntry?.offset ?? seg.baseOffset, logStartOffset, seg.baseOffset);
    // An entry for a batch still being written: scan the segment's visible part instead.
    if (startOffset >= seg.writtenNextOffset) startOffset = seg.baseOffset;
    const from = seg.offsetIndex.lookup(startOffset).position;
    let found: { position: number; size: number } | null = null;
    await seg.walkBatches(Math.min(from, seg.writtenPosition), seg.writtenPosition, (b) => {
      if (b.lastOffset >= logStartOffset && b.maxTimestamp >= timestamp) {
        found = b;
        return false;
      }
      return true;
    });
    if (!found) continue;
    const f = found as { position: number; size: number };
    const hit = readTimestampOffset(await seg.readBytes(f.position, f.size), timestamp, logStartOffset);
    if (hit) return hit;
  }
  return null;
}
