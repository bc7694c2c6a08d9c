/**
 * Reusable buffers for request frames (Produce requests of 4 KiB and more).
 *
 * Why: a fresh buffer per large frame costs more than the copy into it. Allocations over glibc's mmap threshold
 * are new mappings, so every byte of them page-faults on first touch (about 1 GiB/s on our machines, slower than
 * memcpy), and each one is external memory that pushes V8 into extra garbage collections. A frame assembled into a
 * buffer that an earlier request used touches warm memory instead.
 *
 * Only the connection gives buffers back, and only for requests whose handler keeps no reference to the frame once
 * its response exists (Produce: the records are written by then; see retainFrame for the exception). Frames of
 * other APIs are never released: their handlers may keep slices of them (group metadata, for instance), and a
 * buffer that is never released is simply collected.
 */

/**
 * Smallest pooled size class. Smaller frames are slices of Node's shared allocation pool (Buffer.allocUnsafe): no
 * allocation of their own, and nothing to give back. Frames from 4 KiB up are pooled, not only the large ones: at
 * 2,600 Produce requests of 16 KB a second, fresh buffers were 40+ MB/s of new external memory for V8 to account
 * and the allocator to fault in.
 */
export const MIN_POOLED_FRAME = 4 * 1024;

/** Buffers that must never be reused (see retainFrame), whichever pool they came from. */
const retainedFrames = new WeakSet<ArrayBufferLike>();

export interface FramePoolOptions {
  /** Frames larger than this are not pooled (default 16 MiB). */
  maxFrameBytes?: number;
  /** Total bytes the pool keeps free for reuse (default 64 MiB). */
  maxIdleBytes?: number;
}

/** A size class's idle buffers, and when the class was last asked for (a count of allocate calls). */
interface SizeClass {
  idle: Buffer[];
  lastAsked: number;
}

export class FramePool {
  private readonly classes = new Map<number, SizeClass>();
  private asks = 0;
  /** Buffers handed out and not yet released, by their ArrayBuffer (a released frame is a view of one). */
  private readonly leased = new WeakSet<ArrayBufferLike>();
  private idle = 0;
  private readonly maxFrameBytes: number;
  private readonly maxIdleBytes: number;
  /** Counters for tests and diagnostics. */
  readonly stats = { allocated: 0, reused: 0, released: 0, evicted: 0 };

  constructor(opts: FramePoolOptions = {}) {
    this.maxFrameBytes = opts.maxFrameBytes ?? 16 * 1024 * 1024;
    this.maxIdleBytes = opts.maxIdleBytes ?? 64 * 1024 * 1024;
  }

  /** A buffer of at least `size` bytes (its first `size` bytes are the caller's; contents are unspecified). */
  readonly allocate = (size: number): Buffer => {
    if (size < MIN_POOLED_FRAME) return Buffer.allocUnsafe(size);
    if (size > this.maxFrameBytes) return Buffer.allocUnsafeSlow(size);
    const bytes = sizeClass(size);
    const cls = this.classOf(bytes);
    cls.lastAsked = ++this.asks;
    let buf = cls.idle.pop();
    if (buf) {
      this.idle -= bytes;
      this.stats.reused++;
    } else {
      // allocUnsafeSlow: a buffer of its own, never a slice of Node's shared pool, so it can be handed back whole.
      buf = Buffer.allocUnsafeSlow(bytes);
      this.stats.allocated++;
    }
    this.leased.add(buf.buffer);
    return buf;
  };

  /**
   * Gives back the buffer under `frame` (a view of a buffer from allocate, or anything else, which is ignored).
   * The caller guarantees that nothing reads the frame any more.
   */
  release(frame: Buffer): void {
    const ab = frame.buffer;
    if (!this.leased.has(ab)) return;
    this.leased.delete(ab);
    if (retainedFrames.has(ab)) return;
    const bytes = ab.byteLength;
    const cls = this.classOf(bytes);
    if (!this.makeRoom(bytes, cls.lastAsked)) return;
    cls.idle.push(Buffer.from(ab, 0, bytes));
    this.idle += bytes;
    this.stats.released++;
  }

  /**
   * Makes room for an idle buffer of `bytes`, if need be by dropping idle buffers of classes asked for before
   * `lastAsked`, the one asked for longest ago first (the collector frees them). Without this, the buffers of one
   * burst of large frames filled the idle budget and stayed in it unused, and every later frame of another size was
   * a fresh allocation: 16 KB requests after 1 MB ones were 32 KiB of new external memory each, which made V8 run a
   * full collection every ~100 ms (bench/results-broker.md, session 9). False when only buffers of classes asked for
   * since (or of its own) would have to go.
   */
  private makeRoom(bytes: number, lastAsked: number): boolean {
    while (this.idle + bytes > this.maxIdleBytes) {
      let oldest: [number, SizeClass] | null = null;
      for (const entry of this.classes) {
        const c = entry[1];
        if (c.idle.length > 0 && c.lastAsked < lastAsked && (!oldest || c.lastAsked < oldest[1].lastAsked)) {
          oldest = entry;
        }
      }
      if (!oldest) return false;
      oldest[1].idle.pop();
      this.idle -= oldest[0];
      this.stats.evicted++;
    }
    return true;
  }

  private classOf(bytes: number): SizeClass {
    let cls = this.classes.get(bytes);
    if (!cls) {
      cls = { idle: [], lastAsked: 0 };
      this.classes.set(bytes, cls);
    }
    return cls;
  }

  /** Bytes kept for reuse. */
  get idleBytes(): number {
    return this.idle;
  }
}

/** Sizes are rounded up to a power of two, so that buffers of nearby sizes are interchangeable. */
function sizeClass(size: number): number {
  return 2 ** Math.ceil(Math.log2(size));
}

/**
 * Marks the buffer under `slice` as still in use after its request is answered (a storage write that may still
 * read it after the append failed): no pool will hand it out again.
 */
export function retainFrame(slice: Buffer): void {
  retainedFrames.add(slice.buffer);
}

/** Whether retainFrame was called for the buffer under `slice`. */
export function isFrameRetained(slice: Buffer): boolean {
  return retainedFrames.has(slice.buffer);
}
