/** A partition's segments, sorted by base offset; the last one is the active segment. */
import type { LogSegment } from './log-segment.js';

export class LogSegments {
  #list: LogSegment[] = [];

  get size(): number {
    return this.#list.length;
  }

  [Symbol.iterator](): Iterator<LogSegment> {
    return this.#list[Symbol.iterator]();
  }

  all(): readonly LogSegment[] {
    return this.#list;
  }

  first(): LogSegment | undefined {
    return this.#list[0];
  }

  active(): LogSegment {
    const last = this.#list[this.#list.length - 1];
    if (!last) throw new Error('a partition log always has an active segment');
    return last;
  }

  /** Adds a segment; it must sort last (a new active segment) or be loaded in any order before use. */
  add(segment: LogSegment): void {
    const i = this.#upperIndex(segment.baseOffset);
    if (i > 0 && this.#list[i - 1].baseOffset === segment.baseOffset) {
      throw new Error(`duplicate segment at base offset ${segment.baseOffset}`);
    }
    this.#list.splice(i, 0, segment);
  }

  remove(segment: LogSegment): void {
    const i = this.#list.indexOf(segment);
    if (i >= 0) this.#list.splice(i, 1);
  }

  /** Index of the first segment whose base offset is > offset. */
  #upperIndex(offset: number): number {
    let lo = 0;
    let hi = this.#list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#list[mid].baseOffset <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The segment that would hold `offset`: the last one whose base offset is <= offset. */
  floor(offset: number): LogSegment | undefined {
    const i = this.#upperIndex(offset);
    return i > 0 ? this.#list[i - 1] : undefined;
  }

  /** The segment after `segment`, or undefined. */
  next(segment: LogSegment): LogSegment | undefined {
    const i = this.#list.indexOf(segment);
    return i >= 0 ? this.#list[i + 1] : undefined;
  }

  /** Total bytes readers can see. */
  sizeInBytes(): number {
    let n = 0;
    for (const s of this.#list) n += s.size;
    return n;
  }
}
