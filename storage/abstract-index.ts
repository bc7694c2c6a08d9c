/**
 * What OffsetIndex and TimeIndex share: fixed-size big-endian entries, sorted, searched by binary search.
 *
 * Storage of the entries:
 * - active segment: entries live in a growable in-memory Buffer and are appended synchronously as batches are
 *   appended; they reach the file (preallocated to `segment.index.bytes`) in `persist()`, which flushes and seals
 *   call. After an unclean stop the active segment's indexes are rebuilt from the .log, so nothing depends on them
 *   being on disk before that.
 * - sealed segment: the file is trimmed to its entries and made read-only; entries are a read-only view of the file,
 *   memory-mapped when the native addon offers mmapReadOnly (see setIndexMapper), else read once with fs.read.
 *   Sealed indexes load lazily, on first lookup.
 */
import fs from 'node:fs';
import { readFully } from './batch-scanner.js';
import { StorageError } from './storage-error.js';

/** Maps `length` bytes of a read-only fd into a Buffer (the native addon's mmapReadOnly). */
export type IndexMapper = (fd: number, offset: number, length: number) => Buffer;

let mapper: IndexMapper | null = null;

/** Installs (or removes) the mmap used for sealed indexes. Set once at start-up, by the log manager. */
export function setIndexMapper(fn: IndexMapper | null): void {
  mapper = fn;
}

export function indexMapper(): IndexMapper | null {
  return mapper;
}

const INITIAL_CAPACITY = 4096;

export abstract class AbstractIndex {
  path: string;
  readonly baseOffset: number;
  readonly entrySize: number;
  /** `segment.index.bytes`, rounded down to whole entries. */
  readonly maxIndexSize: number;
  protected buf: Buffer;
  protected count: number;
  #loaded: boolean;
  #persisted: number;
  #fd: number | null = null;
  #sealed: boolean;

  protected constructor(path: string, baseOffset: number, entrySize: number, maxIndexSize: number, sealed: boolean) {
    this.path = path;
    this.baseOffset = baseOffset;
    this.entrySize = entrySize;
    this.maxIndexSize = Math.floor(maxIndexSize / entrySize) * entrySize;
    this.buf = Buffer.alloc(0);
    this.count = 0;
    this.#loaded = false;
    this.#persisted = 0;
    this.#sealed = sealed;
  }

  get sealed(): boolean {
    return this.#sealed;
  }

  get entries(): number {
    this.ensureLoaded();
    return this.count;
  }

  get maxEntries(): number {
    return this.maxIndexSize / this.entrySize;
  }

  isFull(): boolean {
    return this.entries >= this.maxEntries;
  }

  /** Bytes the entries take (the file's size once trimmed). */
  get sizeInBytes(): number {
    return this.entries * this.entrySize;
  }

  /** Starts an empty index for a new segment (creates or empties the file). */
  protected createEmpty(): void {
    try {
      this.#fd = fs.openSync(this.path, 'w+', 0o644);
    } catch (err) {
      throw StorageError.from(err, 'open', this.path);
    }
    this.buf = Buffer.alloc(INITIAL_CAPACITY);
    this.count = 0;
    this.#persisted = 0;
    this.#loaded = true;
  }

  /** The file's descriptor while active (null when sealed or closed). */
  get fd(): number | null {
    return this.#fd;
  }

  /** Loads entries from the file: now for an active index, on first use for a sealed one. */
  protected openExisting(): void {
    if (!this.#sealed) this.ensureLoaded();
  }

  ensureLoaded(): void {
    if (this.#loaded) return;
    let fd: number;
    try {
      fd = fs.openSync(this.path, this.#sealed ? 'r' : 'r+');
    } catch (err) {
      throw StorageError.from(err, 'open', this.path);
    }
    const size = fs.fstatSync(fd).size;
    const usable = Math.floor(size / this.entrySize) * this.entrySize;
    if (this.#sealed) {
      try {
        const m = usable > 0 ? indexMapper() : null;
        if (m) this.buf = m(fd, 0, usable);
        else {
          this.buf = Buffer.allocUnsafe(usable);
          readFully(fd, this.buf, 0, usable, 0, this.path);
        }
      } finally {
        fs.closeSync(fd);
      }
    } else {
      this.#fd = fd;
      this.buf = Buffer.alloc(Math.max(INITIAL_CAPACITY, usable));
      readFully(fd, this.buf, 0, usable, 0, this.path);
    }
    this.count = usable / this.entrySize;
    this.#persisted = this.count;
    this.#loaded = true;
  }

  protected reserveEntry(): number {
    if (this.#sealed) throw new StorageError(`index ${this.path} is sealed`);
    const at = this.count * this.entrySize;
    if (at + this.entrySize > this.buf.length) {
      const bigger = Buffer.alloc(Math.max(this.buf.length * 2, INITIAL_CAPACITY));
      this.buf.copy(bigger, 0, 0, at);
      this.buf = bigger;
    }
    return at;
  }

  /** Drops every entry from the n-th on. */
  truncateEntries(n: number): void {
    this.ensureLoaded();
    if (n >= this.count) return;
    this.count = Math.max(0, n);
    if (this.#persisted > this.count) this.#persisted = this.count;
  }

  /** Binary search: index of the last entry whose key (per `keyAt`) is <= target, or -1. */
  protected floorEntry(target: number, keyAt: (i: number) => number): number {
    this.ensureLoaded();
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (keyAt(mid) <= target) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Binary search: index of the first entry whose key is >= target, or count. */
  protected ceilingEntry(target: number, keyAt: (i: number) => number): number {
    this.ensureLoaded();
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keyAt(mid) < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Writes entries not yet in the file. Synchronous and small (entries are 8 or 12 bytes, one every 4 KiB). */
  persist(): void {
    if (this.#fd === null || this.#persisted >= this.count) return;
    const from = this.#persisted * this.entrySize;
    const to = this.count * this.entrySize;
    try {
      let done = 0;
      while (from + done < to) done += fs.writeSync(this.#fd, this.buf, from + done, to - from - done, from + done);
    } catch (err) {
      throw StorageError.from(err, 'write', this.path);
    }
    this.#persisted = this.count;
  }

  /** The fd to preallocate (active only): the file grows to `segment.index.bytes` of zeros past the entries. */
  preallocateTarget(): { fd: number; length: number } | null {
    return this.#fd === null ? null : { fd: this.#fd, length: this.maxIndexSize };
  }

  /** Grows the active index file to its maximum size without reserving blocks (a sparse file, as Kafka's). */
  extendSparse(): void {
    const t = this.preallocateTarget();
    if (!t) return;
    try {
      if (fs.fstatSync(t.fd).size < t.length) fs.ftruncateSync(t.fd, t.length);
    } catch (err) {
      throw StorageError.from(err, 'ftruncate', this.path);
    }
  }

  /** trim() with the fdatasync done by `fdatasync` (the I/O engine) instead of on the event loop thread. */
  async trimWith(seal: boolean, fdatasync: (fd: number) => Promise<void>): Promise<void> {
    this.ensureLoaded();
    if (this.#fd === null) return;
    this.persist();
    try {
      fs.ftruncateSync(this.#fd, this.count * this.entrySize);
    } catch (err) {
      throw StorageError.from(err, 'ftruncate', this.path);
    }
    await fdatasync(this.#fd);
    if (seal) this.#sealFile();
  }

  #sealFile(): void {
    if (this.#fd !== null) fs.closeSync(this.#fd);
    this.#fd = null;
    this.#sealed = true;
    this.buf = Buffer.from(this.buf.subarray(0, this.count * this.entrySize));
    try {
      fs.chmodSync(this.path, 0o444);
    } catch (err) {
      throw StorageError.from(err, 'chmod', this.path);
    }
  }

  /**
   * Persists the entries and trims the file to them (sealing, clean shutdown). With `seal`, the file becomes
   * read-only and the entries an exact-size read-only copy.
   */
  trim(seal: boolean): void {
    this.ensureLoaded();
    if (this.#fd === null) return;
    this.persist();
    try {
      fs.ftruncateSync(this.#fd, this.count * this.entrySize);
      fs.fdatasyncSync(this.#fd);
    } catch (err) {
      throw StorageError.from(err, 'ftruncate', this.path);
    }
    if (seal) this.#sealFile();
  }

  /** Replaces the entries with `entries` (built in memory by a rebuild) and rewrites the file. */
  replaceWith(entries: Buffer, count: number): void {
    const wasSealed = this.#sealed;
    if (wasSealed) fs.chmodSync(this.path, 0o644);
    const fd = this.#fd ?? fs.openSync(this.path, 'w+', 0o644);
    try {
      fs.ftruncateSync(fd, 0);
      let done = 0;
      const len = count * this.entrySize;
      while (done < len) done += fs.writeSync(fd, entries, done, len - done, done);
      fs.fdatasyncSync(fd);
    } catch (err) {
      throw StorageError.from(err, 'write', this.path);
    }
    if (wasSealed) {
      fs.closeSync(fd);
      fs.chmodSync(this.path, 0o444);
      this.buf = Buffer.from(entries.subarray(0, count * this.entrySize));
    } else {
      this.#fd = fd;
      this.buf = Buffer.alloc(Math.max(INITIAL_CAPACITY, entries.length));
      entries.copy(this.buf, 0, 0, count * this.entrySize);
    }
    this.count = count;
    this.#persisted = count;
    this.#loaded = true;
  }

  /** A copy of the raw entry bytes (for rebuilding into another index object, and for tests). */
  rawEntries(): Buffer {
    this.ensureLoaded();
    return Buffer.from(this.buf.subarray(0, this.count * this.entrySize));
  }

  /** Reopens a sealed index for writing (after recovery truncated the segment back to active). */
  unseal(): void {
    if (!this.#sealed) return;
    this.ensureLoaded();
    fs.chmodSync(this.path, 0o644);
    this.#fd = fs.openSync(this.path, 'r+');
    const copy = Buffer.alloc(Math.max(INITIAL_CAPACITY, this.buf.length));
    this.buf.copy(copy);
    this.buf = copy;
    this.#sealed = false;
  }

  close(): void {
    if (this.#fd !== null) {
      fs.closeSync(this.#fd);
      this.#fd = null;
    }
  }

  /** Renames the file (to `.deleted` when the segment is being deleted). */
  renameTo(path: string): void {
    fs.renameSync(this.path, path);
    this.path = path;
  }
}
