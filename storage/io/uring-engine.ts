/**
 * The 'uring' storage I/O engine: the process's io_uring (native/index.ts) behind the IoEngine promises.
 * Writes are copied once into registered buffers and written with WRITE_FIXED, except large ones (directWriteMin,
 * 64 KiB by default), which the kernel reads from the caller's Buffer with IORING_OP_WRITE: a buffered write is
 * copied into the page cache either way, so the pool copy is pure cost there. All writes issued in one event-loop
 * iteration reach the kernel in one io_uring_enter. fdatasync(fd) first waits for the writes to that fd that were
 * issued before it (io_uring itself does not order an FSYNC after writes still in flight), so one fdatasync covers
 * every write queued before it, which is what group commit needs.
 */
import { loadNative, type NativeAddon, type NativeRing, nativeLoadError } from '../../native/index.js';
import { StorageError } from '../storage-error.js';
import { FALLOC_FL_KEEP_SIZE, type IoEngine } from './io-engine.js';

export interface UringEngineOptions {
  /** Submission queue slots (default 256). */
  entries?: number;
  /** Registered buffers (default 16). Registered memory counts against RLIMIT_MEMLOCK for unprivileged users. */
  bufferCount?: number;
  /** Bytes per registered buffer, a multiple of 4096 (default 256 KiB). Larger writes are split over buffers. */
  bufferSize?: number;
  /** Writes of at least this many bytes go from the caller's Buffer without the copy into the pool (IORING_OP_WRITE);
   *  0 turns that off. Default URING_DEFAULTS.directWriteMin. */
  directWriteMin?: number;
  /** writeAndSync sends the fdatasync to the kernel linked behind the write (IOSQE_IO_LINK; default true). */
  linkedSync?: boolean;
  /** Small writes continuing the previous one in the same submission share its SQE (default true; RingOptions). */
  coalesceWrites?: boolean;
  /** The addon to use (default loadNative()); tests pass their own. */
  native?: NativeAddon | null;
}

/** io_uring cannot be used here: not Linux, addon not built, kernel too old, seccomp, or BERTH_DISABLE_IO_URING. */
export class IoUringUnavailableError extends StorageError {
  readonly reason: string;
  constructor(reason: string, fields: { errno?: string; syscall?: string; cause?: unknown } = {}) {
    super(`io_uring is unavailable: ${reason}`, fields);
    this.name = 'IoUringUnavailableError';
    this.reason = reason;
  }
}

/** Promise.withResolvers (Node 22+) for Node 20. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export const URING_DEFAULTS = {
  entries: 256,
  bufferCount: 16,
  bufferSize: 256 * 1024,
  // 1 MiB appends, 8 appenders, acks=1: 0.42 CPU s/GiB from the caller's Buffer against 0.72 through the pool
  // (bench/results-storage.md); at 16 KiB the copy is lost in the per-append cost either way.
  directWriteMin: 64 * 1024,
} as const;

export class UringEngine implements IoEngine {
  readonly name = 'uring' as const;
  private readonly ring: NativeRing;
  private submitted = 0;
  private completed = 0;
  private bytesWritten = 0;
  /** Writes not yet completed, per fd, so that an fdatasync can wait for the ones issued before it. */
  private readonly writesByFd = new Map<number, Set<Promise<void>>>();
  private closing: Promise<void> | null = null;

  constructor(ring: NativeRing) {
    this.ring = ring;
  }

  write(fd: number, data: Buffer, position: number): Promise<void> {
    if (this.closing) return Promise.reject(new StorageError('the uring engine is closed', { syscall: 'write' }));
    const length = data.length;
    const pending = this.pendingWrites(fd);
    // Forgotten from the completion callback itself, not from a then(): one promise and two closures less per
    // append. 0: being issued, 1: in flight (tracked), 2: completed (a ring may call back before writeFixed returns).
    let state = 0;
    let p: Promise<void> | null = null;
    p = this.op('write', (cb) => {
      this.ring.writeFixed(fd, data, position, (err) => {
        if (state === 1 && p) this.forget(fd, pending, p);
        state = 2;
        if (!err) this.bytesWritten += length;
        cb(err);
      });
      if (state === 0) state = 1;
    });
    if (state === 1) pending.add(p);
    else this.forget(fd, pending, p);
    return p;
  }

  /**
   * The fdatasync follows the write without a hop through JS (NativeRing.writeFixed's syncCb): linked behind it in
   * the kernel, or issued by the ring from the write's completion.
   */
  writeAndSync(fd: number, data: Buffer, position: number): { written: Promise<void>; synced: Promise<void> } {
    return this.syncedWrite(fd, data.length, (cb, syncCb) => {
      this.ring.writeFixed(fd, data, position, cb, syncCb);
      return true;
    })!;
  }

  /** Rides on the ring's latest linked write + fdatasync to `fd` (NativeRing.joinSync), or null. */
  joinLinkedSync(fd: number, data: Buffer, position: number): { written: Promise<void>; synced: Promise<void> } | null {
    return this.syncedWrite(fd, data.length, (cb, syncCb) => this.ring.joinSync(fd, data, position, cb, syncCb));
  }

  /**
   * A write and its fdatasync as two promises; `start` hands both callbacks to the ring, false if it took neither
   * (then nothing is allocated: joinLinkedSync is tried on every acks=-1 append while an fdatasync is in flight).
   */
  private syncedWrite(
    fd: number,
    length: number,
    start: (cb: (err: Error | null) => void, syncCb: (err: Error | null) => void) => boolean,
  ): { written: Promise<void>; synced: Promise<void> } | null {
    if (this.closing) {
      const e = new StorageError('the uring engine is closed', { syscall: 'write' });
      return { written: Promise.reject(e), synced: Promise.reject(e) };
    }
    // Made once the ring has taken the callbacks: it never calls them before start() returns.
    let w!: ReturnType<typeof deferred>;
    let s!: ReturnType<typeof deferred>;
    try {
      const started = start(
        (err) => {
          this.completed++;
          if (err) return w.reject(StorageError.from(err, 'write'));
          this.bytesWritten += length;
          w.resolve();
        },
        (err) => {
          this.completed++;
          if (err) s.reject(StorageError.from(err, 'fdatasync'));
          else s.resolve();
        },
      );
      if (!started) return null;
    } catch (e) {
      // Refused before reaching the ring: bad arguments stay what they are (a bug), anything else is storage.
      this.submitted += 2;
      this.completed += 2;
      const err = e instanceof TypeError || e instanceof RangeError ? e : StorageError.from(e, 'write');
      return { written: Promise.reject(err), synced: Promise.reject(err) };
    }
    this.submitted += 2;
    w = deferred();
    s = deferred();
    this.track(fd, w.promise);
    return { written: w.promise, synced: s.promise };
  }

  private track(fd: number, p: Promise<void>): void {
    const pending = this.pendingWrites(fd);
    pending.add(p);
    const forget = () => this.forget(fd, pending, p);
    p.then(forget, forget);
  }

  private pendingWrites(fd: number): Set<Promise<void>> {
    let set = this.writesByFd.get(fd);
    if (!set) {
      set = new Set();
      this.writesByFd.set(fd, set);
    }
    return set;
  }

  private forget(fd: number, pending: Set<Promise<void>>, p: Promise<void>): void {
    pending.delete(p);
    if (pending.size === 0 && this.writesByFd.get(fd) === pending) this.writesByFd.delete(fd);
  }

  async fdatasync(fd: number, opts: { completedOnly?: boolean } = {}): Promise<void> {
    if (this.closing) throw new StorageError('the uring engine is closed', { syscall: 'fdatasync' });
    const before = opts.completedOnly ? undefined : this.writesByFd.get(fd);
    if (before) await Promise.allSettled([...before]);
    return this.op('fdatasync', (cb) => this.ring.fdatasync(fd, cb));
  }

  fallocate(fd: number, offset: number, length: number, keepSize: boolean): Promise<void> {
    if (this.closing) return Promise.reject(new StorageError('the uring engine is closed', { syscall: 'fallocate' }));
    const mode = keepSize ? FALLOC_FL_KEEP_SIZE : 0;
    return this.op('fallocate', (cb) => this.ring.fallocate(fd, mode, offset, length, cb));
  }

  /** UringEngineOptions.linkedSync for the writes issued from now on (A/B benchmarks). */
  setLinkedSync(on: boolean): void {
    this.ring.setLinkedSync(on);
  }

  /** UringEngineOptions.coalesceWrites for the writes issued from now on (A/B benchmarks). */
  setCoalesceWrites(on: boolean): void {
    this.ring.setCoalesceWrites(on);
  }

  stats(): { submitted: number; completed: number; inFlight: number; bytesWritten: number } {
    return {
      submitted: this.submitted,
      completed: this.completed,
      inFlight: this.submitted - this.completed,
      bytesWritten: this.bytesWritten,
    };
  }

  close(): Promise<void> {
    this.closing ??= this.ring.close();
    return this.closing;
  }

  private op(syscall: string, start: (cb: (err: Error | null) => void) => void): Promise<void> {
    this.submitted++;
    return new Promise<void>((resolve, reject) => {
      try {
        start((err) => {
          this.completed++;
          if (err) reject(StorageError.from(err, syscall));
          else resolve();
        });
      } catch (e) {
        // Refused before reaching the ring: bad arguments stay what they are (a bug), anything else is storage.
        this.completed++;
        reject(e instanceof TypeError || e instanceof RangeError ? e : StorageError.from(e, syscall));
      }
    });
  }
}

/**
 * Creates the process's io_uring and an engine on it. Throws IoUringUnavailableError (a StorageError) when io_uring
 * cannot be used, so the caller can fall back to the 'sync' engine and log why.
 */
export function createUringEngine(opts: UringEngineOptions = {}): UringEngine {
  const native = opts.native === undefined ? loadNative() : opts.native;
  if (!native) throw new IoUringUnavailableError(nativeLoadError() ?? 'the native addon is not loaded');
  const caps = native.probe();
  if (!caps.ioUring) throw new IoUringUnavailableError(caps.reason ?? 'io_uring_setup failed', { errno: 'ENOSYS' });
  let ring: NativeRing;
  try {
    ring = native.createRing({
      entries: opts.entries ?? URING_DEFAULTS.entries,
      bufferCount: opts.bufferCount ?? URING_DEFAULTS.bufferCount,
      bufferSize: opts.bufferSize ?? URING_DEFAULTS.bufferSize,
      directWriteMin: opts.directWriteMin ?? URING_DEFAULTS.directWriteMin,
      linkedSync: opts.linkedSync ?? true,
      coalesceWrites: opts.coalesceWrites ?? true,
    });
  } catch (e) {
    if (e instanceof TypeError || e instanceof RangeError) throw e;
    const err = e as { code?: string; syscall?: string; message?: string };
    const hint = err.code === 'ENOMEM' ? ' (registered buffers count against RLIMIT_MEMLOCK: raise ulimit -l)' : '';
    throw new IoUringUnavailableError(`${err.message ?? String(e)}${hint}`, {
      errno: err.code,
      syscall: err.syscall,
      cause: e,
    });
  }
  return new UringEngine(ring);
}
