/**
 * The headers of the last batches placed in a segment, in memory. Consumers that keep up read the tail, and the
 * sparse offset index only gets them near it: without this, every such fetch walks batch headers back from the file
 * (one or more reads on the thread pool) to find where its offset starts and where its byte budget ends.
 *
 * Entries are contiguous and in append order. A lookup answers only when the ring covers the asked offset; otherwise
 * it returns undefined and the caller walks the file as before. A placement at or before an entry's position drops
 * that entry and everything after it, so a segment truncated and written again never serves stale positions.
 */
import type { BatchHeaderInfo } from './batch-scanner.js';

const FIELDS = 6; // position, size, baseOffset, lastOffset, maxTimestamp, attributes
const POSITION = 0;
const SIZE = 1;
const BASE_OFFSET = 2;
const LAST_OFFSET = 3;
const MAX_TIMESTAMP = 4;
const ATTRIBUTES = 5;

export class RecentBatches {
  readonly capacity: number;
  #slots: Float64Array | null = null; // allocated on first use: most partitions of a big broker are idle
  #oldest = 0;
  #count = 0;

  constructor(capacity = 256) {
    this.capacity = capacity;
  }

  get size(): number {
    return this.#count;
  }

  clear(): void {
    this.#count = 0;
    this.#oldest = 0;
  }

  /** Forgets everything and frees the memory (a sealed segment is read through its full index). */
  release(): void {
    this.clear();
    this.#slots = null;
  }

  /** Records the batch `b` placed at `position`. */
  push(position: number, b: Omit<BatchHeaderInfo, 'position'>): void {
    this.#dropFrom(position);
    if (this.#count > 0) {
      const newest = this.#at(this.#count - 1);
      // Not contiguous with what we hold (a gap we did not see): start over from this batch.
      if (this.#get(newest, POSITION) + this.#get(newest, SIZE) !== position) this.clear();
    }
    this.#slots ??= new Float64Array(this.capacity * FIELDS);
    if (this.#count === this.capacity) {
      this.#oldest = (this.#oldest + 1) % this.capacity;
      this.#count--;
    }
    const s = this.#at(this.#count) * FIELDS;
    const slots = this.#slots;
    slots[s + POSITION] = position;
    slots[s + SIZE] = b.size;
    slots[s + BASE_OFFSET] = b.baseOffset;
    slots[s + LAST_OFFSET] = b.lastOffset;
    slots[s + MAX_TIMESTAMP] = b.maxTimestamp;
    slots[s + ATTRIBUTES] = b.attributes;
    this.#count++;
  }

  /**
   * The first batch whose lastOffset >= offset and that ends at or before `end`: the batch, null when there is none
   * (the ring reaches the segment's tail), or undefined when the ring does not cover `offset`.
   */
  findBatch(offset: number, end: number): BatchHeaderInfo | null | undefined {
    if (this.#count === 0 || offset < this.#get(this.#at(0), BASE_OFFSET)) return undefined;
    let lo = 0;
    let hi = this.#count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#get(this.#at(mid), LAST_OFFSET) < offset) lo = mid + 1;
      else hi = mid;
    }
    if (lo === this.#count) return null;
    const b = this.#info(this.#at(lo));
    return b.position + b.size <= end ? b : null;
  }

  /**
   * As LogSegment.boundaryAtOrBefore from `start` (a batch start the ring holds): the last batch boundary at or
   * before `cap` among the batches that end by `end`; undefined when the ring does not hold `start`.
   */
  boundaryAtOrBefore(
    start: number,
    cap: number,
    end: number,
  ): { end: number; lastOffset: number; first: BatchHeaderInfo | null } | undefined {
    if (this.#count === 0) return undefined;
    let lo = 0;
    let hi = this.#count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#get(this.#at(mid), POSITION) < start) lo = mid + 1;
      else hi = mid;
    }
    if (lo === this.#count || this.#get(this.#at(lo), POSITION) !== start) return undefined;
    let boundary = start;
    let lastOffset = -1;
    let first: BatchHeaderInfo | null = null;
    for (let i = lo; i < this.#count; i++) {
      const slot = this.#at(i);
      const position = this.#get(slot, POSITION);
      const stop = position + this.#get(slot, SIZE);
      if (stop > end) break;
      if (i === lo) first = this.#info(slot);
      if (stop > cap) {
        if (lastOffset < 0) lastOffset = this.#get(slot, BASE_OFFSET) - 1;
        break;
      }
      boundary = stop;
      lastOffset = this.#get(slot, LAST_OFFSET);
    }
    return { end: boundary, lastOffset, first };
  }

  /** Drops entries at or after `position` (the segment was cut back there). */
  #dropFrom(position: number): void {
    while (this.#count > 0 && this.#get(this.#at(this.#count - 1), POSITION) >= position) this.#count--;
  }

  #at(i: number): number {
    return (this.#oldest + i) % this.capacity;
  }

  #get(slot: number, field: number): number {
    return this.#slots![slot * FIELDS + field]!;
  }

  #info(slot: number): BatchHeaderInfo {
    return {
      position: this.#get(slot, POSITION),
      size: this.#get(slot, SIZE),
      baseOffset: this.#get(slot, BASE_OFFSET),
      lastOffset: this.#get(slot, LAST_OFFSET),
      maxTimestamp: this.#get(slot, MAX_TIMESTAMP),
      attributes: this.#get(slot, ATTRIBUTES),
    };
  }
}
