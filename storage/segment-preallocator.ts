/**
 * Preallocation of a partition's active segment .log ahead of its write position (the engine's fallocate, mode 0;
 * a no-op without it), off the append path. Reserving a whole segment.bytes per partition at once would hold a
 * gigabyte of disk per idle partition, so it goes in chunks. Two choices keep it out of acks=-1 latency:
 * - fallocate is a journalled metadata change. Issued while an fdatasync is committing the journal, it waits for that
 *   commit holding the inode lock, the next write waits for it, and that write's fdatasync comes last: one slow
 *   acknowledgement per chunk. So a chunk that falls due while the partition has an fdatasync in flight is issued
 *   the moment that fdatasync completes, in the gap before the next one.
 * - Chunks double, from PREALLOCATE_CHUNK up to PREALLOCATE_MAX_CHUNK, each time appends reach the middle of the
 *   last one: a busy partition allocates a handful of times per segment, an idle one holds one chunk.
 * Appends never wait for it: a write past the preallocated end simply extends the file.
 */
import type { IoEngine } from './io/io-engine.js';
import type { LogSegment } from './log-segment.js';

/** The first chunk of a segment's preallocation. */
export const PREALLOCATE_CHUNK = 16 * 1024 * 1024;
/** The largest chunk (a busy partition's, after doubling). */
export const PREALLOCATE_MAX_CHUNK = 128 * 1024 * 1024;

export class SegmentPreallocator {
  readonly #engine: IoEngine;
  readonly #warn: (msg: string) => void;
  /** Whether the partition has an fdatasync in flight. */
  readonly #syncing: () => boolean;
  /** Each segment's next chunk size. */
  readonly #chunks = new WeakMap<LogSegment, number>();
  /** A segment whose next chunk fell due while an fdatasync was in flight, with its segment.bytes. */
  #deferred: { seg: LogSegment; limit: number } | null = null;

  constructor(engine: IoEngine, warn: (msg: string) => void, syncing: () => boolean) {
    this.#engine = engine;
    this.#warn = warn;
    this.#syncing = syncing;
  }

  /** After an append is placed in `seg` (and at open and roll): extends the reservation when it falls due. */
  maybeExtend(seg: LogSegment, limit: number): void {
    if (!this.#due(seg, limit)) return;
    if (this.#syncing()) {
      this.#deferred = { seg, limit };
      return;
    }
    this.#extend(seg, limit);
  }

  /**
   * An fdatasync of the partition completed (before the next one is issued): the deferred chunk goes now, if its
   * segment is still the active one (a rolled segment is about to be sealed and trimmed: a late fallocate would
   * grow it again).
   */
  onSynced(active: LogSegment): void {
    const d = this.#deferred;
    if (!d) return;
    this.#deferred = null;
    if (d.seg === active && this.#due(d.seg, d.limit)) this.#extend(d.seg, d.limit);
  }

  /** The partition is closing: a deferred chunk is not needed any more. */
  cancel(): void {
    this.#deferred = null;
  }

  #due(seg: LogSegment, limit: number): boolean {
    if (seg.sealed || seg.fd < 0 || seg.preallocatedTo >= limit) return false;
    const last = this.#chunks.get(seg) ?? 0;
    return seg.appendPosition + last / 2 >= seg.preallocatedTo;
  }

  #extend(seg: LogSegment, limit: number): void {
    const last = this.#chunks.get(seg);
    const chunk = last === undefined ? PREALLOCATE_CHUNK : Math.min(PREALLOCATE_MAX_CHUNK, last * 2);
    this.#chunks.set(seg, chunk);
    const from = seg.preallocatedTo;
    const to = Math.min(limit, Math.max(from, seg.appendPosition) + chunk);
    seg.preallocatedTo = to;
    const first = from === 0;
    seg.preallocating = seg.preallocating
      .catch(() => {})
      .then(async () => {
        if (seg.sealed || seg.fd < 0) return;
        try {
          await this.#engine.fallocate(seg.fd, from, to - from, false);
          // Indexes are extended sparsely to their maximum size, as Kafka does: no blocks are reserved.
          if (first) for (const idx of [seg.offsetIndex, seg.timeIndex]) idx.extendSparse();
        } catch (err) {
          this.#warn(`preallocation of ${seg.logPath} failed: ${(err as Error).message}`);
        }
      });
  }
}
