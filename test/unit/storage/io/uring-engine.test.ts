import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNative } from '../../../../native/index.js';
import { ErrorCode } from '../../../../protocol/error-codes.js';
import { createUringEngine, IoUringUnavailableError, type UringEngine } from '../../../../storage/io/uring-engine.js';
import { StorageError } from '../../../../storage/storage-error.js';
import { seededBytes, tempDir } from '../../native/helpers.js';

const native = loadNative();
const usable = native?.probe().ioUring === true;

describe('createUringEngine when io_uring is unavailable', () => {
  it('throws IoUringUnavailableError without the addon', () => {
    expect(() => createUringEngine({ native: null })).toThrow(IoUringUnavailableError);
  });

  it.runIf(native)('throws IoUringUnavailableError (ENOSYS, a StorageError) under BERTH_DISABLE_IO_URING=1', () => {
    process.env.BERTH_DISABLE_IO_URING = '1';
    try {
      let caught: unknown;
      try {
        createUringEngine();
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(IoUringUnavailableError);
      expect(caught).toBeInstanceOf(StorageError);
      expect((caught as StorageError).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
      expect((caught as StorageError).errno).toBe('ENOSYS');
      expect((caught as IoUringUnavailableError).reason).toMatch(/BERTH_DISABLE_IO_URING/);
    } finally {
      delete process.env.BERTH_DISABLE_IO_URING;
    }
  });
});

describe.runIf(usable)('UringEngine', () => {
  const tmp = tempDir('uring-engine');
  let engine: UringEngine;

  beforeAll(() => {
    engine = createUringEngine({ entries: 64, bufferCount: 4, bufferSize: 16 * 1024 });
  });
  afterAll(async () => {
    await engine.close();
    tmp.remove();
  });

  it('is the uring engine', () => {
    expect(engine.name).toBe('uring');
  });

  it('writes concurrently at increasing positions and counts what it did', async () => {
    const fd = openSync(tmp.file('00000000000000000000.log'), 'w+');
    try {
      const before = engine.stats();
      const parts: Buffer[] = [];
      const writes: Promise<void>[] = [];
      let position = 0;
      for (let i = 0; i < 100; i++) {
        const data = seededBytes(100 + ((i * 7919) % 50_000), i);
        parts.push(data);
        writes.push(engine.write(fd, data, position));
        position += data.length;
      }
      expect(engine.stats().inFlight).toBe(100);
      await Promise.all(writes);
      const after = engine.stats();
      expect(after.submitted - before.submitted).toBe(100);
      expect(after.completed - before.completed).toBe(100);
      expect(after.inFlight).toBe(0);
      expect(after.bytesWritten - before.bytesWritten).toBe(position);
      expect(readFileSync(tmp.file('00000000000000000000.log')).equals(Buffer.concat(parts))).toBe(true);
    } finally {
      closeSync(fd);
    }
  });

  it('fdatasync settles only after the writes to that fd issued before it', async () => {
    const fd = openSync(tmp.file('group-commit.log'), 'w+');
    try {
      const order: string[] = [];
      const writes = [0, 1, 2].map((i) =>
        engine.write(fd, seededBytes(40_000, i), i * 40_000).then(() => order.push(`write${i}`)),
      );
      const synced = engine.fdatasync(fd).then(() => order.push('sync'));
      await Promise.all([...writes, synced]);
      expect(order.indexOf('sync')).toBe(3);
    } finally {
      closeSync(fd);
    }
  });

  it('preallocates with and without keeping the size', async () => {
    const fd = openSync(tmp.file('prealloc.log'), 'w+');
    try {
      await engine.fallocate(fd, 0, 1 << 20, true);
      expect(fstatSync(fd).size).toBe(0);
      expect(fstatSync(fd).blocks * 512).toBeGreaterThanOrEqual(1 << 20);
      await engine.fallocate(fd, 0, 4096, false);
      expect(fstatSync(fd).size).toBe(4096);
    } finally {
      closeSync(fd);
    }
  });

  it('rejects with a StorageError carrying errno and syscall', async () => {
    const err = await engine.write(1_000_000, Buffer.from('x'), 0).catch((e) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(err).toMatchObject({ errno: 'EBADF', syscall: 'io_uring_write_fixed' });
    expect(err.errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    const syncErr = await engine.fdatasync(1_000_000).catch((e) => e);
    expect(syncErr).toMatchObject({ errno: 'EBADF' });
  });

  it('rejects bad arguments without leaving anything counted in flight', async () => {
    await expect(engine.write(-1, Buffer.from('x'), 0)).rejects.toBeInstanceOf(RangeError);
    await expect(engine.fallocate(3, -5, 10, false)).rejects.toBeInstanceOf(RangeError);
    expect(engine.stats().inFlight).toBe(0);
  });

  it('close drains outstanding writes, then refuses new ones', async () => {
    const fd = openSync(tmp.file('drain.log'), 'w+');
    const data = seededBytes(50_000, 77);
    const writes = Array.from({ length: 30 }, (_, i) => engine.write(fd, data, i * data.length));
    let settled = 0;
    for (const w of writes) w.then(() => settled++);
    await engine.close();
    expect(settled).toBe(30);
    expect(engine.stats().inFlight).toBe(0);
    expect(fstatSync(fd).size).toBe(30 * data.length);
    closeSync(fd);
    await expect(engine.write(fd, data, 0)).rejects.toBeInstanceOf(StorageError);
  });
});
