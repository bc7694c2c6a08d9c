import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CorruptSnapshotError,
  decodeSnapshot,
  encodeSnapshot,
  listSnapshots,
  loadProducerState,
  writeSnapshot,
} from '../../../broker/producer-snapshots.js';
import type { PartitionProducerState } from '../../../broker/producer-state.js';
import { encodeRecordBatch } from '../../../protocol/records/encode-batch.js';
import { openSyncEngine, type SyncEngine } from '../../../storage/io/sync-engine.js';
import { PartitionLog } from '../../../storage/partition-log.js';

/** Recent timestamps: producers idle for a day are expired when snapshots are written and loaded. */
const NOW = BigInt(Date.now());
let dir: string;
let engine: SyncEngine;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'admin-helper-snap-'));
  engine = await openSyncEngine();
});

afterEach(async () => {
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
});

function openLog(clean: boolean) {
  return PartitionLog.open({
    dir,
    topic: 't',
    partition: 0,
    engine,
    clean,
    config: { 'segment.bytes': 100_000, preallocate: false },
  });
}

function batch(producerId: bigint, epoch: number, seq: number, count: number) {
  return encodeRecordBatch({
    producerId,
    producerEpoch: epoch,
    baseSequence: seq,
    records: Array.from({ length: count }, (_, i) => ({ value: `v${seq + i}`, timestamp: NOW + BigInt(seq + i) })),
  });
}

/** Appends as the produce path does: check, append, record the assigned offsets, settle. */
async function append(log: PartitionLog, state: PartitionProducerState, records: Buffer) {
  const { validateProduceRecords } = await import('../../../protocol/records/record-batch.js');
  const check = state.check(validateProduceRecords(records));
  if (check.kind !== 'append') throw new Error('unexpected duplicate');
  const before = log.appendedOffset;
  const appending = log.append(records, { acks: -1 });
  check.assigned(before, log.appendedOffset - 1);
  const r = await appending;
  check.settle({ baseOffset: BigInt(r.baseOffset), logAppendTimeMs: -1n, logStartOffset: 0n });
}

describe('snapshot format', () => {
  it('round-trips entries in Kafka layout and detects corruption', () => {
    const entries = [
      { producerId: 7n, epoch: 2, lastSeq: 41, lastOffset: 1234, offsetDelta: 4, timestamp: 1_700_000_000_000 },
      { producerId: 2n ** 40n, epoch: 0, lastSeq: 0, lastOffset: 0, offsetDelta: 0, timestamp: -1 },
    ];
    const bytes = encodeSnapshot(entries);
    expect(bytes.length).toBe(10 + 2 * 46);
    expect(bytes.readInt16BE(0)).toBe(1);
    expect(bytes.readInt32BE(6)).toBe(2);
    expect(bytes.readInt32BE(10 + 34)).toBe(-1); // coordinator epoch
    expect(decodeSnapshot(bytes)).toEqual(entries);
    const bad = Buffer.from(bytes);
    bad[20] ^= 1;
    expect(() => decodeSnapshot(bad)).toThrow(CorruptSnapshotError);
    expect(() => decodeSnapshot(bytes.subarray(0, 30))).toThrow(CorruptSnapshotError);
  });
});

describe('loadProducerState', () => {
  it('restores the newest snapshot and replays the log after it', async () => {
    const log = await openLog(true);
    const state = await loadProducerState(log);
    await append(log, state, batch(1n, 0, 0, 3));
    await append(log, state, batch(2n, 0, 0, 2));
    expect(await writeSnapshot(log, state)).toMatch(/00000000000000000005\.snapshot$/);
    await append(log, state, batch(1n, 0, 3, 2));
    await append(log, state, batch(2n, 1, 0, 1));
    await log.abandon();

    const reopened = await openLog(false);
    const loaded = await loadProducerState(reopened);
    expect(loaded.describe()).toEqual([
      { producerId: 1n, epoch: 0, lastSequence: 4, lastTimestamp: Number(NOW) + 4 },
      { producerId: 2n, epoch: 1, lastSequence: 0, lastTimestamp: Number(NOW) },
    ]);
    // The batch replayed from the log is a duplicate; so is the snapshot's last batch of a producer.
    const { validateProduceRecords } = await import('../../../protocol/records/record-batch.js');
    const dup = loaded.check(validateProduceRecords(batch(1n, 0, 3, 2)));
    expect(dup.kind).toBe('duplicate');
    if (dup.kind === 'duplicate') expect((await dup.offsets).baseOffset).toBe(5n);
    await reopened.close();
  });

  it('deletes snapshots beyond the log end and corrupt ones, then replays from further back', async () => {
    const log = await openLog(true);
    const state = await loadProducerState(log);
    await append(log, state, batch(9n, 0, 0, 2));
    await writeSnapshot(log, state); // at 2
    await append(log, state, batch(9n, 0, 2, 2));
    await writeSnapshot(log, state); // at 4
    await log.close();
    // A snapshot past the log end (as after a truncation) and a corrupt newest one.
    writeFileSync(join(dir, '00000000000000000099.snapshot'), encodeSnapshot([]));
    writeFileSync(join(dir, '00000000000000000004.snapshot'), Buffer.from('garbage'));
    const warnings: string[] = [];
    const reopened = await openLog(true);
    const loaded = await loadProducerState(reopened, (m) => warnings.push(m));
    expect(listSnapshots(dir).map((s) => s.offset)).toEqual([2]);
    expect(warnings).toEqual([expect.stringMatching(/corrupt producer snapshot/)]);
    expect(loaded.describe()).toEqual([{ producerId: 9n, epoch: 0, lastSequence: 3, lastTimestamp: Number(NOW) + 3 }]);
    await reopened.close();
  });

  it('keeps only the two newest snapshots and no temp files', async () => {
    const log = await openLog(true);
    const state = await loadProducerState(log);
    for (let i = 0; i < 4; i++) {
      await append(log, state, batch(3n, 0, i, 1));
      await writeSnapshot(log, state);
    }
    expect(readdirSync(dir).filter((f) => f.includes('.snapshot'))).toEqual([
      '00000000000000000003.snapshot',
      '00000000000000000004.snapshot',
    ]);
    await log.close();
  });

  it('replays the log by reading batch headers only, not the records', async () => {
    const big = () =>
      PartitionLog.open({ dir, topic: 't', partition: 0, engine, clean: false, config: { preallocate: false } });
    const log = await big();
    const state = await loadProducerState(log);
    const value = Buffer.alloc(256 * 1024, 0x61);
    for (let i = 0; i < 20; i++) {
      const producerId = BigInt(1 + (i % 2));
      const records = encodeRecordBatch({
        producerId,
        producerEpoch: 0,
        baseSequence: i >> 1,
        records: [{ value, timestamp: NOW + BigInt(i) }],
      });
      await append(log, state, records);
    }
    await log.abandon();
    const reopened = await big();
    // rchar counts every byte this process reads (page cache hits included).
    const rchar = () => Number(/rchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
    const before = rchar();
    const loaded = await loadProducerState(reopened);
    const read = rchar() - before;
    expect(loaded.describe()).toEqual([
      { producerId: 1n, epoch: 0, lastSequence: 9, lastTimestamp: Number(NOW) + 18 },
      { producerId: 2n, epoch: 0, lastSequence: 9, lastTimestamp: Number(NOW) + 19 },
    ]);
    // 20 batches of 256 KiB (5 MiB): one 4 KiB window per header, plus the reading of /proc itself.
    expect(read).toBeLessThan(20 * 4096 + 16 * 1024);
    await reopened.close();
  });
});
