import { execFileSync } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isNativeError, loadNative, type NativeError, type NativeRing } from '../../../native/index.js';
import { prng, seededBytes, tempDir } from './helpers.js';

const native = loadNative();
const usable = native?.probe().ioUring === true;

function writeP(ring: NativeRing, fd: number, data: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) =>
    ring.writeFixed(fd, data, position, (err) => (err ? reject(err) : resolve())),
  );
}

function cbP(start: (cb: (err: NativeError | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => start((err) => (err ? reject(err) : resolve())));
}

// One ring per process: every test in this file shares it, and the last block closes it.
describe.runIf(usable)('NativeRing', () => {
  const n = native!;
  const tmp = tempDir('ring');
  const BUFFER_SIZE = 64 * 1024;
  const BUFFER_COUNT = 4;
  let ring: NativeRing;

  beforeAll(() => {
    ring = n.createRing({ entries: 32, bufferCount: BUFFER_COUNT, bufferSize: BUFFER_SIZE });
  });
  afterAll(async () => {
    await ring.close();
    tmp.remove();
  });

  it('allows one ring per process: a second createRing throws EEXIST', () => {
    expect(() => n.createRing({ entries: 8, bufferCount: 1, bufferSize: 4096 })).toThrow(
      expect.objectContaining({ code: 'EEXIST', errno: constants.errno.EEXIST }),
    );
  });

  it('validates options in JS before the addon sees them', () => {
    expect(() => n.createRing({ entries: 8, bufferCount: 1, bufferSize: 1000 })).toThrow(RangeError);
    expect(() => n.createRing({ entries: 0, bufferCount: 1, bufferSize: 4096 })).toThrow(RangeError);
  });

  it('appends many concurrent writes, larger than a buffer and more than the pool holds, byte-identical', async () => {
    const fd = openSync(tmp.file('appends.log'), 'w+');
    try {
      const rnd = prng(1);
      const parts: Buffer[] = [];
      const writes: Promise<void>[] = [];
      let position = 0;
      for (let i = 0; i < 300; i++) {
        // Mostly small appends, some spanning several pool buffers.
        const size = i % 25 === 0 ? BUFFER_SIZE * 3 + 17 : 1 + Math.floor(rnd() * 20_000);
        const data = seededBytes(size, i);
        parts.push(data);
        writes.push(writeP(ring, fd, data, position));
        position += size;
      }
      // Far more requests than buffers: the rest wait in the ring's queue.
      expect(ring.inFlight()).toBe(300);
      await Promise.all(writes);
      expect(ring.inFlight()).toBe(0);
      expect(readFileSync(tmp.file('appends.log')).equals(Buffer.concat(parts))).toBe(true);
    } finally {
      closeSync(fd);
    }
  });

  it('random disjoint writes in random order, sizes and batching, with fdatasyncs mixed in, match a model', async () => {
    const fd = openSync(tmp.file('fuzz.log'), 'w+');
    try {
      const rnd = prng(2024);
      const total = 3 * 1024 * 1024;
      const model = seededBytes(total, 99);
      // Cut the file into pieces of 1 byte to 3 buffers, then issue them shuffled, in bursts of random length.
      const pieces: Array<[number, number]> = [];
      for (let at = 0; at < total; ) {
        const len = Math.min(total - at, 1 + Math.floor(rnd() * BUFFER_SIZE * 3));
        pieces.push([at, len]);
        at += len;
      }
      for (let i = pieces.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [pieces[i], pieces[j]] = [pieces[j], pieces[i]];
      }
      while (pieces.length > 0) {
        const burst = pieces.splice(0, 1 + Math.floor(rnd() * 20));
        const ops = burst.map(([at, len]) => writeP(ring, fd, model.subarray(at, at + len), at));
        if (rnd() < 0.3) ops.push(cbP((cb) => ring.fdatasync(fd, cb)));
        await Promise.all(ops);
      }
      expect(readFileSync(tmp.file('fuzz.log')).equals(model)).toBe(true);
    } finally {
      closeSync(fd);
    }
  });

  it('batches the requests of one event-loop turn into one io_uring_enter', async () => {
    const fd = openSync(tmp.file('batch.log'), 'w+');
    try {
      await writeP(ring, fd, Buffer.from('x'), 0);
      const before = ring.submitStats();
      const syncs: Promise<void>[] = [];
      for (let i = 0; i < 20; i++) syncs.push(cbP((cb) => ring.fdatasync(fd, cb)));
      // Nothing reaches the kernel until the loop is about to block.
      expect(ring.submitStats()).toEqual(before);
      await Promise.all(syncs);
      const after = ring.submitStats();
      expect(after.sqes - before.sqes).toBe(20);
      expect(after.enters - before.enters).toBe(1);
    } finally {
      closeSync(fd);
    }
  });

  it('copies the data at submission: the caller may reuse its Buffer after the callback', async () => {
    const fd = openSync(tmp.file('reuse.log'), 'w+');
    try {
      const scratch = Buffer.alloc(1000);
      for (let i = 0; i < 5; i++) {
        scratch.fill(65 + i);
        await writeP(ring, fd, scratch, i * 1000);
      }
      const got = readFileSync(tmp.file('reuse.log'));
      for (let i = 0; i < 5; i++) expect(got.subarray(i * 1000, (i + 1) * 1000).every((b) => b === 65 + i)).toBe(true);
    } finally {
      closeSync(fd);
    }
  });

  it('calls back for a zero-length write, asynchronously', async () => {
    const fd = openSync(tmp.file('empty.log'), 'w+');
    try {
      let called = false;
      const p = new Promise<void>((resolve) =>
        ring.writeFixed(fd, Buffer.alloc(0), 0, (err) => {
          expect(err).toBeNull();
          called = true;
          resolve();
        }),
      );
      expect(called).toBe(false);
      await p;
      expect(fstatSync(fd).size).toBe(0);
    } finally {
      closeSync(fd);
    }
  });

  it('fdatasyncs and fallocates through the ring', async () => {
    const fd = openSync(tmp.file('sync.log'), 'w+');
    try {
      await writeP(ring, fd, Buffer.from('hello'), 0);
      await cbP((cb) => ring.fdatasync(fd, cb));
      await cbP((cb) => ring.fallocate(fd, 0, 0, 1 << 20, cb));
      expect(fstatSync(fd).size).toBe(1 << 20);
      await cbP((cb) => ring.fallocate(fd, 1, 1 << 20, 1 << 20, cb)); // FALLOC_FL_KEEP_SIZE
      expect(fstatSync(fd).size).toBe(1 << 20);
      expect(fstatSync(fd).blocks * 512).toBeGreaterThanOrEqual(2 << 20);
    } finally {
      closeSync(fd);
    }
  });

  it('reports errors as NativeError values: EBADF for a bad or read-only fd', async () => {
    const bad = await writeP(ring, 1_000_000, Buffer.from('x'), 0).catch((e) => e);
    expect(isNativeError(bad)).toBe(true);
    expect(bad).toMatchObject({ code: 'EBADF', errno: constants.errno.EBADF, syscall: 'io_uring_write_fixed' });
    const syncErr = await cbP((cb) => ring.fdatasync(1_000_000, cb)).catch((e) => e);
    expect(syncErr).toMatchObject({ code: 'EBADF', syscall: 'io_uring_fdatasync' });
    const ro = openSync(tmp.file('reuse.log'), 'r');
    try {
      const roErr = await writeP(ring, ro, Buffer.alloc(BUFFER_SIZE * 2), 0).catch((e) => e);
      expect(roErr).toMatchObject({ code: 'EBADF' });
    } finally {
      closeSync(ro);
    }
    // The pool is whole again: a full-pool write still succeeds afterwards.
    const fd = openSync(tmp.file('after-error.log'), 'w+');
    try {
      const data = seededBytes(BUFFER_SIZE * BUFFER_COUNT, 9);
      await writeP(ring, fd, data, 0);
      expect(readFileSync(tmp.file('after-error.log')).equals(data)).toBe(true);
    } finally {
      closeSync(fd);
    }
  });

  it('a callback that throws does not lose other completions', async () => {
    const fd = openSync(tmp.file('throw.log'), 'w+');
    const errors: unknown[] = [];
    const onUncaught = (e: unknown) => errors.push(e);
    const listeners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', onUncaught);
    try {
      const ok = writeP(ring, fd, Buffer.from('b'), 1);
      ring.writeFixed(fd, Buffer.from('a'), 0, () => {
        throw new Error('boom');
      });
      await ok;
      // The two writes may complete in either order: wait for the throwing one's completion too, while this
      // listener is still the one that catches it.
      await vi.waitFor(() => expect(errors.length).toBeGreaterThan(0), { interval: 1 });
      expect(errors.map((e) => (e as Error).message)).toEqual(['boom']);
      expect(readFileSync(tmp.file('throw.log')).toString()).toBe('ab');
    } finally {
      process.off('uncaughtException', onUncaught);
      for (const l of listeners) process.on('uncaughtException', l);
      closeSync(fd);
    }
  });

  it('resubmits a short write for the rest (RLIMIT_FSIZE cuts the first one short, in a child process)', () => {
    const addonPath = fileURLToPath(new URL('../../../build/Release/berth_native.node', import.meta.url));
    const file = tmp.file('fsize.log');
    const script = `
      const addon = require(${JSON.stringify(addonPath)});
      const fs = require('fs');
      const ring = addon.createRing({ entries: 8, bufferCount: 2, bufferSize: 65536 });
      const fd = fs.openSync(${JSON.stringify(file)}, 'w+');
      ring.writeFixed(fd, Buffer.alloc(5000, 7), 0, (err) => {
        process.stdout.write(JSON.stringify({ code: err && err.code, size: fs.fstatSync(fd).size, ...ring.submitStats() }));
        ring.close(() => {});
      });`;
    // A file size limit of a few KiB; SIGXFSZ ignored so the write fails with EFBIG instead of killing the child.
    const out = execFileSync(
      '/bin/sh',
      ['-c', `ulimit -f 4; trap '' XFSZ; exec "$0" -e "$1"`, process.execPath, script],
      {
        encoding: 'utf8',
      },
    );
    const result = JSON.parse(out);
    // The first write stopped at the limit; the rest was submitted again, at the right position, and failed.
    expect(result.size).toBeGreaterThan(0);
    expect(result.size).toBeLessThan(5000);
    expect(result.sqes).toBe(2);
    expect(result.code).toBe('EFBIG');
  });

  describe('close', () => {
    it('drains every accepted request before resolving, then refuses new ones', async () => {
      const fd = openSync(tmp.file('drain.log'), 'w+');
      const data = seededBytes(BUFFER_SIZE * 2, 5);
      let called = 0;
      for (let i = 0; i < 40; i++) ring.writeFixed(fd, data, i * data.length, () => called++);
      ring.fdatasync(fd, () => called++);
      const closed = ring.close();
      expect(ring.close()).toBe(closed);
      await closed;
      expect(called).toBe(41);
      expect(ring.inFlight()).toBe(0);
      expect(fstatSync(fd).size).toBe(40 * data.length);
      closeSync(fd);
      expect(() => ring.writeFixed(fd, data, 0, () => {})).toThrow(expect.objectContaining({ code: 'ESHUTDOWN' }));
      // The process may open a new ring once the old one is closed.
      ring = n.createRing({ entries: 8, bufferCount: 1, bufferSize: 4096 });
      const fd2 = openSync(tmp.file('second.log'), 'w+');
      await writeP(ring, fd2, Buffer.from('again'), 0);
      closeSync(fd2);
      expect(readFileSync(tmp.file('second.log')).toString()).toBe('again');
    });
  });
});
