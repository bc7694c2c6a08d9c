/**
 * A partition's three log end offsets, `flushed <= written <= appended` (Redpanda's offset_tracker), and the work
 * that moves them:
 * - appended: set when an append is placed (offsets assigned, positions reserved);
 * - written: advances over the contiguous prefix of completed writes (writes may complete out of order on io_uring),
 *   updating each segment's visible end;
 * - flushed: group commit. One round fdatasyncs every segment with completed writes (and waits for pending
 *   directory fsyncs), then covers everything written before it started; waiters arriving meanwhile batch into the
 *   next round, which starts the moment the previous one completes. At most one round is in flight. A durable
 *   (acks=-1) write issued while the partition has nothing else in flight and nothing else to flush has the engine
 *   fdatasync right behind it (IoEngine.writeAndSync: on io_uring linked behind the write in the kernel, so the
 *   worker that completes the write starts it, without a hop through JS), which covers everything up to that
 *   write: one wake-up per acknowledged append when appends come one at a time, and rounds take over as soon as
 *   they overlap. Durable writes issued right behind it in the same event-loop turn join it when the engine can
 *   (IoEngine.joinLinkedSync: on io_uring they ride on the same write SQE), so that fdatasync covers them too.
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
  /** Resolved when `written` covers the write (for acks=-1, the waiter then moves on to wait for `flushed`). */
  waiters: Array<{ resolve: () => void; reject: (e: Error) => void }>;
  /** Its engine-issued fdatasync (writeAndSync) completed before `written` reached it. */
  linkedSynced: boolean;
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
  /** An fdatasync completed, before the next one is issued (the gap where preallocation goes). */
  onSynced?: () => void;
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
  /** Engine-issued fdatasyncs in flight (writeAndSync, and the writes that joined one: joinLinkedSync). */
  #linkedSyncs = 0;
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
  /** A flush round or an engine-issued fdatasync is in flight. */
  get syncing(): boolean {
    return this.#syncing || this.#linkedSyncs > 0;
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
   * `nextOffset`). Resolves when `written` covers it, or with `durable` (acks=-1) when `flushed` does.
   */
  write(
    segment: LogSegment,
    data: Buffer,
    position: number,
    endPosition: number,
    nextOffset: number,
    durable = false,
  ): Promise<void> {
    // Everything before this write is written and, apart from this segment's own data, flushed, and no fdatasync
    // is in flight (one at a time per partition): an fdatasync of this segment right behind the write covers all.
    const linked =
      durable &&
      this.#engine.writeAndSync !== undefined &&
      this.#pending.length === 0 &&
      !this.#syncing &&
      this.#linkedSyncs === 0 &&
      this.#dirSyncs.length === 0 &&
      (this.#dirty.size === 0 || (this.#dirty.size === 1 && this.#dirty.has(segment)));
    this.#appended = nextOffset;
    const entry: PendingWrite = {
      segment,
      endPosition,
      nextOffset,
      done: false,
      failed: false,
      waiters: [],
      linkedSynced: false,
    };
    this.#pending.push(entry);
    const settled = new Promise<void>((resolve, reject) => {
      if (!durable) return void entry.waiters.push({ resolve, reject });
      const onWritten = () => {
        if (this.#offline) reject(this.#offline);
        else if (this.#flushed >= nextOffset) resolve();
        else this.#flushWaiters.push({ upTo: nextOffset, resolve, reject });
      };
      entry.waiters.push({ resolve: onWritten, reject });
    });
    const onWriteFailed = (err: unknown) => {
      entry.failed = true;
      entry.done = true;
      const e = storageErrorAt(err, 'write', segment.logPath);
      this.fail(e, isOutOfSpace(e));
    };
    // A durable write issued right behind a linked one (several appends in one event-loop turn) may ride on it: the
    // engine's fdatasync then covers both, so one fdatasync acknowledges the whole turn's appends.
    const joined =
      !linked && durable && this.#linkedSyncs > 0 ? this.#engine.joinLinkedSync?.(segment.fd, data, position) : null;
    if (!linked && !joined) {
      this.#engine.write(segment.fd, data, position).then(() => this.#onWriteDone(entry), onWriteFailed);
      return settled;
    }
    const { written, synced } = joined ?? this.#engine.writeAndSync!(segment.fd, data, position);
    this.#linkedSyncs++;
    written.then(() => this.#onWriteDone(entry), onWriteFailed);
    synced.then(
      () => {
        this.#linkedSyncs--;
        if (this.#offline || entry.failed) return;
        this.#hooks.onSynced?.();
        // Usually `written` has reached it already; if not, #onWriteDone applies it when it does (and only then
        // may a round start: it would find nothing to flush before it).
        if (this.#written >= nextOffset) this.#advanceFlushed(nextOffset);
        else entry.linkedSynced = true;
      },
      (err) => {
        this.#linkedSyncs--;
        // A failed fdatasync is never recoverable (see the top of this file).
        if (!entry.failed) this.fail(storageErrorAt(err, 'fdatasync', segment.logPath));
      },
    );
    return settled;
  }

  #onWriteDone(entry: PendingWrite): void {
    entry.done = true;
    let advanced = false;
    let linkedFlushed = -1;
    while (this.#pending.length > 0 && this.#pending[0].done && !this.#pending[0].failed) {
      const e = this.#pending.shift()!;
      e.segment.writtenPosition = e.endPosition;
      e.segment.writtenNextOffset = e.nextOffset;
      this.#written = e.nextOffset;
      this.#dirty.add(e.segment);
      for (const w of e.waiters) w.resolve();
      if (e.linkedSynced) linkedFlushed = e.nextOffset;
      advanced = true;
    }
    if (!advanced) return;
    this.#assert();
    this.#hooks.onWritten();
    if (linkedFlushed >= 0) this.#advanceFlushed(linkedFlushed);
    else this.#round();
  }

  /** `flushed` reaches `offset` (an engine-issued fdatasync covered it): wakes its waiters, starts what is left. */
  #advanceFlushed(offset: number): void {
    if (offset > this.#flushed) this.#flushed = offset;
    this.#assert();
    this.#wakeFlushed();
    this.#round();
  }

  /** Resolves, in one pass, every flush waiter `flushed` covers. */
  #wakeFlushed(): void {
    const flushed = this.#flushed;
    const waiters = this.#flushWaiters;
    let kept = 0;
    for (let i = 0; i < waiters.length; i++) {
      const w = waiters[i];
      if (w.upTo <= flushed) w.resolve();
      else waiters[kept++] = w;
    }
    waiters.length = kept;
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

  /**
   * Starts a flush round when a waiter needs one, no fdatasync is in flight (a round's or an engine-issued one:
   * one at a time, the next starts from the completion of the last), and something written is not flushed. No
   * timer: rounds start from write completions, waits and the previous fdatasync's completion.
   */
  #round(): void {
    if (this.#syncing || this.#linkedSyncs > 0 || this.#offline || this.#written <= this.#flushed) return;
    if (!this.#flushWaiters.some((w) => w.upTo > this.#flushed)) return;
    this.#syncing = true;
    const target = this.#written;
    const segs = [...this.#dirty].filter((s) => s.fd >= 0);
    this.#dirty.clear();
    const dirSyncs = this.#dirSyncs.splice(0);
    // completedOnly: every write up to `target` has completed; later ones are the next round's business.
    Promise.all([...segs.map((s) => this.#engine.fdatasync(s.fd, { completedOnly: true })), ...dirSyncs]).then(
      () => {
        this.#syncing = false;
        this.#hooks.onSynced?.();
        if (target > this.#flushed) this.#flushed = target;
        this.#assert();
        this.#wakeFlushed();
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
    return this.recoverable && !this.syncing && this.allWritesSettled();
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
