/**
 * The storage I/O engine: positioned writes, fdatasync and fallocate, completed asynchronously. Two engines exist:
 * 'sync' (libuv thread pool, storage/io/sync-engine.ts) and 'uring' (one io_uring with registered buffers,
 * storage/io/uring-engine.ts). Errors are StorageError. This interface is a shared contract (HELPERS.md).
 */
export type IoEngineName = 'uring' | 'sync';

export interface IoEngine {
  readonly name: IoEngineName;
  /** Writes all of `data` at `position` of `fd` (short writes are completed by the engine). For 'uring' the data
   *  is copied once into a registered buffer and written with IORING_OP_WRITE_FIXED (data larger than one pool
   *  buffer is split over several). The caller must not modify `data` until the promise settles. */
  write(fd: number, data: Buffer, position: number): Promise<void>;
  /** fdatasync(fd), covering every write to `fd` issued before it (the engine waits for those still in flight).
   *  With `completedOnly`, it covers only the writes whose promises have already settled and starts at once: what
   *  group commit needs when it has seen every write it is flushing complete. */
  fdatasync(fd: number, opts?: { completedOnly?: boolean }): Promise<void>;
  /** Optional: write(), then an fdatasync of `fd` started by the engine the moment the write completes (no hop
   *  through the caller). `written` settles first; `synced` settles when the fdatasync has, covering this write
   *  and every write to `fd` that completed before it; a failed write fails both. */
  writeAndSync?(fd: number, data: Buffer, position: number): { written: Promise<void>; synced: Promise<void> };
  /** Optional: what writeAndSync gives, but only by joining the latest writeAndSync to `fd` that has not reached the
   *  kernel yet, when `data` continues it: that write's fdatasync then covers this one too, and `synced` settles
   *  with it. null when it cannot (nothing is written then). */
  joinLinkedSync?(fd: number, data: Buffer, position: number): { written: Promise<void>; synced: Promise<void> } | null;
  /** Preallocates [offset, offset+length) (fallocate mode 0, or FALLOC_FL_KEEP_SIZE when keepSize). */
  fallocate(fd: number, offset: number, length: number, keepSize: boolean): Promise<void>;
  /** Counters for metrics: ops submitted, completed, in flight, bytes written. */
  stats(): { submitted: number; completed: number; inFlight: number; bytesWritten: number };
  /** Drains outstanding operations, then frees resources. */
  close(): Promise<void>;
}

/** fallocate(2) mode bit: allocate without changing the file size. */
export const FALLOC_FL_KEEP_SIZE = 0x01;
