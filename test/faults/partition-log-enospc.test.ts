/**
 * Out-of-space recovery in PartitionLog itself, on every engine, with the FaultyEngine: concurrent appends across a
 * segment roll where the write in the old segment fails with ENOSPC (so the new segment starts past the written
 * end and must be removed), a torn prefix of the failed write on disk, and the later writes landing but rejected.
 * After OUT_OF_SPACE_RETRY_MS the partition takes appends again at the written end, reads show exactly the
 * acknowledged batches, and both a clean reopen and a crash reopen agree. EIO in the same spot is never retried.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultyEngine } from '../../storage/io/faulty-engine.js';
import type { IoEngine } from '../../storage/io/io-engine.js';
import { OUT_OF_SPACE_RETRY_MS, PartitionLog } from '../../storage/partition-log.js';
import { StorageError } from '../../storage/storage-error.js';
import { batchOf } from '../unit/storage/helpers/batches.js';
import { removeDir, tempDir, testEngines } from '../unit/storage/helpers/engines.js';

const engines = await testEngines();
const CONFIG = { 'segment.bytes': 4000, 'index.interval.bytes': 500 };

async function contents(log: PartitionLog): Promise<Buffer> {
  const ranges = await log.read(log.logStartOffset, 1 << 24);
  return Buffer.concat(await Promise.all(ranges.map((r) => log.readBytes(r))));
}

/** Waits until the partition is writable again (the retry timer fired and recovery ran), or gives up. */
async function waitWritable(log: PartitionLog): Promise<void> {
  for (let i = 0; i < 50 && log.offlineError; i++) {
    await new Promise((r) => setTimeout(r, OUT_OF_SPACE_RETRY_MS / 5));
  }
}

describe.each(engines)('ENOSPC recovery on the $name engine', ({ create }) => {
  let root = '';
  let inner: IoEngine | undefined;
  afterEach(async () => {
    await inner?.close();
    inner = undefined;
    if (root) removeDir(root);
  });

  for (const errno of ['ENOSPC', 'EIO'] as const) {
    it(`${errno} in the old segment's last write, with a roll behind it`, async () => {
      root = tempDir('faults-enospc-');
      inner = await create();
      const engine = new FaultyEngine(inner);
      const dir = path.join(root, 't-0');
      const warnings: string[] = [];
      const log = await PartitionLog.open({
        dir,
        topic: 't',
        partition: 0,
        engine,
        config: CONFIG,
        warn: (m) => warnings.push(m),
      });
      const acked: Buffer[] = [];
      // Two ~1.1 KB batches in a 4000-byte segment: the next fits, the one after rolls.
      for (let i = 0; i < 2; i++) {
        const b = batchOf(2, 500, i);
        await log.append(b, { acks: -1 });
        acked.push(b);
      }
      const written = log.writtenOffset;
      const segmentsBefore = log.segments.length;
      // Four concurrent appends: the first fills the active segment, the second rolls. The first write fails after
      // 50 bytes reach the file; the rest land but must be rejected.
      engine.writes = 0;
      engine.plan = { failWrite: 1, errno, partialBytes: 50 };
      const results = await Promise.allSettled(
        Array.from({ length: 4 }, (_, i) => log.append(batchOf(2, 500, 10 + i), { acks: -1 })),
      );
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
      expect(log.segments.length).toBe(segmentsBefore + 1);
      expect(log.offlineError).toBeInstanceOf(StorageError);
      expect(log.offlineError?.errno).toBe(errno);
      expect(log.writtenOffset).toBe(written);
      const offline = warnings.filter((w) => w.includes('is offline for writes'));
      expect(offline).toHaveLength(1);
      expect(offline[0]).toContain(`${errno} in write on ${path.join(dir, '00000000000000000000.log')}`);

      engine.plan = {};
      if (errno === 'EIO') await new Promise((r) => setTimeout(r, OUT_OF_SPACE_RETRY_MS * 1.5));
      else await waitWritable(log);
      if (errno === 'EIO') {
        // Never retried: still offline after many retry intervals, nothing changed.
        expect(log.offlineError?.errno).toBe('EIO');
        await expect(log.append(batchOf(1, 10, 99))).rejects.toBeInstanceOf(StorageError);
        await log.close();
        const again = await PartitionLog.open({ dir, topic: 't', partition: 0, engine, config: CONFIG, clean: false });
        expect(again.logEndOffset).toBe(written);
        expect((await contents(again)).equals(Buffer.concat(acked))).toBe(true);
        await again.close();
        return;
      }
      expect(log.offlineError).toBeNull();
      expect(warnings.some((w) => w.includes(`is writable again at offset ${written}`))).toBe(true);
      // The segment rolled for the failed appends is gone; the old one is active again, cut back to its end.
      expect(log.segments.length).toBe(segmentsBefore);
      const active = log.segments.at(-1)!;
      expect(fs.statSync(active.logPath).size).toBe(active.writtenPosition);
      expect(log.appendedOffset).toBe(written);
      expect((await contents(log)).equals(Buffer.concat(acked))).toBe(true);

      // Appends resume at the written end, rolling again as they go.
      for (let i = 0; i < 6; i++) {
        const b = batchOf(2, 500, 20 + i);
        const r = await log.append(b, { acks: -1 });
        expect(r.baseOffset).toBe(written + 2 * i);
        acked.push(b);
      }
      expect((await contents(log)).equals(Buffer.concat(acked))).toBe(true);
      await log.close();

      // A clean reopen and a crash reopen (abandon: no flush, no trim) both hold exactly the acknowledged batches.
      const clean = await PartitionLog.open({ dir, topic: 't', partition: 0, engine, config: CONFIG, clean: true });
      expect((await contents(clean)).equals(Buffer.concat(acked))).toBe(true);
      const b = batchOf(1, 300, 40);
      await clean.append(b, { acks: -1 });
      acked.push(b);
      await clean.abandon();
      const crashed = await PartitionLog.open({ dir, topic: 't', partition: 0, engine, config: CONFIG, clean: false });
      expect((await contents(crashed)).equals(Buffer.concat(acked))).toBe(true);
      await crashed.close();
    });
  }
});
