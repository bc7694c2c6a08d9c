/**
 * One partition's log (`<topic>-<partition>/`): append, read by offset and by timestamp, roll, seal, retention.
 *
 * Offsets (log end offsets) per partition, with `flushed <= written <= appended` asserted:
 * - appended: offsets assigned; positions in the active segment advance synchronously in append(), so concurrent
 *   appends never overlap;
 * - written: every write up to it has completed (writes may complete out of order; `written` advances only over a
 *   contiguous prefix). Readers see data up to `written`, never a half-written batch. For a single node this is the
 *   high watermark (the broker decides);
 * - flushed: covered by an fdatasync. Group commit: one fdatasync covers every write completed before it is issued;
 *   while one is in flight, later waiters batch into the next one.
 * An I/O error marks the partition offline for writes (appends fail with StorageError); reads of what was written
 * keep working. Out of space (ENOSPC, EDQUOT on a write or a roll) is retried: every OUT_OF_SPACE_RETRY_MS, once no
 * write is in flight, the partition drops the failed appends (the active segment is truncated back to its written
 * position, a segment rolled for them is removed) and takes appends again; if the disk is still full, the next
 * append fails the same way. Any other error (EIO, a failed fdatasync) keeps it offline until a restart.
 */
import fs from 'node:fs';
import { ErrorCode, KafkaError } from '../protocol/error-codes.js';
import {
  ATTR_TIMESTAMP_TYPE,
  ATTRIBUTES,
  BASE_OFFSET,
  CRC,
  MAX_TIMESTAMP,
  PARTITION_LEADER_EPOCH,
} from '../protocol/records/batch-header.js';
import { crc32c } from '../protocol/records/crc32c.js';
import { writeInt64Number } from '../protocol/wire/int64.js';
import { type BatchInfo, scanBuffer } from './batch-scanner.js';
import { fsyncDir, fsyncDirSync } from './file-names.js';
import { FileRemover } from './file-remover.js';
import type { IoEngine } from './io/io-engine.js';
import { LeaderEpochCache } from './leader-epoch-cache.js';
import { type LogConfig, logConfig } from './log-config.js';
import { loadLog } from './log-loader.js';
import { type FileRange, findOffsetByTimestamp, type ReadOptions, readRangeBytes, readRanges } from './log-reader.js';
import { retentionBreached, SegmentDeleter } from './log-retention.js';
import { LogSegment, type SegmentIndexConfig } from './log-segment.js';
import type { LogSegments } from './log-segments.js';
import { isOutOfSpace, OffsetTracker } from './offset-tracker.js';
import { SegmentPreallocator } from './segment-preallocator.js';
import { OffsetOutOfRangeError, StorageError } from './storage-error.js';

export type { FileRange, ReadOptions } from './log-reader.js';
export { PREALLOCATE_CHUNK } from './segment-preallocator.js';

export type Acks = 0 | 1 | -1;

/** How often a partition that ran out of space tries to take appends again. */
export const OUT_OF_SPACE_RETRY_MS = 1000;

export interface AppendOptions {
  /** 0 and 1 resolve when written, -1 when flushed (fdatasync). Default 1. */
  acks?: Acks;
  /** Stamped into each batch's partitionLeaderEpoch and recorded in leader-epoch-checkpoint. Default 0. */
  leaderEpoch?: number;
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** The timestamp written for LogAppendTime topics, -1 for CreateTime. */
  logAppendTime: number;
  logStartOffset: number;
}

export interface PartitionLogOptions {
  dir: string;
  topic: string;
  partition: number;
  engine: IoEngine;
  config?: Record<string, unknown> | LogConfig;
  clean?: boolean;
  recoveryPoint?: number;
  logStartOffset?: number;
  clock?: () => number;
  warn?: (msg: string) => void;
  /** OffsetTrackerOptions.holdDurableWrites (default true; A/B benchmarks turn it off). */
  holdDurableWrites?: boolean;
  /** Removes deleted segments' files; the log manager shares one over the data root. Default: one of this log's own. */
  remover?: FileRemover;
}

export class PartitionLog {
  readonly dir: string;
  readonly topic: string;
  readonly partition: number;
  readonly engine: IoEngine;
  readonly leaderEpochCache: LeaderEpochCache;
  #config: LogConfig;
  readonly #segments: LogSegments;
  readonly #clock: () => number;
  readonly #warn: (msg: string) => void;
  #logStartOffset: number;
  readonly #offsets: OffsetTracker;
  readonly #preallocator: SegmentPreallocator;
  #rolled: LogSegment[] = [];
  /** Rolled segments whose seal has not completed (rolled or sealing): recovery must scan them after a crash. */
  #unsealed = new Set<LogSegment>();
  #sealing = new Set<Promise<void>>();
  #flushTimer: NodeJS.Timeout | null = null;
  #recoveryTimer: NodeJS.Timeout | null = null;
  #closed = false;
  readonly #deleter: SegmentDeleter;
  readonly #writtenListeners = new Set<(logEndOffset: number) => void>();

  private constructor(
    o: PartitionLogOptions & { remover: FileRemover },
    segments: LogSegments,
    logStartOffset: number,
    leo: number,
  ) {
    this.dir = o.dir;
    this.topic = o.topic;
    this.partition = o.partition;
    this.engine = o.engine;
    this.#config = logConfig((o.config ?? {}) as Record<string, unknown>);
    this.#segments = segments;
    this.#clock = o.clock ?? Date.now;
    this.#warn = o.warn ?? (() => {});
    this.#logStartOffset = logStartOffset;
    this.#deleter = new SegmentDeleter(o.remover);
    this.#offsets = new OffsetTracker(
      o.engine,
      o.dir,
      leo,
      {
        onWritten: () => {
          this.#maybeSeal();
          this.#flushPolicy();
          for (const l of this.#writtenListeners) {
            try {
              l(this.#offsets.written);
            } catch (err) {
              this.#warn(`onWritten listener failed: ${(err as Error).message}`);
            }
          }
        },
        onOffline: (err) => this.#onOffline(err),
        onSynced: () => this.#preallocator.onSynced(this.#segments.active()),
      },
      { holdDurableWrites: o.holdDurableWrites },
    );
    this.#preallocator = new SegmentPreallocator(o.engine, this.#warn, () => this.#offsets.syncing);
    this.leaderEpochCache = new LeaderEpochCache(o.dir);
  }

  /** Opens (and recovers) the partition directory, creating it when missing. */
  static async open(o: PartitionLogOptions): Promise<PartitionLog> {
    const cfg = logConfig((o.config ?? {}) as Record<string, unknown>);
    const remover = o.remover ?? new FileRemover({ warn: o.warn });
    if (!fs.existsSync(o.dir)) {
      fs.mkdirSync(o.dir, { recursive: true });
      fsyncDirSync(o.dir);
    }
    const loaded = await loadLog({
      dir: o.dir,
      cfg: PartitionLog.#indexConfig(cfg),
      clean: o.clean ?? true,
      recoveryPoint: o.recoveryPoint ?? 0,
      logStartOffset: o.logStartOffset ?? 0,
      nowMs: (o.clock ?? Date.now)(),
      warn: o.warn,
      removeDeleted: (file) => void remover.remove(file),
    });
    const log = new PartitionLog({ ...o, remover }, loaded.segments, loaded.logStartOffset, loaded.logEndOffset);
    log.leaderEpochCache.truncateFromEnd(loaded.logEndOffset);
    log.leaderEpochCache.truncateFromStart(loaded.logStartOffset);
    log.recovery = loaded;
    log.#preallocate(loaded.segments.active());
    return log;
  }

  /** What recovery did at open (bytes truncated, segments deleted, indexes rebuilt). */
  recovery: {
    truncatedBytes: number;
    deletedSegments: number;
    rebuiltIndexes: number;
    /** Bytes CRC-checked, and bytes read from .log files in all (headers included). */
    scannedBytes: number;
    readBytes: number;
  } = { truncatedBytes: 0, deletedSegments: 0, rebuiltIndexes: 0, scannedBytes: 0, readBytes: 0 };

  static #indexConfig(cfg: LogConfig): SegmentIndexConfig {
    return { indexIntervalBytes: cfg['index.interval.bytes'], maxIndexSize: cfg['segment.index.bytes'] };
  }

  get config(): Readonly<LogConfig> {
    return this.#config;
  }

  /** Applies new topic configs (they take effect from the next append / retention pass / roll). */
  updateConfig(config: Record<string, unknown>): void {
    this.#config = logConfig(config);
  }

  get logStartOffset(): number {
    return this.#logStartOffset;
  }
  /** Log end offset of the appended data (offsets assigned). */
  get appendedOffset(): number {
    return this.#offsets.appended;
  }
  /** Log end offset readers can see; the high watermark on a single node. */
  get logEndOffset(): number {
    return this.#offsets.written;
  }
  get writtenOffset(): number {
    return this.#offsets.written;
  }
  get flushedOffset(): number {
    return this.#offsets.flushed;
  }
  /** The offset recovery can start from after a crash: flushed, and never inside a segment not yet sealed. */
  get recoveryPoint(): number {
    let rp = this.#offsets.flushed;
    for (const s of this.#unsealed) rp = Math.min(rp, s.baseOffset);
    return rp;
  }
  /** Null while writable; the error that took the partition offline for writes otherwise. */
  get offlineError(): StorageError | null {
    return this.#offsets.offline;
  }

  /**
   * Calls `listener` with the new log end offset whenever written data becomes visible (to wake delayed fetches
   * before acks=-1 appends resolve). Returns a function that removes the listener.
   */
  onWritten(listener: (logEndOffset: number) => void): () => void {
    this.#writtenListeners.add(listener);
    return () => this.#writtenListeners.delete(listener);
  }
  get segments(): readonly LogSegment[] {
    return this.#segments.all();
  }
  get sizeInBytes(): number {
    return this.#segments.sizeInBytes();
  }

  // ---- append -------------------------------------------------------------------------------------------------

  /**
   * Appends one or more validated record batches (a produce request's records). Offsets are assigned by patching
   * baseOffset and partitionLeaderEpoch in place; `batches` is written as it is and must not be modified until the
   * promise settles.
   */
  append(batches: Buffer, opts: AppendOptions = {}): Promise<AppendResult> {
    if (this.#closed) return Promise.reject(new StorageError(`partition ${this.topic}-${this.partition} is closed`));
    if (this.#offsets.offline) return Promise.reject(this.#offsets.offline);
    const infos: BatchInfo[] = [];
    const scan = scanBuffer(batches, 0, batches.length, { verifyCrc: false, ignoreOffsets: true }, (b) =>
      infos.push(b),
    );
    if (scan.stop !== 'end' || infos.length === 0) {
      return Promise.reject(new KafkaError(ErrorCode.CORRUPT_MESSAGE, `invalid record batches (${scan.stop})`));
    }
    if (batches.length > this.#config['segment.bytes']) {
      // Kafka's RecordBatchTooLargeException: the appended set must fit in one segment.
      return Promise.reject(
        new KafkaError(ErrorCode.RECORD_LIST_TOO_LARGE, `${batches.length} bytes do not fit in segment.bytes`),
      );
    }
    const leaderEpoch = opts.leaderEpoch ?? 0;
    const baseOffset = this.#offsets.appended;
    let next = baseOffset;
    let maxTimestamp = -1;
    for (const b of infos) {
      next += b.lastOffset - b.baseOffset + 1;
      if (b.maxTimestamp > maxTimestamp) maxTimestamp = b.maxTimestamp;
    }
    const lastOffset = next - 1;
    if (!Number.isSafeInteger(lastOffset)) {
      return Promise.reject(new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, 'offset overflow'));
    }

    let active = this.#segments.active();
    const now = this.#clock();
    const logAppendTime = this.#config['message.timestamp.type'] === 'LogAppendTime' ? now : -1;
    if (logAppendTime >= 0) maxTimestamp = logAppendTime;
    if (
      !active.canHold(batches.length, lastOffset, this.#config['segment.bytes']) ||
      this.#timeToRoll(active, now, maxTimestamp)
    ) {
      try {
        active = this.#roll(baseOffset, now);
      } catch (err) {
        const e = StorageError.from(err, 'roll', this.dir);
        this.#offsets.fail(e, isOutOfSpace(e));
        return Promise.reject(e);
      }
    }

    const position = active.appendPosition;
    next = baseOffset;
    for (const b of infos) {
      const at = b.position;
      const count = b.lastOffset - b.baseOffset + 1;
      writeInt64Number(batches, next, at + BASE_OFFSET);
      batches.writeInt32BE(leaderEpoch, at + PARTITION_LEADER_EPOCH);
      let maxTimestamp = b.maxTimestamp;
      let attributes = b.attributes;
      if (logAppendTime >= 0) {
        attributes |= ATTR_TIMESTAMP_TYPE;
        batches.writeInt16BE(attributes, at + ATTRIBUTES);
        writeInt64Number(batches, logAppendTime, at + MAX_TIMESTAMP);
        batches.writeUInt32BE(crc32c(batches, at + ATTRIBUTES, at + b.size), at + CRC);
        maxTimestamp = logAppendTime;
      }
      active.placeBatch({ size: b.size, baseOffset: next, lastOffset: next + count - 1, maxTimestamp, attributes });
      next += count;
    }
    if (leaderEpoch > this.leaderEpochCache.latestEpoch()) this.leaderEpochCache.assign(leaderEpoch, baseOffset);
    const acks = opts.acks ?? 1;
    // acks=-1 resolves when flushed covers it (group commit), the others when written does.
    const settled = this.#offsets.write(active, batches, position, active.appendPosition, next, acks === -1);
    // After the write: a preallocation that falls due behind this write's fdatasync waits for it.
    this.#preallocate(active);
    const result: AppendResult = { baseOffset, lastOffset, logAppendTime, logStartOffset: this.#logStartOffset };
    return settled.then(() => result);
  }

  /**
   * Kafka's time-based roll: the new batches' largest timestamp minus the segment's first batch timestamp (or, when
   * batches carry no timestamp, now minus the segment's creation time) exceeds segment.ms.
   */
  #timeToRoll(active: LogSegment, now: number, maxTimestamp: number): boolean {
    if (active.appendPosition === 0) return false;
    if (active.firstBatchTimestamp >= 0 && maxTimestamp >= 0) {
      return maxTimestamp - active.firstBatchTimestamp > this.#config['segment.ms'];
    }
    return now - active.createdMs > this.#config['segment.ms'];
  }

  /** Starts a new active segment at `baseOffset`; the old one seals once its writes complete. */
  #roll(baseOffset: number, now: number): LogSegment {
    const old = this.#segments.active();
    const seg = LogSegment.create(this.dir, baseOffset, PartitionLog.#indexConfig(this.#config), now);
    this.#segments.add(seg);
    // The new files' directory entries must be durable before anything in them counts as flushed; the next group
    // fdatasync waits for this instead of the append path.
    this.#offsets.addDirSync(fsyncDir(this.dir));
    this.#rolled.push(old);
    this.#unsealed.add(old);
    this.#maybeSeal();
    this.#preallocate(seg);
    return seg;
  }

  /** Preallocates the active segment ahead of its write position (storage/segment-preallocator.ts). */
  #preallocate(seg: LogSegment): void {
    if (this.#config.preallocate) this.#preallocator.maybeExtend(seg, this.#config['segment.bytes']);
  }

  /** Flushes everything written so far (background flushes, shutdown, tests). */
  flush(): Promise<void> {
    return this.#offsets.waitFlushed(this.#offsets.written);
  }

  /** flush.messages and flush.ms (Kafka's defaults never flush in the background; acks=-1 does). */
  #flushPolicy(): void {
    const unflushed = this.#offsets.written - this.#offsets.flushed;
    if (unflushed <= 0) return;
    if (unflushed >= this.#config['flush.messages']) {
      this.flush().catch(() => {});
      return;
    }
    const ms = this.#config['flush.ms'];
    if (this.#flushTimer === null && ms < 0x7fffffff) {
      this.#flushTimer = setTimeout(() => {
        this.#flushTimer = null;
        if (!this.#closed) this.flush().catch(() => {});
      }, ms);
      this.#flushTimer.unref();
    }
  }

  // ---- faults -------------------------------------------------------------------------------------------------

  /** One log line per partition going offline, with what an operator needs: the errno, the call and the file. */
  #onOffline(err: StorageError): void {
    const retry = this.#offsets.recoverable;
    this.#warn(
      `partition ${this.topic}-${this.partition} is offline for writes: ${err.errno || 'error'} in ` +
        `${err.syscall || 'write'} on ${err.path || this.dir}` +
        (retry ? `; retrying every ${OUT_OF_SPACE_RETRY_MS} ms once space is freed` : '; offline until restart') +
        ` (${err.message})`,
    );
    if (retry) this.#scheduleRecovery();
  }

  #scheduleRecovery(): void {
    if (this.#recoveryTimer || this.#closed) return;
    this.#recoveryTimer = setTimeout(() => {
      this.#recoveryTimer = null;
      this.#tryRecover();
    }, OUT_OF_SPACE_RETRY_MS);
    this.#recoveryTimer.unref();
  }

  /**
   * After ENOSPC: once every write and fdatasync has settled, truncates the log back to what was written and takes
   * appends again. Segments rolled for failed appends are removed (their base offset is past the log end), so the
   * previous segment becomes active again; its bytes past the written position (failed or rejected batches, a short
   * write) are cut off, as are index entries for them. Readers never saw any of it.
   */
  #tryRecover(): void {
    if (this.#closed || !this.#offsets.offline) return;
    if (!this.#offsets.recoverable) {
      this.#warn(`partition ${this.topic}-${this.partition} stays offline for writes: a later error is not retriable`);
      return;
    }
    if (!this.#offsets.canRecover() || this.#sealing.size > 0) {
      this.#scheduleRecovery();
      return;
    }
    const written = this.#offsets.written;
    try {
      let active = this.#segments.active();
      while (active.baseOffset > written && this.#rolled.length > 0) {
        this.#segments.remove(active);
        this.#offsets.forget(active);
        active.closeFiles();
        const p = LogSegment.filePaths(this.dir, active.baseOffset);
        for (const f of [p.log, p.index, p.timeIndex]) fs.rmSync(f, { force: true });
        fsyncDirSync(this.dir);
        const previous = this.#rolled.pop()!;
        this.#unsealed.delete(previous);
        active = this.#segments.active();
        if (active !== previous)
          throw new Error(`segment ${previous.baseOffset} is not the one before the removed one`);
      }
      if (active.baseOffset > written) throw new Error(`active segment ${active.baseOffset} starts past ${written}`);
      active.truncateFileTo(active.writtenPosition);
      active.appendPosition = active.writtenPosition;
      active.nextOffset = active.writtenNextOffset;
      active.preallocatedTo = Math.min(active.preallocatedTo, active.writtenPosition);
      if (active.offsetOfMaxTimestampSoFar >= active.writtenNextOffset) {
        const last = active.timeIndex.lastEntry();
        active.maxTimestampSoFar = last?.timestamp ?? -1;
        active.offsetOfMaxTimestampSoFar = last?.offset ?? -1;
      }
      if (active.writtenPosition === 0) active.firstBatchTimestamp = -1;
      this.leaderEpochCache.truncateFromEnd(written);
      this.#offsets.recover();
    } catch (err) {
      const e = StorageError.from(err, 'truncate', this.#segments.active().logPath);
      this.#warn(`partition ${this.topic}-${this.partition} stays offline for writes: recovery failed: ${e.message}`);
      this.#offsets.fail(e);
      return;
    }
    this.#warn(
      `partition ${this.topic}-${this.partition} is writable again at offset ${written} (after running out of space)`,
    );
    this.#maybeSeal();
  }

  /** Seals rolled segments whose writes have all completed. */
  #maybeSeal(): void {
    while (this.#rolled.length > 0) {
      const seg = this.#rolled[0];
      if (this.#offsets.hasPendingWrites(seg) || this.#offsets.offline) return;
      this.#rolled.shift();
      const p = seg
        .seal((fd) => this.engine.fdatasync(fd))
        .then(() => void this.#unsealed.delete(seg))
        .catch((err) => {
          // Out of space while writing the trimmed indexes: the segment's data is all written, so the seal is
          // retried after recovery. A failed fdatasync is not retried.
          const e = StorageError.from(err, 'seal', seg.logPath);
          const retry = isOutOfSpace(e) && e.syscall !== 'fdatasync';
          if (retry) this.#rolled.unshift(seg);
          this.#offsets.fail(e, retry);
        })
        .finally(() => this.#sealing.delete(p));
      this.#sealing.add(p);
    }
  }

  // ---- read ---------------------------------------------------------------------------------------------------

  #checkReadable(offset: number): void {
    if (!Number.isSafeInteger(offset) || offset < this.#logStartOffset || offset > this.#offsets.written) {
      throw new OffsetOutOfRangeError(
        offset,
        this.#logStartOffset,
        this.#offsets.written,
        `${this.topic}-${this.partition}`,
      );
    }
  }

  /**
   * File ranges holding the batches from the one containing `offset`, on batch boundaries, at most `maxBytes`
   * (but the first batch whole when minOneBatch), spanning segments when needed. Empty at the log end offset.
   * Throws OFFSET_OUT_OF_RANGE below the log start offset or past the log end offset.
   */
  async read(offset: number, maxBytes: number, opts: ReadOptions = {}): Promise<FileRange[]> {
    this.#checkReadable(offset);
    return readRanges(this.#segments, offset, this.#offsets.written, maxBytes, opts);
  }

  /** The bytes of a range (the copying path: TLS, no sendfile, tests). */
  readBytes(range: FileRange): Promise<Buffer> {
    return readRangeBytes(range);
  }

  /**
   * The first offset whose timestamp is >= `timestamp` (ListOffsets), with that record's timestamp, or null when
   * every record is older. Uses the time index, then scans from the indexed position.
   */
  readByTimestamp(timestamp: number): Promise<{ offset: number; timestamp: number } | null> {
    return findOffsetByTimestamp(this.#segments, timestamp, this.#logStartOffset);
  }

  // ---- retention ----------------------------------------------------------------------------------------------

  /**
   * Deletes whole sealed segments: below the log start offset, older than retention.ms (by their largest
   * timestamp), or beyond retention.bytes. Files are renamed to `.deleted` now and removed after
   * file.delete.delay.ms (in-flight reads keep their fd until then). Returns the number of segments deleted.
   */
  deleteOldSegments(now = this.#clock()): number {
    return this.#retain(now, false);
  }

  #retain(now: number, onlyLogStart: boolean): number {
    const ctx = {
      now,
      logStartOffset: this.#logStartOffset,
      retentionMs: onlyLogStart ? -1 : this.#config['retention.ms'],
      retentionBytes: onlyLogStart ? -1 : this.#config['retention.bytes'],
      totalBytes: this.#segments.sizeInBytes(),
    };
    let deleted = 0;
    for (;;) {
      const seg = this.#segments.first();
      if (!seg || seg === this.#segments.active() || !seg.sealed) break;
      const next = this.#segments.next(seg)!;
      if (!retentionBreached(seg, next, ctx)) break;
      ctx.totalBytes -= seg.size;
      this.#segments.remove(seg);
      // Sealing fdatasynced it; a flush must not touch its fd once it is closed.
      this.#offsets.forget(seg);
      this.#deleter.delete(seg, this.#config['file.delete.delay.ms']);
      if (next.baseOffset > this.#logStartOffset) this.#logStartOffset = next.baseOffset;
      deleted++;
    }
    if (deleted > 0) this.leaderEpochCache.truncateFromStart(this.#logStartOffset);
    return deleted;
  }

  /**
   * DeleteRecords: moves the log start offset to `offset` (at most the high watermark) and deletes sealed segments
   * entirely below it. Returns the new log start offset (the low watermark). The caller persists it
   * (LogManager.deleteRecordsBefore writes log-start-offset-checkpoint).
   */
  deleteRecordsBefore(offset: number): number {
    if (!Number.isSafeInteger(offset) || offset > this.#offsets.written) {
      throw new OffsetOutOfRangeError(
        offset,
        this.#logStartOffset,
        this.#offsets.written,
        `${this.topic}-${this.partition}`,
      );
    }
    if (offset > this.#logStartOffset) {
      this.#logStartOffset = offset;
      this.leaderEpochCache.truncateFromStart(offset);
      this.#retain(this.#clock(), true);
    }
    return this.#logStartOffset;
  }

  // ---- lifecycle ----------------------------------------------------------------------------------------------

  /** Waits until every append issued so far has been written (or failed). */
  async drain(): Promise<void> {
    while (!this.#offsets.allWritesSettled()) {
      await new Promise((r) => setImmediate(r));
    }
  }

  /**
   * Clean close: drains writes, flushes, seals rolled segments, trims the active segment's preallocated tail and
   * indexes, closes files. Pending deletions go to the remover now (a deletion it has not finished when the process
   * stops is finished at the next start).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#preallocator.cancel();
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    if (this.#recoveryTimer) clearTimeout(this.#recoveryTimer);
    await this.drain();
    if (!this.#offsets.offline) await this.flush().catch(() => {});
    await this.#offsets.settleDirSyncs();
    this.#maybeSeal();
    await Promise.all([...this.#sealing]);
    this.#deleter.finishAll();
    for (const seg of this.#segments) {
      if (seg === this.#segments.active() && !this.#offsets.offline)
        await seg.closeClean((fd) => this.engine.fdatasync(fd));
      else {
        await seg.preallocating.catch(() => {});
        seg.closeFiles();
      }
    }
  }

  /**
   * Drops the object as a crash would (tests): waits for in-flight I/O, then closes the files without flushing,
   * trimming or sealing. What is on disk is what a killed process leaves behind (the page cache survives).
   */
  async abandon(): Promise<void> {
    this.#closed = true;
    this.#preallocator.cancel();
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    if (this.#recoveryTimer) clearTimeout(this.#recoveryTimer);
    await this.drain();
    while (this.#offsets.syncing) await new Promise((r) => setImmediate(r));
    await this.#offsets.settleDirSyncs();
    await Promise.all([...this.#sealing]);
    this.#deleter.cancelAll();
    for (const seg of this.#segments) {
      await seg.preallocating.catch(() => {});
      seg.closeFiles();
    }
  }

  get closed(): boolean {
    return this.#closed;
  }
}
