/**
 * Retention rules and delayed segment deletion. A segment goes when it is entirely below the log start offset, when
 * its largest timestamp (or, with no timestamps, its creation time) is older than retention.ms, or while the log
 * without it still holds retention.bytes. Deleting renames the files to `.deleted` at once and removes them after
 * file.delete.delay.ms, so fetches that already hold the fd finish reading; the FileRemover removes them off the
 * event loop, a chunk at a time.
 */
import type { FileRemover } from './file-remover.js';
import type { LogSegment } from './log-segment.js';

export interface RetentionContext {
  now: number;
  logStartOffset: number;
  /** -1: no time limit. */
  retentionMs: number;
  /** -1: no size limit. */
  retentionBytes: number;
  /** Bytes of the whole log, this segment included. */
  totalBytes: number;
}

/** Whether `seg` (sealed, followed by `next`) may be deleted. */
export function retentionBreached(seg: LogSegment, next: LogSegment, c: RetentionContext): boolean {
  if (next.baseOffset <= c.logStartOffset) return true;
  if (c.retentionMs >= 0) {
    const age = c.now - (seg.largestTimestamp >= 0 ? seg.largestTimestamp : seg.createdMs);
    if (age > c.retentionMs) return true;
  }
  return c.retentionBytes >= 0 && c.totalBytes - seg.size >= c.retentionBytes;
}

export class SegmentDeleter {
  #pending = new Map<NodeJS.Timeout, { seg: LogSegment; remove: () => void }>();
  readonly #remover: FileRemover;

  constructor(remover: FileRemover) {
    this.#remover = remover;
  }

  /** Renames the segment's files to `.deleted`; after `delayMs` closes the fd and hands the files to the remover. */
  delete(seg: LogSegment, delayMs: number): void {
    const files = seg.markDeleted();
    const remove = () => {
      seg.closeFiles();
      for (const f of files) void this.#remover.remove(f);
    };
    if (delayMs <= 0) {
      remove();
      return;
    }
    const t = setTimeout(
      () => {
        this.#pending.delete(t);
        remove();
      },
      Math.min(delayMs, 0x7fffffff),
    );
    t.unref();
    this.#pending.set(t, { seg, remove });
  }

  /** Hands every pending deletion to the remover now (clean close). */
  finishAll(): void {
    for (const [t, { remove }] of this.#pending) {
      clearTimeout(t);
      remove();
    }
    this.#pending.clear();
  }

  /** Closes the fds but leaves the `.deleted` files for the next start to remove (crash simulation). */
  cancelAll(): void {
    for (const [t, { seg }] of this.#pending) {
      clearTimeout(t);
      seg.closeFiles();
    }
    this.#pending.clear();
  }
}
