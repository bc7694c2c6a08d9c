/**
 * One segment: `<base>.log` with its `.index` and `.timeindex`. The active segment is written through the I/O engine
 * by PartitionLog; this class places batches (positions advance synchronously), keeps the indexes, reads batch
 * headers back for lookups, rebuilds indexes (recover), and seals (trim, fsync, read-only).
 *
 * Positions: `appendPosition` is where the next batch goes; `writtenPosition` is how far the bytes are confirmed on
 * file (readers never see past it). A preallocated .log holds zeros past both.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  type BatchHeaderInfo,
  type BatchInfo,
  type FileScanResult,
  headerAt,
  readFully,
  type ScanResult,
  type ScanStop,
  scanLogFile,
  walkHeaders,
} from './batch-scanner.js';
import {
  DELETED_SUFFIX,
  INDEX_SUFFIX,
  LOG_SUFFIX,
  offsetFileName,
  TIME_INDEX_SUFFIX,
  TXN_INDEX_SUFFIX,
} from './file-names.js';
import { OffsetIndex } from './offset-index.js';
import { RecentBatches } from './recent-batches.js';
import { StorageError } from './storage-error.js';
import { TimeIndex } from './time-index.js';

const HEADER_READ = 61;
const WALK_CHUNK = 16 * 1024;

function readAsync(fd: number, buf: Buffer, length: number, position: number, file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buf, 0, length, position, (err, n) =>
      err ? reject(StorageError.from(err, 'read', file)) : resolve(n),
    );
  });
}

/** What LogSegment.recover() found: the scan result over the walked and the CRC-checked batches. */
export interface RecoverResult extends ScanResult {
  /** Where the CRC-checked scan started (after the header walk below the recovery point, if any). */
  scanFrom: number;
  /** Batches CRC-checked (`batches` also counts the walked ones). */
  checkedBatches: number;
  /** Why the header walk below the recovery point stopped early, or null (no walk, or it reached the point). */
  headerStop: ScanStop | null;
  /** Bytes of the .log read (headers, scan reads). */
  readBytes: number;
}

export interface SegmentIndexConfig {
  indexIntervalBytes: number;
  maxIndexSize: number;
}

export class LogSegment {
  readonly dir: string;
  readonly baseOffset: number;
  logPath: string;
  fd: number;
  readonly offsetIndex: OffsetIndex;
  readonly timeIndex: TimeIndex;
  readonly indexIntervalBytes: number;
  appendPosition = 0;
  writtenPosition = 0;
  /** Next offset after the appended / written batches. */
  nextOffset: number;
  writtenNextOffset: number;
  /** Largest batch maxTimestamp and the last offset of the batch that holds it (-1 when none). */
  maxTimestampSoFar = -1;
  offsetOfMaxTimestampSoFar = -1;
  /** When the segment was created (ms), for `segment.ms` when its batches carry no timestamp. */
  readonly createdMs: number;
  /** maxTimestamp of the first batch (for `segment.ms`, as Kafka's rollingBasedTimestamp), or -1. */
  firstBatchTimestamp = -1;
  sealed: boolean;
  /** Preallocation in flight (seal and close wait for it before trimming). */
  preallocating: Promise<void> = Promise.resolve();
  /** The .log is preallocated up to here (PartitionLog extends it in chunks as appends approach it). */
  preallocatedTo = 0;
  #bytesSinceLastIndexEntry = 0;
  deleted = false;
  /** Headers of the last batches placed: tail reads find their ranges without reading the file. */
  readonly recent = new RecentBatches();

  private constructor(
    dir: string,
    baseOffset: number,
    fd: number,
    offsetIndex: OffsetIndex,
    timeIndex: TimeIndex,
    cfg: SegmentIndexConfig,
    sealed: boolean,
    createdMs: number,
  ) {
    this.dir = dir;
    this.baseOffset = baseOffset;
    this.logPath = path.join(dir, offsetFileName(baseOffset) + LOG_SUFFIX);
    this.fd = fd;
    this.offsetIndex = offsetIndex;
    this.timeIndex = timeIndex;
    this.indexIntervalBytes = cfg.indexIntervalBytes;
    this.nextOffset = baseOffset;
    this.writtenNextOffset = baseOffset;
    this.sealed = sealed;
    this.createdMs = createdMs;
  }

  static filePaths(dir: string, baseOffset: number) {
    const stem = path.join(dir, offsetFileName(baseOffset));
    return {
      log: stem + LOG_SUFFIX,
      index: stem + INDEX_SUFFIX,
      timeIndex: stem + TIME_INDEX_SUFFIX,
      txnIndex: stem + TXN_INDEX_SUFFIX,
    };
  }

  /** A new, empty active segment (files created or emptied). */
  static create(dir: string, baseOffset: number, cfg: SegmentIndexConfig, nowMs: number): LogSegment {
    const p = LogSegment.filePaths(dir, baseOffset);
    let fd: number;
    try {
      fd = fs.openSync(p.log, 'w+', 0o644);
    } catch (err) {
      throw StorageError.from(err, 'open', p.log);
    }
    const oi = OffsetIndex.create(p.index, baseOffset, cfg.maxIndexSize);
    const ti = TimeIndex.create(p.timeIndex, baseOffset, cfg.maxIndexSize);
    return new LogSegment(dir, baseOffset, fd, oi, ti, cfg, false, nowMs);
  }

  /** An existing segment. Its positions and offsets are set by the loader (recover() or loadSealed()). */
  static open(dir: string, baseOffset: number, cfg: SegmentIndexConfig, sealed: boolean): LogSegment {
    const p = LogSegment.filePaths(dir, baseOffset);
    let fd: number;
    let mtime: number;
    try {
      if (!sealed) {
        const mode = fs.statSync(p.log).mode;
        if ((mode & 0o200) === 0) fs.chmodSync(p.log, 0o644);
      }
      fd = fs.openSync(p.log, sealed ? 'r' : 'r+');
      mtime = fs.fstatSync(fd).mtimeMs;
    } catch (err) {
      throw StorageError.from(err, 'open', p.log);
    }
    for (const f of [p.index, p.timeIndex]) {
      if (!fs.existsSync(f)) fs.writeFileSync(f, Buffer.alloc(0), { mode: sealed ? 0o444 : 0o644 });
      else if (!sealed && (fs.statSync(f).mode & 0o200) === 0) fs.chmodSync(f, 0o644);
    }
    const oi = OffsetIndex.open(p.index, baseOffset, cfg.maxIndexSize, sealed);
    const ti = TimeIndex.open(p.timeIndex, baseOffset, cfg.maxIndexSize, sealed);
    return new LogSegment(dir, baseOffset, fd, oi, ti, cfg, sealed, Math.floor(mtime));
  }

  /** Bytes readers can see. */
  get size(): number {
    return this.writtenPosition;
  }

  /** The largest timestamp in the segment (Kafka uses it for retention.ms), -1 when no batch has one. */
  get largestTimestamp(): number {
    return this.maxTimestampSoFar;
  }

  /** Places a batch at appendPosition: index entries every index.interval.bytes, as Kafka's LogSegment.append. */
  placeBatch(b: Omit<BatchHeaderInfo, 'position'>): void {
    if (this.firstBatchTimestamp < 0 && this.appendPosition === 0) this.firstBatchTimestamp = b.maxTimestamp;
    this.recent.push(this.appendPosition, b);
    this.#indexBatch(this.appendPosition, b.size, b.lastOffset, b.maxTimestamp);
    this.appendPosition += b.size;
    this.nextOffset = b.lastOffset + 1;
  }

  #indexBatch(position: number, size: number, lastOffset: number, maxTimestamp: number): void {
    if (maxTimestamp > this.maxTimestampSoFar) {
      this.maxTimestampSoFar = maxTimestamp;
      this.offsetOfMaxTimestampSoFar = lastOffset;
    }
    if (this.#bytesSinceLastIndexEntry > this.indexIntervalBytes) {
      this.offsetIndex.append(lastOffset, position);
      if (this.maxTimestampSoFar >= 0)
        this.timeIndex.maybeAppend(this.maxTimestampSoFar, this.offsetOfMaxTimestampSoFar);
      this.#bytesSinceLastIndexEntry = 0;
    }
    this.#bytesSinceLastIndexEntry += size;
  }

  /** Would a batch set of `bytes` ending at `lastOffset` still fit (relative offsets are u32, positions i32)? */
  canHold(bytes: number, lastOffset: number, segmentBytes: number): boolean {
    if (this.appendPosition === 0) return lastOffset - this.baseOffset <= 0xffffffff;
    return (
      this.appendPosition + bytes <= segmentBytes &&
      lastOffset - this.baseOffset <= 0xffffffff &&
      !this.offsetIndex.isFull() &&
      !this.timeIndex.isFull()
    );
  }

  /**
   * Scans the .log from `from` (a batch boundary; 0 rebuilds everything) with CRC checks, truncates it after the last
   * valid batch and rebuilds the indexes for the scanned part. Returns the scan result (validEnd, why it stopped).
   *
   * With `flushedBelow` (a recovery point), the batches from `from` that end below it are only walked by their
   * headers (61 bytes each; no body read, no CRC): a completed fdatasync covered them, so a crash cannot have torn
   * them. Their index entries are rebuilt from the headers, and the CRC-checked scan starts at the first batch that
   * reaches the recovery point. If the headers do not chain up to it (a bad index entry, garbage, a log shorter than
   * its recovery point), the result's headerStop says why, nothing after the walk is scanned, and the caller must
   * recover(0) instead.
   */
  recover(from = 0, opts: { logicalEnd?: number; flushedBelow?: number } = {}): RecoverResult {
    const end = opts.logicalEnd ?? fs.fstatSync(this.fd).size;
    this.recent.clear();
    let readBytes = 0;
    if (from === 0) {
      this.offsetIndex.truncateEntries(0);
      this.timeIndex.truncateEntries(0);
      this.maxTimestampSoFar = -1;
      this.offsetOfMaxTimestampSoFar = -1;
      this.firstBatchTimestamp = -1;
    } else {
      // Trust the indexes up to `from` and scan (or walk) from there.
      this.offsetIndex.truncateToPosition(from);
      const last = this.timeIndex.lastEntry();
      if (last) {
        this.maxTimestampSoFar = last.timestamp;
        this.offsetOfMaxTimestampSoFar = last.offset;
      }
      const head = Buffer.alloc(HEADER_READ);
      const got = readFully(this.fd, head, 0, HEADER_READ, 0, this.logPath);
      readBytes += got;
      if (got === HEADER_READ) this.firstBatchTimestamp = headerAt(head, 0, 0).maxTimestamp;
    }
    this.#bytesSinceLastIndexEntry = from === 0 ? 0 : this.indexIntervalBytes + 1;
    const onBatch = (b: BatchInfo) => {
      if (this.firstBatchTimestamp < 0 && b.position === 0) this.firstBatchTimestamp = b.maxTimestamp;
      this.recent.push(b.position, b);
      this.#indexBatch(b.position, b.size, b.lastOffset, b.maxTimestamp);
    };
    let scanFrom = from;
    let minOffset = this.baseOffset;
    let walked = 0;
    let headerStop: ScanStop | null = null;
    if (opts.flushedBelow !== undefined && opts.flushedBelow > this.baseOffset) {
      const w = walkHeaders(this.fd, from, end, { minOffset, untilOffset: opts.flushedBelow }, onBatch, this.logPath);
      readBytes += w.readBytes;
      walked = w.batches;
      scanFrom = w.position;
      minOffset = w.nextOffset;
      if (w.stop !== 'reached') headerStop = w.stop;
    }
    const scanned: FileScanResult =
      headerStop === null
        ? scanLogFile(this.fd, scanFrom, end, { verifyCrc: true, minOffset }, onBatch, this.logPath)
        : { validEnd: scanFrom, stop: headerStop, batches: 0, nextOffset: minOffset, readBytes: 0 };
    readBytes += scanned.readBytes;
    const batches = walked + scanned.batches;
    if (from > 0) this.timeIndex.truncateToOffset(scanned.nextOffset);
    this.appendPosition = scanned.validEnd;
    this.writtenPosition = scanned.validEnd;
    if (batches > 0 || from === 0) {
      this.nextOffset = batches > 0 ? scanned.nextOffset : this.baseOffset;
    }
    this.writtenNextOffset = this.nextOffset;
    return { ...scanned, batches, scanFrom, checkedBatches: scanned.batches, headerStop, readBytes };
  }

  /** Truncates the .log file to its valid end (after recover(), or to drop a preallocated tail). */
  truncateFileTo(size: number): void {
    try {
      if (fs.fstatSync(this.fd).size !== size) fs.ftruncateSync(this.fd, size);
    } catch (err) {
      throw StorageError.from(err, 'ftruncate', this.logPath);
    }
  }

  /** Writes rebuilt indexes to their files (after recover()). */
  persistIndexes(): void {
    for (const idx of [this.offsetIndex, this.timeIndex]) {
      const raw = idx.rawEntries();
      idx.replaceWith(raw, idx.entries);
    }
  }

  /**
   * A sealed segment loaded after a clean shutdown: its size is the file size, its next offset the next segment's
   * base offset (given by the loader), its largest timestamp the time index's last entry.
   */
  loadSealed(nextOffset: number): void {
    const size = fs.fstatSync(this.fd).size;
    this.appendPosition = size;
    this.writtenPosition = size;
    this.nextOffset = nextOffset;
    this.writtenNextOffset = nextOffset;
    const last = this.timeIndex.lastEntry();
    if (last) {
      this.maxTimestampSoFar = last.timestamp;
      this.offsetOfMaxTimestampSoFar = last.offset;
    }
  }

  /** Reads `length` bytes at `position` (copying path, tests). */
  async readBytes(position: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = await readAsync(this.fd, buf.subarray(done), length - done, position + done, this.logPath);
      if (n === 0)
        throw new StorageError(`short read of ${this.logPath} at ${position + done}`, { path: this.logPath });
      done += n;
    }
    return buf;
  }

  /**
   * Walks batch headers from `from` (a batch start) up to `end`, reading headers only. `visit` returns false to stop.
   * Returns the position where the walk stopped.
   */
  async walkBatches(from: number, end: number, visit: (b: BatchHeaderInfo) => boolean): Promise<number> {
    let pos = from;
    const chunk = Buffer.allocUnsafe(WALK_CHUNK);
    while (pos < end) {
      const len = Math.min(WALK_CHUNK, end - pos);
      const got = await readAsync(this.fd, chunk, len, pos, this.logPath);
      if (got < HEADER_READ) throw new StorageError(`batch header past the end of ${this.logPath} at ${pos}`);
      let at = 0;
      while (at + HEADER_READ <= got) {
        const h = headerAt(chunk, at, pos + at);
        if (h.size < HEADER_READ || h.position + h.size > end) {
          throw new StorageError(`invalid batch in ${this.logPath} at ${h.position}`, { path: this.logPath });
        }
        if (!visit(h)) return h.position;
        at += h.size;
        if (pos + at >= end) return end;
      }
      pos += at;
    }
    return pos;
  }

  /** The first batch at or after the index entry for `offset` whose last offset is >= offset, or null. */
  async findBatch(offset: number, end = this.writtenPosition): Promise<BatchHeaderInfo | null> {
    const cached = this.recent.findBatch(offset, end);
    if (cached !== undefined) return cached;
    const start = this.offsetIndex.lookup(offset);
    let found: BatchHeaderInfo | null = null;
    await this.walkBatches(Math.min(start.position, end), end, (b) => {
      if (b.lastOffset >= offset) {
        found = b;
        return false;
      }
      return true;
    });
    return found;
  }

  /** The last batch boundary at or before `cap` from `start` (a batch start), and the batches up to it. */
  async boundaryAtOrBefore(
    start: number,
    cap: number,
    end = this.writtenPosition,
  ): Promise<{ end: number; lastOffset: number; first: BatchHeaderInfo | null }> {
    const cached = this.recent.boundaryAtOrBefore(start, cap, end);
    if (cached) return cached;
    const entry = this.offsetIndex.lookupByPosition(cap);
    const from = Math.max(entry.position, start);
    let boundary = from;
    let lastOffset = -1;
    let first: BatchHeaderInfo | null = null;
    await this.walkBatches(from, end, (b) => {
      if (b.position === start) first = b;
      if (b.position + b.size > cap) {
        // The batch before this one (whose start is an index entry or a walked boundary) ends at `boundary`.
        if (lastOffset < 0) lastOffset = b.baseOffset - 1;
        return false;
      }
      boundary = b.position + b.size;
      lastOffset = b.lastOffset;
      return true;
    });
    return { end: boundary, lastOffset, first };
  }

  /** Kafka's onBecomeInactiveSegment: the time index's last entry holds the segment's largest timestamp. */
  #finalTimeIndexEntry(): void {
    if (this.maxTimestampSoFar >= 0) {
      const last = this.timeIndex.lastEntry();
      if (!last || last.timestamp < this.maxTimestampSoFar) {
        this.timeIndex.maybeAppend(this.maxTimestampSoFar, this.offsetOfMaxTimestampSoFar);
      }
    }
  }

  /**
   * Seals the segment once every write to it has completed: .log trimmed to its size and fdatasynced, indexes
   * trimmed, files made read-only. The fd stays open for reads.
   */
  async seal(fdatasync: (fd: number) => Promise<void>): Promise<void> {
    await this.preallocating.catch(() => {});
    this.truncateFileTo(this.writtenPosition);
    await fdatasync(this.fd);
    this.#finalTimeIndexEntry();
    await this.offsetIndex.trimWith(true, fdatasync);
    await this.timeIndex.trimWith(true, fdatasync);
    try {
      await fs.promises.chmod(this.logPath, 0o444);
    } catch (err) {
      throw StorageError.from(err, 'chmod', this.logPath);
    }
    this.sealed = true;
    this.recent.release();
  }

  /**
   * Clean close of the active segment: trims the preallocated tail of the .log and the indexes, fdatasyncs them
   * through `fdatasync` (the engine's, so that a broker closing many partitions at once overlaps their syncs).
   */
  async closeClean(fdatasync: (fd: number) => Promise<void>): Promise<void> {
    await this.preallocating.catch(() => {});
    if (!this.sealed) {
      this.truncateFileTo(this.writtenPosition);
      await this.offsetIndex.trimWith(false, fdatasync);
      await this.timeIndex.trimWith(false, fdatasync);
      await fdatasync(this.fd);
    }
    this.closeFiles();
  }

  closeFiles(): void {
    if (this.fd >= 0) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = -1;
    }
    this.offsetIndex.close();
    this.timeIndex.close();
  }

  /** Renames the files to `.deleted` (the first step of deletion); the fd stays usable for in-flight reads. */
  markDeleted(): string[] {
    const renamed: string[] = [];
    const files: Array<[string, (p: string) => void]> = [
      [this.logPath, (p) => (this.logPath = p)],
      [this.offsetIndex.path, (p) => this.offsetIndex.renameTo(p)],
      [this.timeIndex.path, (p) => this.timeIndex.renameTo(p)],
    ];
    for (const [from, apply] of files) {
      const to = from + DELETED_SUFFIX;
      try {
        if (from === this.logPath) fs.renameSync(from, to);
        apply(to);
        renamed.push(to);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw StorageError.from(err, 'rename', from);
      }
    }
    const txn = LogSegment.filePaths(this.dir, this.baseOffset).txnIndex;
    if (fs.existsSync(txn)) {
      fs.renameSync(txn, txn + DELETED_SUFFIX);
      renamed.push(txn + DELETED_SUFFIX);
    }
    this.deleted = true;
    return renamed;
  }

  /** Reads the whole valid part (tests, tools). */
  readAllSync(): Buffer {
    const buf = Buffer.allocUnsafe(this.writtenPosition);
    readFully(this.fd, buf, 0, this.writtenPosition, 0, this.logPath);
    return buf;
  }
}
