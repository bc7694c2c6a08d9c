import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../../protocol/error-codes.js';
import { FaultyEngine } from '../../../../storage/io/faulty-engine.js';
import { openIoEngine } from '../../../../storage/io/select-engine.js';
import { SyncEngine } from '../../../../storage/io/sync-engine.js';
import { StorageError } from '../../../../storage/storage-error.js';
import { removeDir, tempDir, testEngines } from '../helpers/engines.js';

const engines = await testEngines();

describe.each(engines)('IoEngine contract ($name)', ({ create }) => {
  it('writes at positions, counts, fdatasyncs and drains on close', async () => {
    const dir = tempDir();
    const engine = await create();
    try {
      const f = path.join(dir, 'f');
      const fd = fs.openSync(f, 'w+');
      const big = Buffer.alloc(3 << 20, 7);
      await Promise.all([engine.write(fd, Buffer.from('hello'), 0), engine.write(fd, big, 5)]);
      await engine.fdatasync(fd);
      await engine.fallocate(fd, 0, 1 << 20, true);
      const s = engine.stats();
      expect(s.bytesWritten).toBe(5 + big.length);
      expect(s.inFlight).toBe(0);
      const got = fs.readFileSync(f);
      expect(got.subarray(0, 5).toString()).toBe('hello');
      expect(got.subarray(5).equals(big)).toBe(true);
      fs.closeSync(fd);
      await expect(engine.write(fd, Buffer.from('x'), 0)).rejects.toBeInstanceOf(StorageError);
      await expect(engine.fdatasync(fd)).rejects.toMatchObject({ errorCode: ErrorCode.KAFKA_STORAGE_ERROR });
    } finally {
      await engine.close();
      removeDir(dir);
    }
  });
});

describe('SyncEngine', () => {
  it('uses a native fallocate when given one, and skips preallocation without it', async () => {
    const calls: number[][] = [];
    const withNative = new SyncEngine({ fallocateSync: (fd, mode, off, len) => void calls.push([fd, mode, off, len]) });
    await withNative.fallocate(9, 0, 100, true);
    await withNative.fallocate(9, 0, 100, false);
    expect(calls).toEqual([
      [9, 1, 0, 100],
      [9, 0, 0, 100],
    ]);
    expect(withNative.preallocates).toBe(true);
    const without = new SyncEngine();
    await without.fallocate(9, 0, 100, false);
    expect(without.preallocates).toBe(false);
    const failing = new SyncEngine({
      fallocateSync: () => {
        throw Object.assign(new Error('no space'), { code: 'ENOSPC', syscall: 'fallocate' });
      },
    });
    await expect(failing.fallocate(1, 0, 1, false)).rejects.toMatchObject({ errno: 'ENOSPC', syscall: 'fallocate' });
  });
});

describe('openIoEngine', () => {
  it('gives the sync engine when asked, and reports why it fell back otherwise (logged once)', async () => {
    const lines: string[] = [];
    const logger = { info: (m: string) => lines.push(`info ${m}`), warn: (m: string) => lines.push(`warn ${m}`) };
    const sync = await openIoEngine({ engine: 'sync' });
    expect(sync).toMatchObject({ name: 'sync', reason: 'requested' });
    await sync.engine.close();
    const auto = await openIoEngine({ engine: 'uring', logger });
    const again = await openIoEngine({ engine: 'auto', logger });
    if (auto.name === 'sync') {
      expect(auto.reason).toMatch(/io_uring unavailable/);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^warn storage I\/O engine: sync \(io_uring unavailable/);
    } else {
      expect(auto.name).toBe('uring');
      expect(lines).toEqual(['info storage I/O engine: uring (requested)']);
    }
    await auto.engine.close();
    await again.engine.close();
  });
});

describe('FaultyEngine', () => {
  it('fails the N-th write and fdatasync with the chosen errno, optionally leaving a prefix', async () => {
    const dir = tempDir();
    const engine = new FaultyEngine(new SyncEngine(), {
      failWrite: 2,
      failFdatasync: 1,
      errno: 'ENOSPC',
      partialBytes: 3,
    });
    try {
      const f = path.join(dir, 'f');
      const fd = fs.openSync(f, 'w+');
      await engine.write(fd, Buffer.from('abc'), 0);
      await expect(engine.write(fd, Buffer.from('defgh'), 3)).rejects.toMatchObject({
        errno: 'ENOSPC',
        syscall: 'write',
      });
      await engine.write(fd, Buffer.from('ij'), 8);
      await expect(engine.fdatasync(fd)).rejects.toMatchObject({ errno: 'ENOSPC', syscall: 'fdatasync' });
      await engine.fdatasync(fd);
      expect(fs.readFileSync(f).toString()).toBe('abcdef\0\0ij');
      fs.closeSync(fd);
    } finally {
      await engine.close();
      removeDir(dir);
    }
  });
});
