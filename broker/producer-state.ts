/**
 * Idempotent-producer state per partition, as Kafka keeps it: for each producer id its epoch and the metadata of
 * its last five batches. A retried batch (same sequence range, same epoch) is answered with its original offsets; a
 * gap is OUT_OF_ORDER_SEQUENCE_NUMBER; an older epoch is fenced with INVALID_PRODUCER_EPOCH, which is what Kafka's
 * Produce answers at every version (since KIP-588 the code means "abortable" to new clients, and older clients
 * already treated it as fencing; PRODUCER_FENCED is only for the transaction APIs). A new epoch must start at
 * sequence 0. A producer this partition does not know (its state was lost or expired) may start at any sequence,
 * as in Kafka. Producers idle for a day (by their last batch's timestamp) are forgotten when a snapshot is written
 * or loaded, as Kafka expires them.
 *
 * Pipelined batches from one producer arrive before earlier ones finish appending, so a batch's sequence range is
 * reserved when it is checked (synchronously, in arrival order), its offsets recorded as soon as the log assigns
 * them (same tick), and its result filled in when the append returns. Snapshots (producer-snapshots.ts) therefore
 * always see a state that matches the log's appended offset.
 */
import { ErrorCode, KafkaError } from '../protocol/error-codes.js';
import type { RecordBatchHeader } from '../protocol/records/batch-header.js';

const CACHED_BATCHES = 5;
/** Kafka's producer.id.expiration.ms default: one day. */
export const PRODUCER_ID_EXPIRATION_MS = 86_400_000;
const INT32_MAX = 2 ** 31 - 1;

export interface BatchOffsets {
  baseOffset: bigint;
  logAppendTimeMs: bigint;
  logStartOffset: bigint;
}

interface BatchEntry {
  firstSeq: number;
  lastSeq: number;
  /** Offsets in the log; -1 until the log has assigned them. */
  baseOffset: number;
  lastOffset: number;
  /** Max timestamp of the batch (its append time for LogAppendTime topics). */
  timestamp: number;
  /** Resolves with the batch's offsets once appended; rejects if the append failed. */
  offsets: Promise<BatchOffsets>;
}

interface ProducerEntry {
  epoch: number;
  batches: BatchEntry[];
}

/** One producer as a snapshot records it (Kafka's snapshot entry: only the last batch). */
export interface ProducerSnapshotEntry {
  producerId: bigint;
  epoch: number;
  lastSeq: number;
  lastOffset: number;
  /** lastSeq - firstSeq of the last batch (= lastOffset - baseOffset). */
  offsetDelta: number;
  timestamp: number;
}

/** What DescribeProducers reports. */
export interface ProducerDescription {
  producerId: bigint;
  epoch: number;
  lastSequence: number;
  lastTimestamp: number;
}

/** What the produce path does with a batch: append it (then settle), or answer a duplicate without appending. */
export type SequenceCheck =
  | {
      kind: 'append';
      /** The log assigned [baseOffset, lastOffset] to the batch (call in the same tick as the append). */
      assigned(baseOffset: number, lastOffset: number): void;
      settle(offsets: BatchOffsets | null): void;
    }
  | { kind: 'duplicate'; offsets: Promise<BatchOffsets> };

const NOT_IDEMPOTENT: SequenceCheck = { kind: 'append', assigned: () => undefined, settle: () => undefined };

function nextSeq(seq: number, count: number): number {
  // Sequences wrap from Int32.MAX to 0.
  return (seq + count) % (INT32_MAX + 1);
}

function prevSeq(seq: number, count: number): number {
  return (((seq - count) % (INT32_MAX + 1)) + INT32_MAX + 1) % (INT32_MAX + 1);
}

export class PartitionProducerState {
  private readonly producers = new Map<bigint, ProducerEntry>();
  /** Base offset of the log's active segment when last seen (the produce path snapshots after a roll). */
  activeSegmentBase = -1;

  /** Reserves the batch's sequence range, or reports it as a duplicate. Throws KafkaError for gaps and fencing. */
  check(header: RecordBatchHeader): SequenceCheck {
    if (header.producerId < 0n) return NOT_IDEMPOTENT;
    const firstSeq = header.baseSequence;
    const lastSeq = nextSeq(firstSeq, header.lastOffsetDelta);
    let entry = this.producers.get(header.producerId);
    if (entry && header.producerEpoch < entry.epoch) {
      throw new KafkaError(
        ErrorCode.INVALID_PRODUCER_EPOCH,
        `producer ${header.producerId} epoch ${header.producerEpoch} is older than ${entry.epoch}`,
      );
    }
    if (entry && header.producerEpoch > entry.epoch) {
      if (firstSeq !== 0) {
        throw new KafkaError(
          ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          `producer ${header.producerId} epoch ${header.producerEpoch} must start at sequence 0, not ${firstSeq}`,
        );
      }
      entry = undefined;
    }
    if (!entry) {
      entry = { epoch: header.producerEpoch, batches: [] };
      this.producers.set(header.producerId, entry);
    } else {
      const dup = entry.batches.find((b) => b.firstSeq === firstSeq && b.lastSeq === lastSeq);
      if (dup) return { kind: 'duplicate', offsets: dup.offsets };
      const last = entry.batches[entry.batches.length - 1];
      if (last && firstSeq !== nextSeq(last.lastSeq, 1)) {
        throw new KafkaError(
          ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          `producer ${header.producerId}: expected sequence ${nextSeq(last.lastSeq, 1)}, got ${firstSeq}`,
        );
      }
    }
    let resolve!: (o: BatchOffsets) => void;
    let reject!: (e: Error) => void;
    const offsets = new Promise<BatchOffsets>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    offsets.catch(() => undefined);
    const batch: BatchEntry = {
      firstSeq,
      lastSeq,
      baseOffset: -1,
      lastOffset: -1,
      timestamp: Number(header.maxTimestamp),
      offsets,
    };
    const owner = entry;
    owner.batches.push(batch);
    if (owner.batches.length > CACHED_BATCHES) owner.batches.shift();
    return {
      kind: 'append',
      assigned: (baseOffset, lastOffset) => {
        batch.baseOffset = baseOffset;
        batch.lastOffset = lastOffset;
      },
      settle: (result) => {
        if (result) {
          if (result.logAppendTimeMs >= 0n) batch.timestamp = Number(result.logAppendTimeMs);
          return resolve(result);
        }
        // The append failed: forget the reservation so that the producer's retry is accepted.
        const i = owner.batches.indexOf(batch);
        if (i >= 0) owner.batches.splice(i, 1);
        reject(new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, 'the original append failed'));
      },
    };
  }

  /** Rebuilds state from a batch read back from the log (loading after a restart). */
  replay(header: RecordBatchHeader): void {
    if (header.producerId < 0n) return;
    let entry = this.producers.get(header.producerId);
    if (!entry || header.producerEpoch > entry.epoch) {
      entry = { epoch: header.producerEpoch, batches: [] };
      this.producers.set(header.producerId, entry);
    } else if (header.producerEpoch < entry.epoch) return;
    const baseOffset = Number(header.baseOffset);
    entry.batches.push({
      firstSeq: header.baseSequence,
      lastSeq: nextSeq(header.baseSequence, header.lastOffsetDelta),
      baseOffset,
      lastOffset: baseOffset + header.lastOffsetDelta,
      timestamp: Number(header.maxTimestamp),
      offsets: Promise.resolve({ baseOffset: header.baseOffset, logAppendTimeMs: -1n, logStartOffset: -1n }),
    });
    if (entry.batches.length > CACHED_BATCHES) entry.batches.shift();
  }

  /** Restores producers from a snapshot (each with its last batch only, as Kafka's snapshots keep it). */
  restore(entries: readonly ProducerSnapshotEntry[]): void {
    this.producers.clear();
    for (const e of entries) {
      const baseOffset = e.lastOffset - e.offsetDelta;
      this.producers.set(e.producerId, {
        epoch: e.epoch,
        batches: [
          {
            firstSeq: prevSeq(e.lastSeq, e.offsetDelta),
            lastSeq: e.lastSeq,
            baseOffset,
            lastOffset: e.lastOffset,
            timestamp: e.timestamp,
            offsets: Promise.resolve({ baseOffset: BigInt(baseOffset), logAppendTimeMs: -1n, logStartOffset: -1n }),
          },
        ],
      });
    }
  }

  /**
   * Every producer's last batch whose offsets are assigned: the state at the log's appended offset, for a
   * snapshot. Producers with no assigned batch (their only append failed) are left out.
   */
  snapshotEntries(): ProducerSnapshotEntry[] {
    const out: ProducerSnapshotEntry[] = [];
    for (const [producerId, e] of this.producers) {
      const last = [...e.batches].reverse().find((b) => b.lastOffset >= 0);
      if (!last) continue;
      out.push({
        producerId,
        epoch: e.epoch,
        lastSeq: last.lastSeq,
        lastOffset: last.lastOffset,
        offsetDelta: last.lastOffset - last.baseOffset,
        timestamp: last.timestamp,
      });
    }
    return out;
  }

  /**
   * Forgets producers whose last batch is older than `expirationMs` (Kafka's producer.id.expiration.ms, judged by
   * the batch's max timestamp as Kafka does), unless a batch of theirs is still being appended. Returns how many.
   */
  removeExpired(nowMs: number, expirationMs = PRODUCER_ID_EXPIRATION_MS): number {
    let removed = 0;
    for (const [producerId, e] of this.producers) {
      const last = e.batches[e.batches.length - 1];
      const appending = e.batches.some((b) => b.lastOffset < 0);
      if (!appending && (!last || nowMs - last.timestamp >= expirationMs)) {
        this.producers.delete(producerId);
        removed++;
      }
    }
    return removed;
  }

  /** Producers known here, for DescribeProducers. */
  describe(): ProducerDescription[] {
    return [...this.producers].map(([producerId, e]) => {
      const last = e.batches[e.batches.length - 1];
      return {
        producerId,
        epoch: e.epoch,
        lastSequence: last ? last.lastSeq : -1,
        lastTimestamp: last ? last.timestamp : -1,
      };
    });
  }
}
