/**
 * A partition's three log end offsets, `flushed <= written <= appended` (Redpanda's offset_tracker), and the work
 * that moves them:
 * - appended: set when an append is placed (offsets assigned, positions reserved);
 * - written: advances over the contiguous prefix of completed writes (writes may complete out of order on io_uring),
 *   updating each segment's visible end;
 * - flushed: group commit. One round fdatasyncs every segment with completed writes (and waits for pending
 *   directory fsyncs), then covers everything written before it started; waiters arriving meanwhile batch into the
 *   next round.
 * After an I/O error the tracker is offline: every write from the first failed one on is rejected, even if it lands,
 * so nothing after a hole ever becomes visible. A write that failed for lack of space (ENOSPC, EDQUOT) leaves it
 * recoverable: once every write has settled, recover() forgets the failed writes and appends resume at `written`
 * (PartitionLog truncates the files first). A failed fdatasync is never recoverable: after it, the kernel may have
 * dropped dirty pages, so what is on disk is no longer known.
 */
import type { IoEngine } from './io/io-engine.js';
import type { LogSegment } from './log-segment.js';
import { StorageError } from './storage-error.js';

interface PendingWrite {
  segment: LogSegment;
  endPosition: number;
  nextOffset: number;
  done: boolean;
  failed: boolean;
  waiters: Array<{ resolve: () => void; reject: (e: Error) => void }>;
}

interface FlushWaiter {
  upTo: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

export interface OffsetTrackerHooks {
  /** `written` advanced (to seal rolled segments, apply the flush policy, wake fetches). */
  onWritten: () => void;
  /** The tracker went offline (first error only). */
  onOffline: (err: StorageError) => void;
}

export class OffsetTracker {
  readonly #engine: IoEngine;
  readonly #hooks: OffsetTrackerHooks;
  readonly #dir: string;
  #appended: number;
  #written: number;
  #flushed: number;
  #pending: PendingWrite[] = [];
  #flushWaiters: FlushWaiter[] = [];
  #syncing = false;
  #dirty = new Set<LogSegment>();
  #dirSyncs: Promise<void>[] = [];
  #offline: StorageError | null = null;
  #recoverable = false;

  constructor(engine: IoEngine, dir: string, logEndOffset: number, hooks: OffsetTrackerHooks) {
    this.#engine = engine;
    this.#dir = dir;
    this.#hooks = hooks;
    this.#appended = logEndOffset;
    this.#written = logEndOffset;
    this.#flushed = logEndOffset;
  }

  get appended(): number {
    return this.#appended;
  }
  get written(): number {
    return this.#written;
  }
  get flushed(): number {
    return this.#flushed;
  }
  get offline(): StorageError | null {
    return this.#offline;
  }
  /** Whether the error that took the tracker offline allows recover() (out of space, nothing else failed). */
  get recoverable(): boolean {
    return this.#offline !== null && this.#recoverable;
  }
  get syncing(): boolean {
    return this.#syncing;
  }

  #assert(): void {
    if (!(this.#flushed <= this.#written && this.#written <= this.#appended)) {
      throw new Error(
        `offset invariant broken: flushed ${this.#flushed} written ${this.#written} appended ${this.#appended}`,
      );
    }
  }

  /**
   * Writes `data` at `position` of the segment (already placed there, ending at `endPosition`, with offsets up to
   * `nextOffset`). Resolves when `written` covers it.
   */
  write(segment: LogSegment, data: Buffer, position: number, endPosition: number, nextOffset: number): Promise<void> {
    this.#appended = nextOffset;
    const entry: PendingWrite = { segment, endPosition, nextOffset, done: false, failed: false, waiters: [] };
    this.#pending.push(entry);
    const written = new Promise<void>((resolve, reject) => entry.waiters.push({ resolve, reject }));
    this.#engine.write(segment.fd, data, position).then(
      () => this.#onWriteDone(entry),
      (err) => {
        entry.failed = true;
        entry.done = true;
        const e = storageErrorAt(err, 'write', segment.logPath);
        this.fail(e, isOutOfSpace(e));
      },
    );
    return written;
  }

  #onWriteDone(entry: PendingWrite): void {
    entry.done = true;
    let advanced = false;
    while (this.#pending.length > 0 && this.#pending[0].done && !this.#pending[0].failed) {
      const e = this.#pending.shift()!;
      e.segment.writtenPosition = e.endPosition;
      e.segment.writtenNextOffset = e.nextOffset;
      this.#written = e.nextOffset;
      this.#dirty.add(e.segment);
      for (const w of e.waiters) w.resolve();
      advanced = true;
    }
    if (!advanced) return;
    this.#assert();
    this.#hooks.onWritten();
  }

  /**
   * Takes the partition offline for writes. `recoverable` (out of space) allows recover() later, unless another
   * error that is not arrives too.
   */
  fail(err: StorageError, recoverable = false): void {
    const first = !this.#offline;
    this.#recoverable = first ? recoverable : this.#recoverable && recoverable;
    this.#offline ??= err;
    const firstFailed = this.#pending.findIndex((e) => e.failed);
    if (firstFailed >= 0) {
      for (const e of this.#pending.slice(firstFailed)) {
        e.failed = true;
        for (const w of e.waiters) w.reject(this.#offline);
        e.waiters = [];
        // Index entries for bytes that never became visible must not be found by lookups.
        e.segment.offsetIndex.truncateToPosition(e.segment.writtenPosition);
        e.segment.timeIndex.truncateToOffset(e.segment.writtenNextOffset);
      }
    }
    for (const w of this.#flushWaiters.splice(0)) w.reject(this.#offline);
    if (first) this.#hooks.onOffline(this.#offline);
  }

  /** Whether any write to `segment` has not completed yet. */
  hasPendingWrites(segment: LogSegment): boolean {
    return this.#pending.some((e) => e.segment === segment);
  }

  /** Whether every write issued so far has completed or failed. */
  allWritesSettled(): boolean {
    return this.#pending.every((e) => e.done);
  }

  /** A directory fsync the next flush round must include (new segment files). */
  addDirSync(p: Promise<void>): void {
    p.catch(() => {});
    this.#dirSyncs.push(p);
  }

  async settleDirSyncs(): Promise<void> {
    await Promise.all(this.#dirSyncs.splice(0)).catch(() => {});
  }

  /** The segment is gone (its fd closes); it was fdatasynced when sealed. */
  forget(segment: LogSegment): void {
    this.#dirty.delete(segment);
  }

  /** Resolves once `flushed >= upTo`. */
  waitFlushed(upTo: number): Promise<void> {
    if (this.#flushed >= upTo) return Promise.resolve();
    if (this.#offline) return Promise.reject(this.#offline);
    return new Promise<void>((resolve, reject) => {
      this.#flushWaiters.push({ upTo, resolve, reject });
      this.#round();
    });
  }

  #round(): void {
    if (this.#syncing || this.#flushWaiters.length === 0 || this.#offline) return;
    this.#syncing = true;
    const target = this.#written;
    const segs = [...this.#dirty].filter((s) => s.fd >= 0);
    this.#dirty.clear();
    const dirSyncs = this.#dirSyncs.splice(0);
    Promise.all([...segs.map((s) => this.#engine.fdatasync(s.fd)), ...dirSyncs]).then(
      () => {
        this.#syncing = false;
        if (target > this.#flushed) this.#flushed = target;
        this.#assert();
        const still: FlushWaiter[] = [];
        for (const w of this.#flushWaiters) {
          if (w.upTo <= this.#flushed) w.resolve();
          else still.push(w);
        }
        this.#flushWaiters = still;
        this.#round();
      },
      (err) => {
        this.#syncing = false;
        this.fail(storageErrorAt(err, 'fdatasync', this.#dir));
      },
    );
  }

  // ---- recovery from a recoverable error (ENOSPC) -------------------------------------------------------------

  /** Whether recover() may run now: offline with a recoverable error, no write or fdatasync in flight. */
  canRecover(): boolean {
    return this.recoverable && !this.#syncing && this.allWritesSettled();
  }

  /**
   * Forgets the failed writes and accepts appends again from `written` (the caller has truncated the segment files
   * back to their written positions). Every pending entry is failed at this point: fail() fails every write after
   * the first failed one, and the completed writes before it were taken off the queue.
   */
  recover(): void {
    if (!this.canRecover()) throw new Error('recover() needs a recoverable error and no I/O in flight');
    this.#pending = [];
    this.#appended = this.#written;
    this.#offline = null;
    this.#recoverable = false;
    this.#assert();
  }
}

/** ENOSPC and EDQUOT: the disk or the quota is full; freeing space makes writes succeed again. */
export function isOutOfSpace(err: StorageError): boolean {
  return err.errno === 'ENOSPC' || err.errno === 'EDQUOT';
}

/** StorageError.from, but a StorageError without a path (engines do not know it) gets the file's path. */
function storageErrorAt(err: unknown, syscall: string, path: string): StorageError {
  const e = StorageError.from(err, syscall, path);
  if (e.path !== '' || path === '') return e;
  return new StorageError(`${e.message} on ${path}`, { errno: e.errno, syscall: e.syscall, path, cause: err });
}
