/**
 * Removes deleted segment files and partition directories off the event loop, a large file a chunk at a time.
 *
 * Why: on ext4 mounted with online discard (this machine's disk), freeing a file's blocks discards them, at once
 * without a journal (the unlink waits for it) or in the next journal commit with one, and the fdatasyncs of every
 * other file queue behind those discards at the disk. Measured here (a 2 GiB file deleted while group commit in C
 * wrote 1 MiB x 200/s with fdatasync): one unlink took 0.5-0.6 s and put that writer's fdatasync p99 at 113-177 ms
 * (max 134-205); cutting the file 16 MiB at a time, 20 ms apart, left it at 6-14 ms, as with no deletion at all
 * (6-11 ms). Through the broker: bench/delete-under-load.ts.
 *
 * One queue for the whole data root, so deleting many segments or a topic of many partitions never frees more than
 * one chunk per interval. A removal stopped by close() leaves its file or directory under its `.deleted` or
 * `-delete` name, which the next start removes.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface FileRemoverOptions {
  /** Bytes cut from a file per step (ftruncate); files no larger are unlinked at once. 0: every file at once. */
  chunkBytes?: number;
  /** Pause after each step. */
  intervalMs?: number;
  /** Where a removal that failed is reported (it is never retried; the next start tries again). */
  warn?: (msg: string) => void;
}

/** The defaults of log.file.delete.chunk.bytes and log.file.delete.chunk.interval.ms (broker/config.ts): see above. */
export const DEFAULT_DELETE_CHUNK_BYTES = 16 * 1024 * 1024;
export const DEFAULT_DELETE_CHUNK_INTERVAL_MS = 20;

interface Job {
  target: string;
  done: (removed: boolean) => void;
}

export class FileRemover {
  readonly #chunkBytes: number;
  readonly #intervalMs: number;
  readonly #warn: (msg: string) => void;
  readonly #queue: Job[] = [];
  #running: Promise<void> | null = null;
  #stopped = false;
  #idleWaiters: Array<() => void> = [];
  /** Bytes freed so far and ftruncate steps taken (tests, logs). */
  bytesRemoved = 0;
  steps = 0;

  constructor(opts: FileRemoverOptions = {}) {
    this.#chunkBytes = opts.chunkBytes ?? DEFAULT_DELETE_CHUNK_BYTES;
    this.#intervalMs = opts.intervalMs ?? DEFAULT_DELETE_CHUNK_INTERVAL_MS;
    this.#warn = opts.warn ?? (() => {});
  }

  /**
   * Queues a file or a directory (with everything under it) for removal. Resolves true once it is gone, false when
   * the removal failed (reported through `warn`) or the remover was stopped first.
   */
  remove(target: string): Promise<boolean> {
    if (this.#stopped) return Promise.resolve(false);
    return new Promise((done) => {
      this.#queue.push({ target, done });
      if (!this.#running) this.#running = this.#drain();
    });
  }

  /** Files and directories queued or being removed (the metrics). */
  get pending(): number {
    return this.#queue.length + (this.#running ? 1 : 0);
  }

  /** Resolves once nothing is queued or being removed. */
  idle(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  /**
   * Stops after the current step; what is queued stays on disk (resolved false) for the next start to remove. Until
   * then a removal under way keeps the process running (its pause is an ordinary timer), so it ends with its work.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }

  async #drain(): Promise<void> {
    for (let job = this.#queue.shift(); job; job = this.#queue.shift()) {
      if (this.#stopped) {
        job.done(false);
        continue;
      }
      try {
        job.done(await this.#removeTarget(job.target));
      } catch (err) {
        this.#warn(`removing ${job.target}: ${(err as Error).message}`);
        job.done(false);
      }
    }
    this.#running = null;
    for (const r of this.#idleWaiters.splice(0)) r();
  }

  async #removeTarget(target: string): Promise<boolean> {
    let st: fs.Stats;
    try {
      st = await fs.promises.lstat(target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw err;
    }
    if (!st.isDirectory()) return this.#removeFile(target, st.size);
    for (const entry of await fs.promises.readdir(target, { withFileTypes: true })) {
      const full = path.join(target, entry.name);
      if (!(await this.#removeTarget(full))) return false;
    }
    if (this.#stopped) return false;
    await fs.promises.rm(target, { recursive: true, force: true });
    return true;
  }

  async #removeFile(file: string, size: number): Promise<boolean> {
    try {
      return await this.#cutAndUnlink(file, size);
    } catch (err) {
      // Gone meanwhile (removed by hand, or by a start-up cleanup of a directory queued twice).
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw err;
    }
  }

  async #cutAndUnlink(file: string, size: number): Promise<boolean> {
    const chunk = this.#chunkBytes;
    if (chunk > 0 && size > chunk) {
      // Sealed segments are read-only; the file is going anyway.
      await fs.promises.chmod(file, 0o600);
      const fh = await fs.promises.open(file, 'r+');
      try {
        while (size > chunk) {
          if (this.#stopped) return false;
          size -= chunk;
          await fh.truncate(size);
          this.bytesRemoved += chunk;
          this.steps++;
          await new Promise((r) => setTimeout(r, this.#intervalMs));
        }
      } finally {
        await fh.close();
      }
    }
    if (this.#stopped) return false;
    await fs.promises.rm(file, { force: true });
    this.bytesRemoved += size;
    return true;
  }
}
