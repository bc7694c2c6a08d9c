import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { IoEngine } from '../../../storage/io/io-engine.js';
import { PartitionLog } from '../../../storage/partition-log.js';
import { RecentBatches } from '../../../storage/recent-batches.js';
import { batchOf, rng } from './helpers/batches.js';
import { removeDir, tempDir, testEngines } from './helpers/engines.js';

/** Batches of `sizes` bytes placed back to back from position 0, offsets 10 per batch from `firstOffset`. */
function fill(ring: RecentBatches, sizes: number[], firstOffset = 0) {
  let position = 0;
  let offset = firstOffset;
  for (const size of sizes) {
    ring.push(position, { size, baseOffset: offset, lastOffset: offset + 9, maxTimestamp: offset, attributes: 0 });
    position += size;
    offset += 10;
  }
  return position;
}

describe('RecentBatches', () => {
  it('finds the batch holding an offset, and null past the tail', () => {
    const ring = new RecentBatches(8);
    const end = fill(ring, [100, 200, 300]);
    expect(ring.findBatch(0, end)).toMatchObject({ position: 0, baseOffset: 0, lastOffset: 9, size: 100 });
    expect(ring.findBatch(15, end)).toMatchObject({ position: 100, baseOffset: 10 });
    expect(ring.findBatch(29, end)).toMatchObject({ position: 300, baseOffset: 20 });
    expect(ring.findBatch(30, end)).toBeNull();
    // A batch placed but not yet written (past `end`) is not visible.
    expect(ring.findBatch(25, 300)).toBeNull();
  });

  it('does not answer for offsets older than what it holds', () => {
    const ring = new RecentBatches(4);
    const end = fill(ring, [10, 10, 10, 10, 10, 10]);
    expect(ring.size).toBe(4);
    expect(ring.findBatch(15, end)).toBeUndefined();
    expect(ring.findBatch(20, end)).toMatchObject({ position: 20, baseOffset: 20 });
    expect(ring.boundaryAtOrBefore(10, 1000, end)).toBeUndefined();
  });

  it('drops entries a truncation cut off when the segment is written again', () => {
    const ring = new RecentBatches(8);
    fill(ring, [100, 100, 100]);
    // Cut back to position 100 (offset 10), then a different batch goes there.
    ring.push(100, { size: 50, baseOffset: 10, lastOffset: 11, maxTimestamp: 0, attributes: 0 });
    expect(ring.size).toBe(2);
    expect(ring.findBatch(12, 150)).toBeNull();
    expect(ring.findBatch(11, 150)).toMatchObject({ position: 100, size: 50, lastOffset: 11 });
  });

  it('starts over when a placement is not contiguous with what it holds', () => {
    const ring = new RecentBatches(8);
    fill(ring, [100, 100]);
    ring.push(500, { size: 10, baseOffset: 50, lastOffset: 50, maxTimestamp: 0, attributes: 0 });
    expect(ring.size).toBe(1);
    expect(ring.findBatch(10, 510)).toBeUndefined();
  });

  it('finds the last boundary within a byte budget', () => {
    const ring = new RecentBatches(8);
    const end = fill(ring, [100, 200, 300]);
    expect(ring.boundaryAtOrBefore(0, 350, end)).toMatchObject({ end: 300, lastOffset: 19 });
    expect(ring.boundaryAtOrBefore(0, 300, end)).toMatchObject({ end: 300, lastOffset: 19 });
    expect(ring.boundaryAtOrBefore(0, 299, end)).toMatchObject({ end: 100, lastOffset: 9 });
    expect(ring.boundaryAtOrBefore(100, 350, end)).toMatchObject({ end: 300, lastOffset: 19 });
    expect(ring.boundaryAtOrBefore(100, 250, end)).toMatchObject({ end: 100, lastOffset: 9 });
    expect(ring.boundaryAtOrBefore(0, 10_000, end)).toMatchObject({ end: 600, lastOffset: 29 });
    expect(ring.boundaryAtOrBefore(0, 10_000, 300)).toMatchObject({ end: 300, lastOffset: 19 });
    expect(ring.boundaryAtOrBefore(50, 10_000, end)).toBeUndefined();
  });
});

const engines = await testEngines();

describe.each(engines)('reads served from recent batches match reads from the file ($name engine)', ({ create }) => {
  let engine: IoEngine | undefined;
  let root: string | undefined;
  let log: PartitionLog | undefined;

  afterEach(async () => {
    await log?.close();
    await engine?.close();
    if (root) removeDir(root);
  });

  it('for random offsets and byte budgets, across rolled segments', async () => {
    root = tempDir();
    engine = await create();
    log = await PartitionLog.open({
      dir: path.join(root, 't-0'),
      topic: 't',
      partition: 0,
      engine,
      config: { 'segment.bytes': 64 * 1024, 'index.interval.bytes': 4096 },
    });
    const random = rng(7);
    for (let i = 0; i < 400; i++) {
      await log.append(batchOf(1 + Math.floor(random() * 5), 20 + Math.floor(random() * 600), i));
    }
    const end = log.writtenOffset;
    const cases: Array<[number, number, boolean]> = [];
    for (let i = 0; i < 300; i++)
      cases.push([Math.floor(random() * end), Math.floor(random() * 20_000), random() < 0.5]);
    const strip = (rs: Awaited<ReturnType<PartitionLog['read']>>) =>
      rs.map(({ position, length, firstOffset, lastOffset, segmentFile }) => ({
        position,
        length,
        firstOffset,
        lastOffset,
        segmentFile,
      }));
    const cached = [];
    for (const [offset, maxBytes, minOneBatch] of cases)
      cached.push(strip(await log.read(offset, maxBytes, { minOneBatch })));
    expect(log.segments.length).toBeGreaterThan(2);
    expect(log.segments.at(-1)!.recent.size).toBeGreaterThan(0);
    for (const seg of log.segments) seg.recent.clear();
    for (let i = 0; i < cases.length; i++) {
      const [offset, maxBytes, minOneBatch] = cases[i]!;
      expect(strip(await log.read(offset, maxBytes, { minOneBatch })), `case ${i}`).toEqual(cached[i]);
    }
  });
});
