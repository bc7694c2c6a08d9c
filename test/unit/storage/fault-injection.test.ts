/**
 * Disk errors: ENOSPC / EIO at the N-th write or fdatasync give StorageError, take the partition offline for
 * writes, lose nothing written before, and leave reads working. Nothing of a failed append becomes visible, even
 * after a restart.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { FaultyEngine } from '../../../storage/io/faulty-engine.js';
import type { IoEngine } from '../../../storage/io/io-engine.js';
import { PartitionLog } from '../../../storage/partition-log.js';
import { StorageError } from '../../../storage/storage-error.js';
import { batchOf } from './helpers/batches.js';
import { removeDir, tempDir, testEngines } from './helpers/engines.js';

const engines = await testEngines();

describe.each(engines)('fault injection on $name engine', ({ create }) => {
  let root = '';
  let inner: IoEngine | undefined;
  afterEach(async () => {
    await inner?.close();
    inner = undefined;
    if (root) removeDir(root);
  });

  async function contents(log: PartitionLog): Promise<Buffer> {
    const ranges = await log.read(log.logStartOffset, 1 << 24);
    return Buffer.concat(await Promise.all(ranges.map((r) => log.readBytes(r))));
  }

  for (const errno of ['ENOSPC', 'EIO'] as const) {
    it(`${errno} at the 5th write: StorageError, offline for writes, earlier data kept and readable`, async () => {
      root = tempDir();
      inner = await create();
      const engine = new FaultyEngine(inner, { failWrite: 5, errno, partialBytes: 40 });
      const dir = path.join(root, 't-0');
      const log = await PartitionLog.open({ dir, topic: 't', partition: 0, engine, config: { 'segment.bytes': 2000 } });
      const stored: Buffer[] = [];
      for (let i = 0; i < 4; i++) {
        const b = batchOf(2, 100, i);
        await log.append(b, { acks: -1 });
        stored.push(b);
      }
      // Three concurrent appends: the first fails; the ones behind it must fail too, even if their writes land.
      const results = await Promise.allSettled([
        log.append(batchOf(2, 100, 10)),
        log.append(batchOf(2, 100, 11)),
        log.append(batchOf(2, 100, 12), { acks: -1 }),
      ]);
      for (const r of results) {
        expect(r.status).toBe('rejected');
        const err = (r as PromiseRejectedResult).reason;
        expect(err).toBeInstanceOf(StorageError);
        expect(err).toMatchObject({ errorCode: ErrorCode.KAFKA_STORAGE_ERROR, errno });
      }
      expect(log.offlineError).toBeInstanceOf(StorageError);
      expect(log.logEndOffset).toBe(8);
      expect(log.appendedOffset).toBe(14);
      await expect(log.append(batchOf(1, 1, 1))).rejects.toBeInstanceOf(StorageError);
      // Reads of what was written keep working, and show nothing else.
      expect((await contents(log)).equals(Buffer.concat(stored))).toBe(true);
      await expect(log.read(9, 100)).rejects.toMatchObject({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE });
      await log.abandon();
      // After a restart, the torn prefix of the failed write (and anything after it) is gone.
      const again = await PartitionLog.open({ dir, topic: 't', partition: 0, engine: inner, clean: false });
      expect(again.logEndOffset).toBe(8);
      expect((await contents(again)).equals(Buffer.concat(stored))).toBe(true);
      expect((await again.append(batchOf(1, 1, 2))).baseOffset).toBe(8);
      await again.close();
    });
  }

  it('EIO on fdatasync fails acks=-1 appends waiting for it, and the partition goes offline', async () => {
    root = tempDir();
    inner = await create();
    const engine = new FaultyEngine(inner, { failFdatasync: 2, errno: 'EIO' });
    const dir = path.join(root, 't-0');
    const log = await PartitionLog.open({ dir, topic: 't', partition: 0, engine });
    await log.append(batchOf(1, 10, 1), { acks: -1 });
    await expect(log.append(batchOf(1, 10, 2), { acks: -1 })).rejects.toMatchObject({
      errno: 'EIO',
      syscall: 'fdatasync',
    });
    expect(log.flushedOffset).toBe(1);
    expect(log.logEndOffset).toBe(2);
    expect(log.offlineError).not.toBeNull();
    expect((await log.read(0, 1000)).length).toBe(1);
    await log.abandon();
  });
});
