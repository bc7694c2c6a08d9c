// The ring's write paths added for group commit and large appends: writes at or above directWriteMin go from the
// caller's Buffer without the pool copy (IORING_OP_WRITE), and writeFixed's syncCb has the ring issue an fdatasync
// itself once the write has completed. One ring per process: this file has its own (vitest forks per file).
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNative, type NativeError, type NativeRing } from '../../../native/index.js';
import { inChild, prng, seededBytes, tempDir } from './helpers.js';

const native = loadNative();
const usable = native?.probe().ioUring === true;

function writeP(ring: NativeRing, fd: number, data: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) =>
    ring.writeFixed(fd, data, position, (err) => (err ? reject(err) : resolve())),
  );
}

/** writeFixed with a syncCb: resolves with the order the two callbacks ran in, or rejects with their errors. */
function writeSyncP(ring: NativeRing, fd: number, data: Buffer, position: number) {
  const order: string[] = [];
  let writeErr: NativeError | null = null;
  const written = new Promise<void>((resolve) =>
    ring.writeFixed(
      fd,
      data,
      position,
      (err) => {
        order.push('write');
        writeErr = err;
        resolve();
      },
      (err) => {
        order.push('sync');
        syncDone(err);
      },
    ),
  );
  let syncDone: (err: NativeError | null) => void = () => {};
  const synced = new Promise<NativeError | null>((resolve) => {
    syncDone = resolve;
  });
  return { order, written: written.then(() => writeErr), synced };
}

describe.runIf(usable)('NativeRing direct writes and ring-issued fdatasync', () => {
  const n = native!;
  const tmp = tempDir('ring-direct');
  const BUFFER_SIZE = 16 * 1024;
  const DIRECT_MIN = 32 * 1024;
  let ring: NativeRing;

  beforeAll(() => {
    ring = n.createRing({ entries: 32, bufferCount: 4, bufferSize: BUFFER_SIZE, directWriteMin: DIRECT_MIN });
  });
  afterAll(async () => {
    await ring.close();
    tmp.remove();
  });

  it('validates directWriteMin in JS', () => {
    expect(() => n.createRing({ entries: 8, bufferCount: 1, bufferSize: 4096, directWriteMin: -1 })).toThrow(
      RangeError,
    );
  });

  it('mixes direct (large) and pooled (small) writes, concurrent and out of order, byte-identical', async () => {
    const fd = openSync(tmp.file('mixed.log'), 'w+');
    try {
      const rnd = prng(7);
      const pieces: Array<{ data: Buffer; position: number }> = [];
      let position = 0;
      for (let i = 0; i < 120; i++) {
        // Below, at and above the threshold, and some far larger than the whole pool.
        const kind = i % 4;
        const size =
          kind === 0
            ? 1 + Math.floor(rnd() * BUFFER_SIZE)
            : kind === 1
              ? DIRECT_MIN
              : kind === 2
                ? DIRECT_MIN + 1 + Math.floor(rnd() * 200_000)
                : DIRECT_MIN - 1;
        pieces.push({ data: seededBytes(size, i), position });
        position += size;
      }
      const shuffled = [...pieces].sort(() => rnd() - 0.5);
      await Promise.all(shuffled.map((p) => writeP(ring, fd, p.data, p.position)));
      expect(ring.inFlight()).toBe(0);
      const expected = Buffer.concat(pieces.map((p) => p.data));
      expect(readFileSync(tmp.file('mixed.log')).equals(expected)).toBe(true);
    } finally {
      closeSync(fd);
    }
  });

  it('keeps a direct write correct when the caller drops its Buffer at once (held until completion)', async () => {
    const fd = openSync(tmp.file('gc.log'), 'w+');
    try {
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 16; i++) writes.push(writeP(ring, fd, seededBytes(256 * 1024, 100 + i), i * 256 * 1024));
      (globalThis as { gc?: () => void }).gc?.();
      await Promise.all(writes);
      const file = readFileSync(tmp.file('gc.log'));
      for (let i = 0; i < 16; i++) {
        expect(file.subarray(i * 256 * 1024, (i + 1) * 256 * 1024).equals(seededBytes(256 * 1024, 100 + i))).toBe(true);
      }
    } finally {
      closeSync(fd);
    }
  });

  it('resubmits a short direct write for the rest, at the right position (RLIMIT_FSIZE, in a child process)', () => {
    const addonPath = fileURLToPath(new URL('../../../build/Release/berth_native.node', import.meta.url));
    const file = tmp.file('fsize.log');
    const script = `
      const addon = require(${JSON.stringify(addonPath)});
      const fs = require('fs');
      const ring = addon.createRing({ entries: 8, bufferCount: 1, bufferSize: 4096, directWriteMin: 4096 });
      const fd = fs.openSync(${JSON.stringify(file)}, 'w+');
      ring.writeFixed(fd, Buffer.alloc(50000, 7), 0, (err) => {
        process.stdout.write(JSON.stringify({ code: err && err.code, size: fs.fstatSync(fd).size, ...ring.submitStats() }));
        ring.close(() => {});
      });`;
    const out = execFileSync(
      '/bin/sh',
      ['-c', `ulimit -f 20; trap '' XFSZ; exec "$0" -e "$1"`, process.execPath, script],
      {
        encoding: 'utf8',
      },
    );
    const result = JSON.parse(out);
    // One SQE for the whole direct write, cut at the limit; the rest submitted again and refused with EFBIG.
    expect(result.size).toBe(20 * 512); // ulimit -f counts 512-byte blocks in sh
    expect(result.sqes).toBe(2);
    expect(result.code).toBe('EFBIG');
  });

  it('with a syncCb, calls the write callback, then the sync callback, for pooled and direct writes', async () => {
    const fd = openSync(tmp.file('sync.log'), 'w+');
    try {
      const small = writeSyncP(ring, fd, seededBytes(100, 1), 0);
      const large = writeSyncP(ring, fd, seededBytes(DIRECT_MIN * 3, 2), 100);
      expect(await small.written).toBeNull();
      expect(await small.synced).toBeNull();
      expect(await large.written).toBeNull();
      expect(await large.synced).toBeNull();
      expect(small.order).toEqual(['write', 'sync']);
      expect(large.order).toEqual(['write', 'sync']);
      expect(ring.inFlight()).toBe(0);
      const file = readFileSync(tmp.file('sync.log'));
      expect(file.equals(Buffer.concat([seededBytes(100, 1), seededBytes(DIRECT_MIN * 3, 2)]))).toBe(true);
    } finally {
      closeSync(fd);
    }
  });

  it('a failed write fails its syncCb with the same error, without an fdatasync', async () => {
    const ro = openSync(tmp.file('ro.log'), 'w+');
    closeSync(ro);
    const fd = openSync(tmp.file('ro.log'), 'r');
    try {
      for (const size of [10, DIRECT_MIN * 2]) {
        const w = writeSyncP(ring, fd, seededBytes(size, 3), 0);
        const writeErr = await w.written;
        const syncErr = await w.synced;
        expect(writeErr).toMatchObject({ code: 'EBADF' });
        expect(syncErr).toMatchObject({ code: 'EBADF', syscall: writeErr!.syscall });
        expect(w.order).toEqual(['write', 'sync']);
      }
      expect(ring.inFlight()).toBe(0);
    } finally {
      closeSync(fd);
    }
  });

  it('issues the fdatasync for a zero-length write with a syncCb too', async () => {
    const fd = openSync(tmp.file('empty.log'), 'w+');
    try {
      const w = writeSyncP(ring, fd, Buffer.alloc(0), 0);
      expect(await w.written).toBeNull();
      expect(await w.synced).toBeNull();
    } finally {
      closeSync(fd);
    }
  });

  it('counts a write with its ring-issued fdatasync as in flight until both are done', async () => {
    const fd = openSync(tmp.file('inflight.log'), 'w+');
    try {
      const ws = Array.from({ length: 8 }, (_, i) => writeSyncP(ring, fd, seededBytes(DIRECT_MIN, i), i * DIRECT_MIN));
      expect(ring.inFlight()).toBe(8);
      await Promise.all(ws.map((w) => w.written));
      await Promise.all(ws.map((w) => w.synced));
      expect(ring.inFlight()).toBe(0);
    } finally {
      closeSync(fd);
    }
  });

  it('sends a write with its fdatasync to the kernel as one linked pair, in one submission (linkedSync default)', async () => {
    const fd = openSync(tmp.file('linked.log'), 'w+');
    try {
      for (const size of [100, DIRECT_MIN * 2]) {
        const before = ring.submitStats();
        const w = writeSyncP(ring, fd, seededBytes(size, 7), 0);
        expect(await w.written).toBeNull();
        expect(await w.synced).toBeNull();
        const after = ring.submitStats();
        expect(after.sqes - before.sqes).toBe(2);
        expect(after.enters - before.enters).toBe(1);
      }
      // Switched off at run time: the write goes alone, the fdatasync follows from its completion.
      ring.setLinkedSync(false);
      const before = ring.submitStats();
      const w = writeSyncP(ring, fd, seededBytes(100, 8), 0);
      expect(await w.written).toBeNull();
      expect(await w.synced).toBeNull();
      const after = ring.submitStats();
      expect(after.sqes - before.sqes).toBe(2);
      expect(after.enters - before.enters).toBe(2);
    } finally {
      ring.setLinkedSync(true);
      closeSync(fd);
    }
  });

  /** Runs `body` in a child process (its own ring) with the addon as `addon`; returns what it prints, parsed. */
  it('with linkedSync false, issues the fdatasync from the write completion (two submissions)', () => {
    const file = tmp.file('unlinked.log');
    const result = inChild(`
      const ring = addon.createRing({ entries: 8, bufferCount: 1, bufferSize: 4096, linkedSync: false });
      const fd = fs.openSync(${JSON.stringify(file)}, 'w+');
      const order = [];
      ring.writeFixed(fd, Buffer.alloc(1000, 7), 0, (err) => order.push(err ? err.code : 'write'), (err) => {
        order.push(err ? err.code : 'sync');
        process.stdout.write(JSON.stringify({ order, linked: ring.linkedSync, size: fs.fstatSync(fd).size, ...ring.submitStats() }));
        ring.close(() => {});
      });`);
    expect(result).toEqual({ order: ['write', 'sync'], linked: false, size: 1000, enters: 2, sqes: 2, coalesced: 0 });
  });

  it('a linked write cut short fails its fdatasync with the error of the rest of the write (RLIMIT_FSIZE, child)', () => {
    const file = tmp.file('linked-fsize.log');
    // The kernel cancels the linked fdatasync when the write comes back short; the ring resubmits the rest of the
    // write (refused with EFBIG) and then settles the fdatasync with that error, never reporting it synced.
    const result = inChild(
      `
      const ring = addon.createRing({ entries: 8, bufferCount: 1, bufferSize: 4096, directWriteMin: 4096 });
      const fd = fs.openSync(${JSON.stringify(file)}, 'w+');
      const order = [];
      ring.writeFixed(fd, Buffer.alloc(50000, 7), 0, (err) => order.push(err ? err.code : 'write'), (err) => {
        order.push(err ? err.code + ':' + err.syscall : 'sync');
        process.stdout.write(JSON.stringify({ order, inFlight: ring.inFlight(), size: fs.fstatSync(fd).size, ...ring.submitStats() }));
        ring.close(() => {});
      });`,
      "ulimit -f 20; trap '' XFSZ; ",
    );
    expect(result).toEqual({
      order: ['EFBIG', 'EFBIG:io_uring_write_fixed'],
      inFlight: 0,
      size: 20 * 512,
      enters: 2,
      sqes: 3, // the linked pair, then the rest of the write
      coalesced: 0,
    });
  });
});
