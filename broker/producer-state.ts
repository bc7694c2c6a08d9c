/**
 * Idempotent-producer state per partition, as Kafka keeps it: for each producer id its epoch and the metadata of
 * its last five batches. A retried batch (same sequence range) is answered with its original offsets; a gap is
 * OUT_OF_ORDER_SEQUENCE_NUMBER; an older epoch is fenced (INVALID_PRODUCER_EPOCH).
 *
 * Pipelined batches from one producer arrive before earlier ones finish appending, so a batch's sequence range is
 * reserved when it is checked (synchronously, in arrival order) and its offsets filled in when the append returns.
 */
import { ErrorCode, KafkaError } from '../protocol/error-codes.js';
import type { RecordBatchHeader } from '../protocol/records/batch-header.js';

const CACHED_BATCHES = 5;
const INT32_MAX = 2 ** 31 - 1;

export interface BatchOffsets {
  baseOffset: bigint;
  logAppendTimeMs: bigint;
  logStartOffset: bigint;
}

interface BatchEntry {
  firstSeq: number;
  lastSeq: number;
  /** Resolves with the batch's offsets once appended; rejects if the append failed. */
  offsets: Promise<BatchOffsets>;
}

interface ProducerEntry {
  epoch: number;
  batches: BatchEntry[];
}

export interface ProducerSnapshotEntry {
  producerId: bigint;
  epoch: number;
  lastSeq: number;
  lastOffset: bigint;
}

/** What the produce path does with a batch: append it (then settle), or answer a duplicate without appending. */
export type SequenceCheck =
  | { kind: 'append'; settle(offsets: BatchOffsets | null): void }
  | { kind: 'duplicate'; offsets: Promise<BatchOffsets> };

const NOT_IDEMPOTENT: SequenceCheck = { kind: 'append', settle: () => undefined };

function nextSeq(seq: number, count: number): number {
  // Sequences wrap from Int32.MAX to 0.
  return (seq + count) % (INT32_MAX + 1);
}

export class PartitionProducerState {
  private readonly producers = new Map<bigint, ProducerEntry>();

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
    if (!entry || header.producerEpoch > entry.epoch) {
      if (firstSeq !== 0) {
        throw new KafkaError(
          ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          `producer ${header.producerId} epoch ${header.producerEpoch} must start at sequence 0, not ${firstSeq}`,
        );
      }
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
    const batch: BatchEntry = { firstSeq, lastSeq, offsets };
    const owner = entry;
    owner.batches.push(batch);
    if (owner.batches.length > CACHED_BATCHES) owner.batches.shift();
    return {
      kind: 'append',
      settle: (result) => {
        if (result) return resolve(result);
        // The append failed: forget the reservation so that the producer's retry is accepted.
        const i = owner.batches.indexOf(batch);
        if (i >= 0) owner.batches.splice(i, 1);
        reject(new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, 'the original append failed'));
      },
    };
  }

  /** Rebuilds state from a batch read back from the log (recovery). */
  replay(header: RecordBatchHeader): void {
    if (header.producerId < 0n) return;
    let entry = this.producers.get(header.producerId);
    if (!entry || header.producerEpoch > entry.epoch) {
      entry = { epoch: header.producerEpoch, batches: [] };
      this.producers.set(header.producerId, entry);
    } else if (header.producerEpoch < entry.epoch) return;
    const offsets = Promise.resolve({ baseOffset: header.baseOffset, logAppendTimeMs: -1n, logStartOffset: -1n });
    entry.batches.push({
      firstSeq: header.baseSequence,
      lastSeq: nextSeq(header.baseSequence, header.lastOffsetDelta),
      offsets,
    });
    if (entry.batches.length > CACHED_BATCHES) entry.batches.shift();
  }

  /** Producers known here, for DescribeProducers. */
  describe(): Array<{ producerId: bigint; epoch: number; lastSequence: number }> {
    return [...this.producers].map(([producerId, e]) => ({
      producerId,
      epoch: e.epoch,
      lastSequence: e.batches.length > 0 ? e.batches[e.batches.length - 1].lastSeq : -1,
    }));
  }
}
