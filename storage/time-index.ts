/**
 * The `.timeindex` file: sparse map from timestamp to offset. Entries are 12 bytes, big-endian: timestamp (i64),
 * offset relative to the segment's base offset (u32). Timestamps only increase: an entry is added when the largest
 * timestamp seen so far grows, with the offset of the batch holding it (Kafka's maybeAppend).
 */

import { readInt64Number, writeInt64Number } from '../protocol/wire/int64.js';
import { AbstractIndex } from './abstract-index.js';

export const TIME_INDEX_ENTRY_SIZE = 12;

export interface TimestampOffset {
  timestamp: number;
  offset: number;
}

export class TimeIndex extends AbstractIndex {
  private constructor(path: string, baseOffset: number, maxIndexSize: number, sealed: boolean) {
    super(path, baseOffset, TIME_INDEX_ENTRY_SIZE, maxIndexSize, sealed);
  }

  static create(path: string, baseOffset: number, maxIndexSize: number): TimeIndex {
    const idx = new TimeIndex(path, baseOffset, maxIndexSize, false);
    idx.createEmpty();
    return idx;
  }

  static open(path: string, baseOffset: number, maxIndexSize: number, sealed: boolean): TimeIndex {
    const idx = new TimeIndex(path, baseOffset, maxIndexSize, sealed);
    idx.openExisting();
    return idx;
  }

  timestampAt(i: number): number {
    return readInt64Number(this.buf, i * TIME_INDEX_ENTRY_SIZE);
  }

  relativeOffsetAt(i: number): number {
    return this.buf.readUInt32BE(i * TIME_INDEX_ENTRY_SIZE + 8);
  }

  entry(i: number): TimestampOffset {
    this.ensureLoaded();
    return { timestamp: this.timestampAt(i), offset: this.baseOffset + this.relativeOffsetAt(i) };
  }

  /** The last entry, or null when empty. */
  lastEntry(): TimestampOffset | null {
    return this.entries === 0 ? null : this.entry(this.count - 1);
  }

  /** Adds (timestamp, offset) when the timestamp is larger than the last entry's. */
  maybeAppend(timestamp: number, offset: number): void {
    const rel = offset - this.baseOffset;
    if (rel < 0 || rel > 0xffffffff) throw new RangeError(`offset ${offset} does not fit index ${this.path}`);
    if (this.count > 0) {
      if (timestamp <= this.timestampAt(this.count - 1)) return;
      if (rel < this.relativeOffsetAt(this.count - 1)) return;
    }
    const at = this.reserveEntry();
    writeInt64Number(this.buf, timestamp, at);
    this.buf.writeUInt32BE(rel, at + 8);
    this.count++;
  }

  /** The last entry whose timestamp is <= target, or null (then the search starts at the segment's start). */
  lookup(targetTimestamp: number): TimestampOffset | null {
    const i = this.floorEntry(targetTimestamp, (k) => this.timestampAt(k));
    return i < 0 ? null : this.entry(i);
  }

  /** Drops entries for offsets >= offset. */
  truncateToOffset(offset: number): void {
    this.truncateEntries(this.ceilingEntry(offset - this.baseOffset, (k) => this.relativeOffsetAt(k)));
  }

  check(nextOffset: number): string | null {
    let prevTs = Number.NEGATIVE_INFINITY;
    let prevRel = -1;
    for (let i = 0; i < this.entries; i++) {
      const ts = this.timestampAt(i);
      const rel = this.relativeOffsetAt(i);
      if (ts <= prevTs) return `entry ${i}: timestamp not increasing`;
      if (rel < prevRel) return `entry ${i}: offset decreasing`;
      if (this.baseOffset + rel >= nextOffset) return `entry ${i}: offset past the log end`;
      prevTs = ts;
      prevRel = rel;
    }
    return null;
  }
}
