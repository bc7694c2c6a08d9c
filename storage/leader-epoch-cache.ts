/**
 * The leader epoch cache: which offset each leader epoch started at, persisted in `leader-epoch-checkpoint`
 * (Kafka's text format: version 0, count, `epoch startOffset` lines). Single-node Berth stamps epochs already, so
 * followers can later truncate by diverging epoch (OffsetForLeaderEpoch).
 */
import path from 'node:path';
import { readCheckpointLines, writeCheckpointLines } from './checkpoint-file.js';
import { LEADER_EPOCH_CHECKPOINT_FILE } from './file-names.js';

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

export class LeaderEpochCache {
  readonly file: string;
  #entries: EpochEntry[];

  constructor(dir: string) {
    this.file = path.join(dir, LEADER_EPOCH_CHECKPOINT_FILE);
    this.#entries = readCheckpointLines(this.file, 2).map(([e, o]) => ({ epoch: Number(e), startOffset: Number(o) }));
  }

  entries(): readonly EpochEntry[] {
    return this.#entries;
  }

  latestEpoch(): number {
    return this.#entries.length ? this.#entries[this.#entries.length - 1].epoch : -1;
  }

  /** Records that `epoch` starts at `startOffset` (ignored unless the epoch is newer than the latest). */
  assign(epoch: number, startOffset: number): void {
    if (epoch < 0 || epoch <= this.latestEpoch()) return;
    this.#entries = this.#entries.filter((e) => e.startOffset < startOffset);
    this.#entries.push({ epoch, startOffset });
    this.#persist();
  }

  /** The end offset of `epoch` (start of the next epoch, or logEndOffset for the latest), -1 when unknown. */
  endOffsetFor(epoch: number, logEndOffset: number): { epoch: number; endOffset: number } {
    let found = -1;
    for (let i = 0; i < this.#entries.length; i++) if (this.#entries[i].epoch <= epoch) found = i;
    if (found < 0) return { epoch: -1, endOffset: -1 };
    const next = this.#entries[found + 1];
    return { epoch: this.#entries[found].epoch, endOffset: next ? next.startOffset : logEndOffset };
  }

  /** Drops epochs starting at or after `endOffset` (the log was truncated there). */
  truncateFromEnd(endOffset: number): void {
    const kept = this.#entries.filter((e) => e.startOffset < endOffset);
    if (kept.length !== this.#entries.length) {
      this.#entries = kept;
      this.#persist();
    }
  }

  /** The log now starts at `startOffset`: earlier epochs go, the one covering it is moved to start there. */
  truncateFromStart(startOffset: number): void {
    let covering = -1;
    for (let i = 0; i < this.#entries.length; i++) if (this.#entries[i].startOffset <= startOffset) covering = i;
    if (covering < 0) return;
    const head = this.#entries[covering];
    if (covering === 0 && head.startOffset === startOffset) return;
    this.#entries = [{ epoch: head.epoch, startOffset }, ...this.#entries.slice(covering + 1)];
    this.#persist();
  }

  #persist(): void {
    writeCheckpointLines(
      this.file,
      this.#entries.map((e) => [e.epoch, e.startOffset]),
    );
  }
}
