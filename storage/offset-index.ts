/**
 * The `.index` file: sparse map from offset to byte position in the segment's .log. Entries are 8 bytes, big-endian:
 * offset relative to the segment's base offset (u32), position (u32). As in Kafka, an entry holds a batch's last
 * offset and the batch's start position; a lookup gives the last entry at or below the target, and the reader scans
 * forward from its position.
 */
import { AbstractIndex } from './abstract-index.js';

export const OFFSET_INDEX_ENTRY_SIZE = 8;

export interface OffsetPosition {
  offset: number;
  position: number;
}

export class OffsetIndex extends AbstractIndex {
  private constructor(path: string, baseOffset: number, maxIndexSize: number, sealed: boolean) {
    super(path, baseOffset, OFFSET_INDEX_ENTRY_SIZE, maxIndexSize, sealed);
  }

  /** A new, empty index for an active segment (truncates any file at `path`). */
  static create(path: string, baseOffset: number, maxIndexSize: number): OffsetIndex {
    const idx = new OffsetIndex(path, baseOffset, maxIndexSize, false);
    idx.createEmpty();
    return idx;
  }

  /** An existing index file; a sealed one loads on first use. */
  static open(path: string, baseOffset: number, maxIndexSize: number, sealed: boolean): OffsetIndex {
    const idx = new OffsetIndex(path, baseOffset, maxIndexSize, sealed);
    idx.openExisting();
    return idx;
  }

  relativeOffsetAt(i: number): number {
    return this.buf.readUInt32BE(i * OFFSET_INDEX_ENTRY_SIZE);
  }

  positionAt(i: number): number {
    return this.buf.readUInt32BE(i * OFFSET_INDEX_ENTRY_SIZE + 4);
  }

  entry(i: number): OffsetPosition {
    this.ensureLoaded();
    return { offset: this.baseOffset + this.relativeOffsetAt(i), position: this.positionAt(i) };
  }

  lastEntry(): OffsetPosition {
    return this.entries === 0 ? { offset: this.baseOffset, position: 0 } : this.entry(this.count - 1);
  }

  /** Last offset in the index (the base offset when empty). */
  get lastOffset(): number {
    return this.lastEntry().offset;
  }

  append(offset: number, position: number): void {
    const rel = offset - this.baseOffset;
    if (rel < 0 || rel > 0xffffffff) throw new RangeError(`offset ${offset} does not fit index ${this.path}`);
    if (this.count > 0 && rel <= this.relativeOffsetAt(this.count - 1)) return;
    const at = this.reserveEntry();
    this.buf.writeUInt32BE(rel, at);
    this.buf.writeUInt32BE(position, at + 4);
    this.count++;
  }

  /** The last entry whose offset is <= target (base offset and position 0 when there is none). */
  lookup(targetOffset: number): OffsetPosition {
    const i = this.floorEntry(targetOffset - this.baseOffset, (k) => this.relativeOffsetAt(k));
    return i < 0 ? { offset: this.baseOffset, position: 0 } : this.entry(i);
  }

  /** The last entry whose position is <= target (batch starts are increasing too). */
  lookupByPosition(targetPosition: number): OffsetPosition {
    const i = this.floorEntry(targetPosition, (k) => this.positionAt(k));
    return i < 0 ? { offset: this.baseOffset, position: 0 } : this.entry(i);
  }

  /** Drops entries for offsets >= offset. */
  truncateToOffset(offset: number): void {
    this.truncateEntries(this.ceilingEntry(offset - this.baseOffset, (k) => this.relativeOffsetAt(k)));
  }

  /** Drops entries whose position is >= position. */
  truncateToPosition(position: number): void {
    this.truncateEntries(this.ceilingEntry(position, (k) => this.positionAt(k)));
  }

  /** Why the entries cannot be trusted against a .log of `logSize` bytes, or null when they can. */
  check(logSize: number): string | null {
    let prevRel = -1;
    let prevPos = -1;
    for (let i = 0; i < this.entries; i++) {
      const rel = this.relativeOffsetAt(i);
      const pos = this.positionAt(i);
      if (rel <= prevRel) return `entry ${i}: offset not increasing`;
      if (pos <= prevPos) return `entry ${i}: position not increasing`;
      if (pos >= logSize) return `entry ${i}: position ${pos} past the log (${logSize} bytes)`;
      prevRel = rel;
      prevPos = pos;
    }
    return null;
  }
}
