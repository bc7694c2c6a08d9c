/**
 * Loads a partition directory, as Kafka's LogLoader does:
 * 1. Clean up: `*.deleted` removed; `*.cleaned` removed; `*.swap` files at or after the smallest `.cleaned` offset
 *    removed (their cleaning never finished); index `.swap` files removed (indexes are rebuilt); a log `.swap`
 *    replaces the segments it covers and is renamed to `.log`. Index files without a `.log` are removed.
 * 2. Open the segments (all but the last sealed).
 * 3. Recover. After a clean shutdown: trust file sizes and checkpoints; check every index (size a multiple of the entry
 *    size, entries increasing, pointing inside the log) and rebuild a bad one; find the active segment's logical end
 *    from its last index entry plus a short CRC-checked scan. After an unclean stop: also scan with CRC checks
 *    everything after the recovery point, truncate at the first torn or corrupt batch, delete every later segment,
 *    and rebuild the scanned parts' indexes. In the segment holding the recovery point, recovery starts at the last
 *    indexed batch below it when that index entry matches the batch header on disk (at the segment's start when no
 *    entry is below it), walks the batch headers up to the recovery point (61 bytes a batch, no body, no CRC: those
 *    batches were flushed by a completed fdatasync, so a crash cannot have torn them), and CRC-checks in full only
 *    from the first batch reaching the recovery point: recovery reads the unflushed tail, not whole segments (one
 *    segment can hold a gigabyte). When the index entry does not match, or the headers do not chain up to the
 *    recovery point, the whole segment is CRC-checked instead (as Kafka recovers the recovery point's segment).
 *    Damage inside the body of a flushed batch is therefore not looked for (as Kafka does not in earlier segments):
 *    recovery removes what a crash can tear, and cutting the log at an acknowledged, flushed batch would drop it and
 *    everything after it; consumers check CRCs.
 *    Index files of the segments to recover are first cut to their well-formed entries: the active segment's are
 *    preallocated (sparse, zeros past the entries), and reading them whole would read megabytes per partition.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readInt64Number } from '../protocol/wire/int64.js';
import { headerAt, readFully, scanLogFile } from './batch-scanner.js';
import {
  baseOffsetOfFile,
  CLEANED_SUFFIX,
  DELETED_SUFFIX,
  fsyncDirSync,
  INDEX_SUFFIX,
  LOG_SUFFIX,
  SWAP_SUFFIX,
  TIME_INDEX_SUFFIX,
  TXN_INDEX_SUFFIX,
} from './file-names.js';
import { LogSegment, type SegmentIndexConfig } from './log-segment.js';
import { LogSegments } from './log-segments.js';
import { StorageError } from './storage-error.js';

export interface LoadParams {
  dir: string;
  cfg: SegmentIndexConfig;
  clean: boolean;
  /** Offset up to which the log is known flushed (from recovery-point-offset-checkpoint; 0 when unknown). */
  recoveryPoint: number;
  /** From log-start-offset-checkpoint (0 when unknown). */
  logStartOffset: number;
  nowMs: number;
  warn?: (msg: string) => void;
  /**
   * Takes leftover `.deleted` files (a removal a stop interrupted) for removal in the background (the log manager's
   * FileRemover), so a start does not wait for them; without it they are unlinked here.
   */
  removeDeleted?: (file: string) => void;
}

export interface LoadedLog {
  segments: LogSegments;
  logStartOffset: number;
  logEndOffset: number;
  /** Bytes dropped from .log files by recovery. */
  truncatedBytes: number;
  /** Segments deleted because an earlier segment was truncated. */
  deletedSegments: number;
  rebuiltIndexes: number;
  /** Bytes of .log scanned with CRC checks (the unflushed tails after an unclean stop; short after a clean one). */
  scannedBytes: number;
  /** Bytes read from .log files by the load (scans, batch headers, probes), for tests and benchmarks. */
  readBytes: number;
}

function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) =>
    fs.fdatasync(fd, (err) => (err ? reject(StorageError.from(err, 'fdatasync')) : resolve())),
  );
}

function unlinkQuiet(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw StorageError.from(err, 'unlink', file);
  }
}

const INDEX_SUFFIXES = [INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX];

function removeSegmentFiles(dir: string, base: number): void {
  const p = LogSegment.filePaths(dir, base);
  for (const f of [p.log, p.index, p.timeIndex, p.txnIndex]) unlinkQuiet(f);
}

/**
 * Step 1: temp files and swaps. Returns the base offsets of log files that need a full index rebuild, the directory's
 * names afterwards, and whether anything changed. The directory is read once, and again only after a change (a
 * clean start of a thousand partitions should not read each directory four times).
 */
function cleanUp(
  dir: string,
  removeDeleted?: (file: string) => void,
): { rebuild: Set<number>; names: string[]; changed: boolean } {
  let names = fs.readdirSync(dir);
  let changed = false;
  let minCleaned = Number.POSITIVE_INFINITY;
  const swaps: string[] = [];
  for (const name of names) {
    const full = path.join(dir, name);
    if (name.endsWith(DELETED_SUFFIX)) {
      // Either way no later step looks at the name: it ends in neither .log nor an index suffix.
      if (removeDeleted) removeDeleted(full);
      else {
        unlinkQuiet(full);
        changed = true;
      }
    } else if (name.endsWith(CLEANED_SUFFIX)) {
      const base = baseOffsetOfFile(name);
      if (base !== null) minCleaned = Math.min(minCleaned, base);
      unlinkQuiet(full);
      changed = true;
    } else if (name.endsWith(SWAP_SUFFIX)) swaps.push(name);
  }
  const rebuild = new Set<number>();
  if (swaps.length > 0) changed = true;
  for (const name of swaps) {
    const full = path.join(dir, name);
    const base = baseOffsetOfFile(name);
    const inner = name.slice(0, -SWAP_SUFFIX.length);
    if (base === null || base >= minCleaned || INDEX_SUFFIXES.some((s) => inner.endsWith(s))) {
      unlinkQuiet(full);
      continue;
    }
    if (!inner.endsWith(LOG_SUFFIX)) continue;
    // A finished swap: the new segment replaces every segment whose base offset falls in its offset range.
    const fd = fs.openSync(full, 'r');
    let next: number;
    try {
      next = scanLogFile(fd, 0, fs.fstatSync(fd).size, { verifyCrc: true, minOffset: base }).nextOffset;
    } finally {
      fs.closeSync(fd);
    }
    for (const other of fs.readdirSync(dir)) {
      const ob = baseOffsetOfFile(other);
      if (ob !== null && other.endsWith(LOG_SUFFIX) && ob >= base && ob < next) removeSegmentFiles(dir, ob);
    }
    for (const s of INDEX_SUFFIXES) unlinkQuiet(path.join(dir, inner.slice(0, -LOG_SUFFIX.length) + s));
    fs.renameSync(full, path.join(dir, inner));
    rebuild.add(base);
  }
  // Index files without their .log.
  if (changed) names = fs.readdirSync(dir);
  const logs = new Set<number>();
  for (const name of names) {
    const base = baseOffsetOfFile(name);
    if (base !== null && name.endsWith(LOG_SUFFIX)) logs.add(base);
  }
  let orphans = false;
  for (const name of names) {
    const base = baseOffsetOfFile(name);
    if (base !== null && INDEX_SUFFIXES.some((s) => name.endsWith(s)) && !logs.has(base)) {
      unlinkQuiet(path.join(dir, name));
      orphans = true;
    }
  }
  if (orphans) names = fs.readdirSync(dir);
  return { rebuild, names, changed: changed || orphans };
}

const HEADER_READ = 61;
const INDEX_TRIM_CHUNK = 64 * 1024;

/**
 * Cuts an index file of a segment about to be recovered to its leading run of well-formed entries (offset index:
 * relative offsets and positions increasing, positions above 0; time index: timestamps increasing, offsets not
 * decreasing), reading only that run and one chunk past it (4 KiB first, doubling up to 64 KiB). Sealed (read-only) files were trimmed when sealed.
 */
function trimIndexFile(file: string, kind: 'offset' | 'time'): void {
  const entrySize = kind === 'offset' ? 8 : 12;
  let fd: number;
  try {
    if ((fs.statSync(file).mode & 0o200) === 0) return;
    fd = fs.openSync(file, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw StorageError.from(err, 'open', file);
  }
  try {
    const size = fs.fstatSync(fd).size;
    // Small first read (a partition's index usually holds a few entries), growing up to INDEX_TRIM_CHUNK.
    let chunk = Buffer.allocUnsafe(4096 - (4096 % entrySize));
    let count = 0;
    let prevKey = -1;
    let prevValue = -1;
    let pos = 0;
    scan: while (pos + entrySize <= size) {
      const got = readFully(fd, chunk, 0, Math.min(chunk.length, size - pos), pos, file);
      for (let at = 0; at + entrySize <= got; at += entrySize) {
        // Offset index: key relative offset, value position. Time index: key timestamp, value relative offset.
        const key = kind === 'offset' ? chunk.readUInt32BE(at) : readInt64Number(chunk, at);
        const value = chunk.readUInt32BE(at + (kind === 'offset' ? 4 : 8));
        const ok =
          kind === 'offset'
            ? value > Math.max(prevValue, 0) && (count === 0 || key > prevKey)
            : count === 0
              ? key !== 0 || value !== 0
              : key > prevKey && value >= prevValue;
        if (!ok) break scan;
        count++;
        prevKey = key;
        prevValue = value;
      }
      if (got < chunk.length) break;
      pos += got;
      if (chunk.length < INDEX_TRIM_CHUNK) chunk = Buffer.allocUnsafe(chunk.length * 2);
    }
    if (count * entrySize < size) fs.ftruncateSync(fd, count * entrySize);
  } catch (err) {
    throw StorageError.from(err, 'ftruncate', file);
  } finally {
    fs.closeSync(fd);
  }
}

/** Bytes read from .log files during one load (LoadedLog.readBytes). */
interface ReadCount {
  bytes: number;
}

/**
 * Where the unclean recovery of the segment holding the recovery point starts walking headers: the start of the
 * last indexed batch that ends below the recovery point (flushed, hence intact), when the index entry matches that
 * batch's header on disk and the indexes up to it are well-formed, or 0 when no index entry is below the recovery
 * point. Null when the indexes cannot be trusted: the whole segment is then CRC-checked. Time index entries past
 * that batch are dropped (they may describe lost writes).
 */
function recoveryStart(seg: LogSegment, recoveryPoint: number, read: ReadCount): number | null {
  if (recoveryPoint <= seg.baseOffset) return 0;
  const fileSize = fs.fstatSync(seg.fd).size;
  if (seg.offsetIndex.check(fileSize) !== null) return null;
  const entry = seg.offsetIndex.lookup(recoveryPoint - 1);
  // No index entry below the recovery point (the segment holds less than an index interval before it): walk from 0.
  if (entry.position === 0) return 0;
  if (entry.position + HEADER_READ > fileSize) return null;
  const head = Buffer.alloc(HEADER_READ);
  const got = readFully(seg.fd, head, 0, HEADER_READ, entry.position, seg.logPath);
  read.bytes += got;
  if (got < HEADER_READ) return null;
  const h = headerAt(head, 0, entry.position);
  if (h.lastOffset !== entry.offset || h.baseOffset < seg.baseOffset || h.size < HEADER_READ) return null;
  if (entry.position + h.size > fileSize) return null;
  seg.timeIndex.truncateToOffset(entry.offset + 1);
  if (seg.timeIndex.check(entry.offset + 1) !== null) return null;
  return entry.position;
}

/**
 * Clean load of the active segment, as Kafka's: walks the batch headers from `from` (the last index entry's batch)
 * to the end of the file, reading 61 bytes a batch and no CRC (the clean shutdown fdatasynced and trimmed the file),
 * and sets the segment's end, next offset and largest timestamp. Returns false, changing nothing, when the headers
 * do not chain exactly to the end of the file; the caller then scans with CRC checks.
 */
function loadActiveClean(seg: LogSegment, from: number, read: ReadCount): boolean {
  const size = fs.fstatSync(seg.fd).size;
  if (size === 0 || from >= size) return false;
  const head = Buffer.alloc(HEADER_READ);
  const indexed = seg.offsetIndex.entries > 0 ? seg.offsetIndex.lastEntry() : null;
  const lastTime = seg.timeIndex.lastEntry();
  let maxTimestamp = lastTime?.timestamp ?? -1;
  let offsetOfMaxTimestamp = lastTime?.offset ?? -1;
  let nextOffset = seg.baseOffset;
  let pos = from;
  while (pos < size) {
    if (pos + HEADER_READ > size) return false;
    const got = readFully(seg.fd, head, 0, HEADER_READ, pos, seg.logPath);
    read.bytes += got;
    if (got < HEADER_READ || head[16] !== 2) return false;
    const h = headerAt(head, 0, pos);
    if (h.size < HEADER_READ || pos + h.size > size || h.lastOffset < h.baseOffset || h.baseOffset < nextOffset) {
      return false;
    }
    if (pos === from && indexed && from > 0 && h.lastOffset !== indexed.offset) return false;
    if (h.maxTimestamp > maxTimestamp) {
      maxTimestamp = h.maxTimestamp;
      offsetOfMaxTimestamp = h.lastOffset;
    }
    nextOffset = h.lastOffset + 1;
    pos += h.size;
  }
  const got = readFully(seg.fd, head, 0, HEADER_READ, 0, seg.logPath);
  read.bytes += got;
  if (got < HEADER_READ) return false;
  seg.firstBatchTimestamp = headerAt(head, 0, 0).maxTimestamp;
  seg.appendPosition = size;
  seg.writtenPosition = size;
  seg.nextOffset = nextOffset;
  seg.writtenNextOffset = nextOffset;
  seg.maxTimestampSoFar = maxTimestamp;
  seg.offsetOfMaxTimestampSoFar = offsetOfMaxTimestamp;
  return true;
}

/** Why a segment's indexes cannot be trusted, or null. */
function indexProblem(seg: LogSegment, logSize: number, nextOffset: number): string | null {
  for (const [idx, entrySize] of [
    [seg.offsetIndex, 8],
    [seg.timeIndex, 12],
  ] as const) {
    const size = fs.statSync(idx.path).size;
    if (size % entrySize !== 0) return `${idx.path}: size ${size} is not a multiple of ${entrySize}`;
  }
  const o = seg.offsetIndex.check(logSize);
  if (o) return `${seg.offsetIndex.path}: ${o}`;
  if (seg.offsetIndex.entries > 0 && seg.offsetIndex.lastOffset >= nextOffset) {
    return `${seg.offsetIndex.path}: last offset past the segment`;
  }
  const t = seg.timeIndex.check(nextOffset);
  return t ? `${seg.timeIndex.path}: ${t}` : null;
}

/** Whether the bytes at `position` are zeros (a preallocated tail rather than a torn write). */
function zeroTailAt(seg: LogSegment, position: number, read: ReadCount): boolean {
  const probe = Buffer.alloc(61);
  const n = fs.readSync(seg.fd, probe, 0, probe.length, position);
  read.bytes += n;
  return n > 0 && probe.subarray(0, n).every((b) => b === 0);
}

/** A stop on zeros at the end of a non-last segment whose successor starts where it ends: a preallocated tail. */
function isZeroTail(
  seg: LogSegment,
  validEnd: number,
  next: LogSegment | undefined,
  nextOffset: number,
  read: ReadCount,
): boolean {
  if (!next || next.baseOffset !== nextOffset) return false;
  return zeroTailAt(seg, validEnd, read);
}

export async function loadLog(p: LoadParams): Promise<LoadedLog> {
  const warn = p.warn ?? (() => {});
  const { rebuild: rebuildAll, names, changed } = cleanUp(p.dir, p.removeDeleted);
  const bases = names
    .filter((n) => n.endsWith(LOG_SUFFIX))
    .map((n) => baseOffsetOfFile(n))
    .filter((b): b is number => b !== null)
    .sort((a, b) => a - b);

  const segments = new LogSegments();
  const result: LoadedLog = {
    segments,
    logStartOffset: p.logStartOffset,
    logEndOffset: 0,
    truncatedBytes: 0,
    deletedSegments: 0,
    rebuiltIndexes: 0,
    scannedBytes: 0,
    readBytes: 0,
  };
  const read: ReadCount = { bytes: 0 };
  if (bases.length === 0) {
    segments.add(LogSegment.create(p.dir, p.logStartOffset, p.cfg, p.nowMs));
    fsyncDirSync(p.dir);
    result.logEndOffset = p.logStartOffset;
    return result;
  }

  // Unclean: every segment from the one holding the recovery point is scanned.
  let firstUnflushed = 0;
  if (!p.clean) {
    for (let i = 0; i < bases.length; i++) if (bases[i] <= p.recoveryPoint) firstUnflushed = i;
  } else firstUnflushed = bases.length - 1;

  const opened: LogSegment[] = [];
  // Segments sealed by Berth are read-only on disk: a writable non-last segment was rolled but not sealed.
  const wasSealed = new Set<number>();
  // A rolled segment whose seal did not finish still has its preallocated tail (zeros) and must be scanned and
  // trimmed even below the recovery point: its batches are flushed, but its file size is not its size.
  const unsealed = (i: number): boolean => i < bases.length - 1 && !wasSealed.has(bases[i]);
  for (let i = 0; i < bases.length; i++) {
    const files = LogSegment.filePaths(p.dir, bases[i]);
    if ((fs.statSync(files.log).mode & 0o222) === 0) wasSealed.add(bases[i]);
    if (!fs.existsSync(files.index) || !fs.existsSync(files.timeIndex)) rebuildAll.add(bases[i]);
    const writable = i >= firstUnflushed || rebuildAll.has(bases[i]) || unsealed(i);
    if (!p.clean && writable) {
      trimIndexFile(files.index, 'offset');
      trimIndexFile(files.timeIndex, 'time');
    }
    opened.push(LogSegment.open(p.dir, bases[i], p.cfg, !writable));
  }

  for (let i = 0; i < opened.length; i++) {
    const seg = opened[i];
    const next = opened[i + 1];
    const last = i === opened.length - 1;
    const scan = (!p.clean && i >= firstUnflushed) || unsealed(i);
    if (!scan && !last && !rebuildAll.has(seg.baseOffset)) {
      seg.loadSealed(next.baseOffset);
      const problem = indexProblem(seg, seg.size, next.baseOffset);
      if (!problem) continue;
      warn(`rebuilding indexes of ${seg.logPath}: ${problem}`);
      // Rebuilding writes the index files: reopen the segment writable; it is sealed again below.
      seg.closeFiles();
      opened[i] = LogSegment.open(p.dir, seg.baseOffset, p.cfg, false);
      rebuildAll.add(seg.baseOffset);
      i--;
      continue;
    }
    let from = 0;
    if (!scan && last && !rebuildAll.has(seg.baseOffset)) {
      const size = fs.fstatSync(seg.fd).size;
      const problem = indexProblem(seg, size, Number.MAX_SAFE_INTEGER);
      if (problem) warn(`rebuilding indexes of ${seg.logPath}: ${problem}`);
      else {
        from = seg.offsetIndex.lastEntry().position;
        // Indexes checked and the headers chain to the end of the file: nothing to scan or rewrite.
        if (loadActiveClean(seg, from, read)) continue;
      }
    }
    // In the segment holding the recovery point, the flushed batches below it are walked by their headers only.
    let flushedBelow: number | undefined;
    if (scan && i === firstUnflushed && !rebuildAll.has(seg.baseOffset)) {
      const start = recoveryStart(seg, p.recoveryPoint, read);
      if (start === null) warn(`${seg.logPath}: index does not match the log; recovering the whole segment`);
      else {
        from = start;
        flushedBelow = p.recoveryPoint;
      }
    }
    let r = seg.recover(from, { flushedBelow });
    result.scannedBytes += r.validEnd - r.scanFrom;
    read.bytes += r.readBytes;
    // After a clean stop the tail after the index entry must end cleanly; after an unclean one the headers of the
    // flushed batches must chain up to the recovery point.
    const bad =
      flushedBelow === undefined ? from > 0 && (r.batches === 0 || (!scan && r.stop !== 'end')) : r.headerStop !== null;
    if (bad) {
      const what = flushedBelow === undefined ? `tail after the index entry at ${from}` : 'flushed part';
      warn(`${seg.logPath}: ${what} is not clean (${r.stop} at ${r.validEnd}); rescanning the segment`);
      r = seg.recover(0);
      result.scannedBytes += r.validEnd;
      read.bytes += r.readBytes;
      from = 0;
    }
    if (from === 0) result.rebuiltIndexes++;
    const fileSize = fs.fstatSync(seg.fd).size;
    if (r.stop !== 'end' && !last && isZeroTail(seg, r.validEnd, next, r.nextOffset, read)) {
      r.stop = 'end';
    }
    if (fileSize > r.validEnd) {
      if (seg.sealed) {
        // A sealed segment needs truncating: reopen it writable.
        seg.closeFiles();
        const reopened = LogSegment.open(p.dir, seg.baseOffset, p.cfg, false);
        opened[i] = reopened;
        i--;
        continue;
      }
      if (r.stop !== 'end' && !zeroTailAt(seg, r.validEnd, read)) {
        warn(`${seg.logPath}: ${r.stop} at position ${r.validEnd}, truncating ${fileSize - r.validEnd} bytes`);
        result.truncatedBytes += fileSize - r.validEnd;
      }
      seg.truncateFileTo(r.validEnd);
    }
    seg.persistIndexes();
    // A rolled segment that was not sealed when the process stopped, ending before the next segment's base offset:
    // its last writes never landed (the file ends on a batch boundary), so everything after it is unacknowledged.
    const lostTail = scan && !last && !wasSealed.has(seg.baseOffset) && r.nextOffset < next.baseOffset;
    if (lostTail) warn(`${seg.logPath}: ends at offset ${r.nextOffset}, before the next segment (${next.baseOffset})`);
    if ((r.stop !== 'end' || lostTail) && !last) {
      for (const later of opened.splice(i + 1)) {
        later.closeFiles();
        removeSegmentFiles(p.dir, later.baseOffset);
        result.deletedSegments++;
      }
      warn(`${seg.logPath}: deleted ${result.deletedSegments} later segment(s) after a corrupt batch`);
    }
  }

  // Every segment but the last is sealed (trimmed, read-only); a recovered one may not be yet.
  for (let i = 0; i < opened.length - 1; i++) {
    if (!opened[i].sealed) await opened[i].seal(fdatasyncAsync);
  }
  const last = opened[opened.length - 1];
  if (last.sealed) {
    last.closeFiles();
    const reopened = LogSegment.open(p.dir, last.baseOffset, p.cfg, false);
    read.bytes += reopened.recover(0).readBytes;
    opened[opened.length - 1] = reopened;
  }
  for (const s of opened) segments.add(s);
  const active = segments.active();
  result.logEndOffset = active.nextOffset;
  result.logStartOffset = Math.max(p.logStartOffset, segments.first()!.baseOffset);
  if (result.logEndOffset < result.logStartOffset) {
    // Recovery cut the log below its start: start over, empty, at the log start offset (as Kafka does).
    for (const s of opened) {
      s.closeFiles();
      removeSegmentFiles(p.dir, s.baseOffset);
      segments.remove(s);
    }
    segments.add(LogSegment.create(p.dir, result.logStartOffset, p.cfg, p.nowMs));
    result.logEndOffset = result.logStartOffset;
  }
  if (!p.clean) {
    try {
      fs.fdatasyncSync(segments.active().fd);
    } catch (err) {
      throw StorageError.from(err, 'fdatasync', segments.active().logPath);
    }
  }
  // The directory entries changed only if something was cleaned up, truncated, deleted or rebuilt.
  const touched = changed || result.rebuiltIndexes > 0 || result.deletedSegments > 0 || result.truncatedBytes > 0;
  if (!p.clean || touched) fsyncDirSync(p.dir);
  result.readBytes = read.bytes;
  return result;
}
