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
 * - held durable writes: on such an engine, a small durable write (under 64 KiB, up to 128 KiB held) that arrives
 *   while an fdatasync is in flight needs the next fdatasync anyway, so it is held until the one in flight ends and
 *   then goes out with the others held, as one write carrying one fdatasync. Appends that arrive one per event-loop
 *   turn then cost one kernel submission (one io_uring worker wake-up, one completion) per fdatasync instead of one
 *   per append. Any other write (acks=1, a large one, the limit reached) first sends what is held, in order.
 *   Readers see held data once it is written, up to one fdatasync later; its producer waits for that one anyway.
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

interface HeldWrite {
  entry: PendingWrite;
  data: Buffer;
  position: number;
}

/** Durable writes of at least this many bytes are never held: their page-cache copy overlaps the fdatasync. */
const HOLD_MAX_WRITE = 64 * 1024;
/** At most this many bytes are held at once (they share one registered buffer's SQE on io_uring). */
const HOLD_MAX_BYTES = 128 * 1024;

export interface OffsetTrackerOptions {
  /** Hold small durable writes while an fdatasync is in flight (default true; false for A/B benchmarks). */
  holdDurableWrites?: boolean;
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
  /** Durable writes waiting for the fdatasync in flight to end (in offset order, none issued to the engine yet). */
  #held: HeldWrite[] = [];
  #heldBytes = 0;
  readonly #holdDurableWrites: boolean;

  constructor(
    engine: IoEngine,
    dir: string,
    logEndOffset: number,
    hooks: OffsetTrackerHooks,
    opts: OffsetTrackerOptions = {},
  ) {
    this.#engine = engine;
    this.#holdDurableWrites = opts.holdDurableWrites ?? true;
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
    const settled = new Promise<void>((resolve, reject) => {
      if (!durable) return void entry.waiters.push({ resolve, reject });
      const onWritten = () => {
        if (this.#offline) reject(this.#offline);
        else if (this.#flushed >= nextOffset) resolve();
        else this.#flushWaiters.push({ upTo: nextOffset, resolve, reject });
      };
      entry.waiters.push({ resolve: onWritten, reject });
    });
    // A durable write issued right behind a linked one (several appends in one event-loop turn) may ride on it: the
    // engine's fdatasync then covers both, so one fdatasync acknowledges the whole turn's appends. (Not past held
    // writes: they come first.)
    if (durable && this.#held.length === 0 && this.#join(entry, data, position)) return settled;
    // Otherwise, while an fdatasync is in flight, a small durable write waits for it to end (it needs the next
    // one anyway) and then goes to the kernel together with the others that waited, behind one fdatasync.
    if (durable && this.#canHold(data.length)) {
      this.#held.push({ entry, data, position });
      this.#heldBytes += data.length;
      return settled;
    }
    this.#releaseHeld(); // writes stay in offset order
    this.#issue(entry, data, position, durable);
    return settled;
  }

  #canHold(bytes: number): boolean {
    return (
      this.#holdDurableWrites &&
      this.#engine.joinLinkedSync !== undefined &&
      this.syncing &&
      bytes < HOLD_MAX_WRITE &&
      this.#heldBytes + bytes <= HOLD_MAX_BYTES
    );
  }

  /**
   * Sends the held durable writes to the engine, in order: the first carries an fdatasync when it can (#issue), the
   * others ride on it.
   */
  #releaseHeld(): void {
    if (this.#held.length === 0) return;
    const held = this.#held;
    this.#held = [];
    this.#heldBytes = 0;
    for (const h of held) if (!this.#join(h.entry, h.data, h.position)) this.#issue(h.entry, h.data, h.position, true);
  }

  /** Rides on the engine-issued fdatasync in flight (IoEngine.joinLinkedSync) when the engine takes it. */
  #join(entry: PendingWrite, data: Buffer, position: number): boolean {
    if (this.#linkedSyncs === 0) return false;
    const joined = this.#engine.joinLinkedSync?.(entry.segment.fd, data, position);
    if (!joined) return false;
    this.#pending.push(entry);
    this.#track(entry, joined);
    return true;
  }

  #issue(entry: PendingWrite, data: Buffer, position: number, durable: boolean): void {
    const segment = entry.segment;
    // Everything before this write is written and, apart from this segment's own data, flushed, and no fdatasync
    // is in flight (one at a time per partition): an fdatasync of this segment right behind the write covers all.
    const linked =
      durable &&
      this.#engine.writeAndSync !== undefined &&
      this.#pending.length === 0 &&
      !this.syncing &&
      this.#dirSyncs.length === 0 &&
      (this.#dirty.size === 0 || (this.#dirty.size === 1 && this.#dirty.has(segment)));
    this.#pending.push(entry);
    if (linked) {
      this.#track(entry, this.#engine.writeAndSync!(segment.fd, data, position));
      return;
    }
    this.#engine.write(segment.fd, data, position).then(
      () => this.#onWriteDone(entry),
      (err) => this.#onWriteFailed(entry, err),
    );
  }

  #onWriteFailed(entry: PendingWrite, err: unknown): void {
    entry.failed = true;
    entry.done = true;
    const e = storageErrorAt(err, 'write', entry.segment.logPath);
    this.fail(e, isOutOfSpace(e));
  }

  /** Follows a write that carries (or joined) an engine-issued fdatasync. */
  #track(entry: PendingWrite, op: { written: Promise<void>; synced: Promise<void> }): void {
    this.#linkedSyncs++;
    op.written.then(
      () => this.#onWriteDone(entry),
      (err) => this.#onWriteFailed(entry, err),
    );
    op.synced.then(
      () => {
        this.#linkedSyncs--;
        if (this.#offline || entry.failed) return;
        this.#hooks.onSynced?.();
        if (!this.syncing) this.#releaseHeld();
        // Usually `written` has reached it already; if not, #onWriteDone applies it when it does (and only then
        // may a round start: it would find nothing to flush before it).
        if (this.#written >= entry.nextOffset) this.#advanceFlushed(entry.nextOffset);
        else entry.linkedSynced = true;
      },
      (err) => {
        this.#linkedSyncs--;
        // A failed fdatasync is never recoverable (see the top of this file).
        if (!entry.failed) this.fail(storageErrorAt(err, 'fdatasync', entry.segment.logPath));
      },
    );
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
    if (firstFailed >= 0) for (const e of this.#pending.slice(firstFailed)) this.#reject(e, this.#offline);
    // Held writes never reached the engine: they fail with the rest (and are done: nothing will complete them).
    for (const { entry: e } of this.#held) {
      e.done = true;
      this.#reject(e, this.#offline);
    }
    this.#held = [];
    this.#heldBytes = 0;
    for (const w of this.#flushWaiters.splice(0)) w.reject(this.#offline);
    if (first) this.#hooks.onOffline(this.#offline);
  }

  #reject(e: PendingWrite, err: StorageError): void {
    e.failed = true;
    for (const w of e.waiters) w.reject(err);
    e.waiters = [];
    // Index entries for bytes that never became visible must not be found by lookups.
    e.segment.offsetIndex.truncateToPosition(e.segment.writtenPosition);
    e.segment.timeIndex.truncateToOffset(e.segment.writtenNextOffset);
  }

  /** Whether any write to `segment` has not completed yet. */
  hasPendingWrites(segment: LogSegment): boolean {
    return this.#pending.some((e) => e.segment === segment) || this.#held.some((h) => h.entry.segment === segment);
  }

  /** Whether every write issued so far has completed or failed. */
  allWritesSettled(): boolean {
    return this.#held.length === 0 && this.#pending.every((e) => e.done);
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
        this.#releaseHeld();
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
