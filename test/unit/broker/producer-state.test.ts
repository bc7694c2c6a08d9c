import { describe, expect, it } from 'vitest';
import { PartitionProducerState, type SequenceCheck } from '../../../broker/producer-state.js';
import { ErrorCode, KafkaError } from '../../../protocol/error-codes.js';
import type { RecordBatchHeader } from '../../../protocol/records/batch-header.js';

function header(producerId: bigint, producerEpoch: number, baseSequence: number, count: number): RecordBatchHeader {
  return {
    baseOffset: 0n,
    batchLength: 100,
    partitionLeaderEpoch: 0,
    magic: 2,
    crc: 0,
    attributes: 0,
    lastOffsetDelta: count - 1,
    baseTimestamp: 5n,
    maxTimestamp: 9n,
    producerId,
    producerEpoch,
    baseSequence,
    recordsCount: count,
  };
}

/** Checks and "appends" at `offset`, as the produce path does. */
function append(state: PartitionProducerState, h: RecordBatchHeader, offset: number): SequenceCheck {
  const c = state.check(h);
  if (c.kind === 'append') {
    c.assigned(offset, offset + h.lastOffsetDelta);
    c.settle({ baseOffset: BigInt(offset), logAppendTimeMs: -1n, logStartOffset: 0n });
  }
  return c;
}

function errorOf(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    if (err instanceof KafkaError) return err.errorCode;
    throw err;
  }
  return ErrorCode.NONE;
}

describe('PartitionProducerState', () => {
  it('passes non-idempotent batches through', () => {
    const s = new PartitionProducerState();
    expect(s.check(header(-1n, -1, -1, 3)).kind).toBe('append');
    expect(s.describe()).toEqual([]);
  });

  it('answers any of the last five batches as duplicates with their offsets', async () => {
    const s = new PartitionProducerState();
    for (let i = 0; i < 6; i++) append(s, header(1n, 0, i * 2, 2), i * 2);
    const dup = s.check(header(1n, 0, 2, 2));
    expect(dup.kind).toBe('duplicate');
    if (dup.kind === 'duplicate') expect((await dup.offsets).baseOffset).toBe(2n);
    // The first batch fell out of the cache: it is now out of order rather than a duplicate.
    expect(errorOf(() => s.check(header(1n, 0, 0, 2)))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });

  it('refuses gaps and fences older epochs; a new epoch starts at 0', () => {
    const s = new PartitionProducerState();
    append(s, header(1n, 3, 0, 1), 0);
    expect(errorOf(() => s.check(header(1n, 3, 2, 1)))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(errorOf(() => s.check(header(1n, 2, 1, 1)))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(errorOf(() => s.check(header(1n, 4, 7, 1)))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    append(s, header(1n, 4, 0, 1), 1);
    expect(s.describe()).toEqual([{ producerId: 1n, epoch: 4, lastSequence: 0, lastTimestamp: 9 }]);
  });

  it('accepts any first sequence from an unknown producer, as Kafka does', () => {
    const s = new PartitionProducerState();
    expect(s.check(header(8n, 0, 57, 1)).kind).toBe('append');
  });

  it('wraps sequences past Int32.MAX', () => {
    const s = new PartitionProducerState();
    append(s, header(1n, 0, 2 ** 31 - 2, 2), 0);
    expect(s.check(header(1n, 0, 0, 1)).kind).toBe('append');
  });

  it('forgets a failed append so that the retry is accepted', () => {
    const s = new PartitionProducerState();
    append(s, header(1n, 0, 0, 1), 0);
    const c = s.check(header(1n, 0, 1, 1));
    if (c.kind !== 'append') throw new Error('expected append');
    c.settle(null);
    expect(s.check(header(1n, 0, 1, 1)).kind).toBe('append');
  });

  it('snapshots only batches with assigned offsets and restores the last one', async () => {
    const s = new PartitionProducerState();
    append(s, header(1n, 0, 0, 3), 10);
    s.check(header(2n, 0, 0, 1)); // reserved, never assigned (its append failed synchronously)
    const entries = s.snapshotEntries();
    expect(entries).toEqual([{ producerId: 1n, epoch: 0, lastSeq: 2, lastOffset: 12, offsetDelta: 2, timestamp: 9 }]);
    const restored = new PartitionProducerState();
    restored.restore(entries);
    const dup = restored.check(header(1n, 0, 0, 3));
    expect(dup.kind).toBe('duplicate');
    if (dup.kind === 'duplicate') expect((await dup.offsets).baseOffset).toBe(10n);
    expect(restored.check(header(1n, 0, 3, 1)).kind).toBe('append');
  });

  it('expires producers idle for longer than the expiration, but not while appending', () => {
    const s = new PartitionProducerState();
    append(s, header(1n, 0, 0, 1), 0); // max timestamp 9
    const pending = s.check(header(2n, 0, 0, 1)); // not yet assigned: still appending
    expect(pending.kind).toBe('append');
    expect(s.removeExpired(9 + 999, 1000)).toBe(0);
    expect(s.removeExpired(9 + 1000, 1000)).toBe(1);
    expect(s.describe().map((p) => p.producerId)).toEqual([2n]);
  });
});
