/**
 * Fault injection for tests: wraps an engine and fails the N-th write or fdatasync (1-based, counted from creation)
 * with ENOSPC or EIO, as a full or failing disk would. A failed write may still have written a prefix of its data
 * (`partialBytes`), which is what a real short write followed by an error leaves behind. With `pathIncludes`, only
 * operations on files whose path contains it count and fail (one partition's directory: `/<topic>-<partition>/`).
 *
 * The broker wraps its engine in one (with an empty plan, so nothing fails) only when the environment variable
 * BERTH_FAULT_INJECTION=1 is set at start-up; a test then sets `plan` on `broker.logs.engine`. No request or
 * config reaches it.
 */
import { readlinkSync } from 'node:fs';
import { StorageError } from '../storage-error.js';
import type { IoEngine } from './io-engine.js';

/** The environment variable that makes openIoEngine wrap the engine in a FaultyEngine. */
export const FAULT_INJECTION_ENV = 'BERTH_FAULT_INJECTION';

export interface FaultPlan {
  failWrite?: number;
  failFdatasync?: number;
  errno?: 'ENOSPC' | 'EIO';
  /** Bytes of the failing write that reach the file before the error (default 0). */
  partialBytes?: number;
  /** Fail every operation of that kind from the N-th on, not only the N-th (a disk that stays broken). */
  sticky?: boolean;
  /** Only operations on files whose path contains this string count (and fail). */
  pathIncludes?: string;
}

export class FaultyEngine implements IoEngine {
  readonly name;
  readonly inner: IoEngine;
  plan: FaultPlan;
  writes = 0;
  fdatasyncs = 0;

  constructor(inner: IoEngine, plan: FaultPlan = {}) {
    this.inner = inner;
    this.name = inner.name;
    this.plan = plan;
  }

  #fails(count: number, at: number | undefined): boolean {
    if (at === undefined) return false;
    return this.plan.sticky ? count >= at : count === at;
  }

  /** Whether an operation on `fd` is one the plan counts (every one without pathIncludes). */
  #targets(fd: number): boolean {
    const want = this.plan.pathIncludes;
    if (want === undefined) return true;
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).includes(want);
    } catch {
      return false;
    }
  }

  #error(syscall: string): StorageError {
    const errno = this.plan.errno ?? 'EIO';
    return new StorageError(`${syscall} failed: ${errno} (injected)`, { errno, syscall });
  }

  async write(fd: number, data: Buffer, position: number): Promise<void> {
    if (!this.#targets(fd)) return this.inner.write(fd, data, position);
    this.writes++;
    if (this.#fails(this.writes, this.plan.failWrite)) {
      const partial = Math.min(this.plan.partialBytes ?? 0, data.length);
      if (partial > 0) await this.inner.write(fd, data.subarray(0, partial), position);
      throw this.#error('write');
    }
    return this.inner.write(fd, data, position);
  }

  async fdatasync(fd: number): Promise<void> {
    if (!this.#targets(fd)) return this.inner.fdatasync(fd);
    this.fdatasyncs++;
    if (this.#fails(this.fdatasyncs, this.plan.failFdatasync)) throw this.#error('fdatasync');
    return this.inner.fdatasync(fd);
  }

  fallocate(fd: number, offset: number, length: number, keepSize: boolean): Promise<void> {
    return this.inner.fallocate(fd, offset, length, keepSize);
  }

  stats(): { submitted: number; completed: number; inFlight: number; bytesWritten: number } {
    return this.inner.stats();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
