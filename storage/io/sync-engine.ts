/**
 * The portable I/O engine: fs.write and fs.fdatasync on the libuv thread pool. Short writes are completed here.
 * fallocate goes through the native addon's synchronous call when there is one; otherwise preallocation is skipped
 * (writing zeros would cost as much as the data itself).
 */
import fs from 'node:fs';
import { loadStorageNative } from '../native-hooks.js';
import { StorageError } from '../storage-error.js';
import { FALLOC_FL_KEEP_SIZE, type IoEngine } from './io-engine.js';

type FallocateSync = (fd: number, mode: number, offset: number, length: number) => void;

function writeOnce(fd: number, data: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.write(fd, data, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

export class SyncEngine implements IoEngine {
  readonly name = 'sync' as const;
  readonly #fallocateSync: FallocateSync | null;
  #submitted = 0;
  #completed = 0;
  #bytesWritten = 0;
  #idle: Array<() => void> = [];

  constructor(opts: { fallocateSync?: FallocateSync | null } = {}) {
    this.#fallocateSync = opts.fallocateSync ?? null;
  }

  /** True when fallocate really preallocates (the native addon is there). */
  get preallocates(): boolean {
    return this.#fallocateSync !== null;
  }

  async write(fd: number, data: Buffer, position: number): Promise<void> {
    this.#submitted++;
    try {
      let done = 0;
      while (done < data.length) {
        const n = await writeOnce(fd, data, done, data.length - done, position + done);
        if (n <= 0) throw Object.assign(new Error('write returned 0 bytes'), { code: 'EIO', syscall: 'write' });
        done += n;
        this.#bytesWritten += n;
      }
    } catch (err) {
      throw StorageError.from(err, 'write');
    } finally {
      this.#settle();
    }
  }

  // No writeAndSync: on the libuv pool it would only save a promise hop, and it measured slower (1 KiB acks=-1,
  // 8 appenders: 1.2-1.8 MiB/s and 206-227 CPU s/GiB with it, 1.9 and 128-163 without; bench/results-storage.md).

  /** fs.fdatasync never waits for writes still on the pool: they count as not issued yet (`opts` changes nothing). */
  fdatasync(fd: number, _opts?: { completedOnly?: boolean }): Promise<void> {
    this.#submitted++;
    return new Promise((resolve, reject) => {
      fs.fdatasync(fd, (err) => {
        this.#settle();
        if (err) reject(StorageError.from(err, 'fdatasync'));
        else resolve();
      });
    });
  }

  async fallocate(fd: number, offset: number, length: number, keepSize: boolean): Promise<void> {
    if (!this.#fallocateSync || length <= 0) return;
    this.#submitted++;
    try {
      this.#fallocateSync(fd, keepSize ? FALLOC_FL_KEEP_SIZE : 0, offset, length);
    } catch (err) {
      throw StorageError.from(err, 'fallocate');
    } finally {
      this.#settle();
    }
  }

  stats(): { submitted: number; completed: number; inFlight: number; bytesWritten: number } {
    return {
      submitted: this.#submitted,
      completed: this.#completed,
      inFlight: this.#submitted - this.#completed,
      bytesWritten: this.#bytesWritten,
    };
  }

  async close(): Promise<void> {
    if (this.#submitted === this.#completed) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  #settle(): void {
    this.#completed++;
    if (this.#submitted === this.#completed && this.#idle.length > 0) {
      const waiters = this.#idle;
      this.#idle = [];
      for (const w of waiters) w();
    }
  }
}

/** A sync engine that preallocates through the native addon when it is built. */
export async function openSyncEngine(): Promise<SyncEngine> {
  const native = await loadStorageNative();
  return new SyncEngine({ fallocateSync: native?.fallocateSync ?? null });
}
