// Write coalescing in the ring: a small write that continues the latest unsubmitted write to the same file joins
// its SQE. What must hold: bytes land where each write said, every callback runs once and in order, a sync
// callback only after the fdatasync that covers its write, failures reach exactly the writes whose bytes were not
// written, and nothing joins a write it must not. One ring per process: this file has its own.
import { closeSync, openSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNative, type NativeError, type NativeRing } from '../../../native/index.js';
import { inChild, seededBytes, tempDir } from './helpers.js';

const native = loadNative();
const usable = native?.probe().ioUring === true;
const BUFFER_SIZE = 16 * 1024;

interface Issued {
  order: string[];
  done: Promise<void>;
}

/**
 * Issues every write in the same tick; `sync[i]` gives write i a sync callback. Each callback pushes
 * `w<i>` / `s<i>` (or `w<i>:<code>`) to `order`; `done` resolves when all have run.
 */
function issue(
  ring: NativeRing,
  writes: Array<{ fd: number; data: Buffer; position: number; sync?: boolean }>,
): Issued {
  const order: string[] = [];
  let left = writes.reduce((n, w) => n + (w.sync ? 2 : 1), 0);
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const cb = (label: string) => (err: NativeError | null) => {
    order.push(err ? `${label}:${err.code}` : label);
    if (--left === 0) finish();
  };
  writes.forEach((w, i) => {
    ring.writeFixed(w.fd, w.data, w.position, cb(`w${i}`), w.sync ? cb(`s${i}`) : undefined);
  });
  return { order, done };
}

describe.runIf(usable)('NativeRing write coalescing', () => {
  const tmp = tempDir('ring-coalesce');
  let ring: NativeRing;
  let fd: number;
  let file: string;
  let n = 0;

  beforeAll(() => {
    ring = native!.createRing({ entries: 64, bufferCount: 4, bufferSize: BUFFER_SIZE, directWriteMin: 64 * 1024 });
  });
  afterAll(async () => {
    await ring.close();
    tmp.remove();
  });

  function freshFile(): void {
    if (fd !== undefined) closeSync(fd);
    file = tmp.file(`f${n++}.log`);
    fd = openSync(file, 'w+');
  }

  async function run(writes: Parameters<typeof issue>[1]) {
    const before = ring.submitStats();
    const issued = issue(ring, writes);
    await issued.done;
    const after = ring.submitStats();
    return { order: issued.order, sqes: after.sqes - before.sqes, coalesced: after.coalesced - before.coalesced };
  }

  it('by default, writes that continue each other in one tick share one SQE; each callback runs once, in order', async () => {
    freshFile();
    const parts = Array.from({ length: 8 }, (_, i) => seededBytes(1000 + i, i));
    let pos = 0;
    const writes = parts.map((data) => {
      const w = { fd, data, position: pos };
      pos += data.length;
      return w;
    });
    const r = await run(writes);
    expect(r).toEqual({ order: ['w0', 'w1', 'w2', 'w3', 'w4', 'w5', 'w6', 'w7'], sqes: 1, coalesced: 7 });
    expect(readFileSync(file).equals(Buffer.concat(parts))).toBe(true);
  });

  it('the caller may reuse its buffers as soon as writeFixed returns (the bytes were copied)', async () => {
    freshFile();
    const scratch = Buffer.alloc(500);
    const expected: Buffer[] = [];
    const before = ring.submitStats();
    const all: Promise<void>[] = [];
    for (let i = 0; i < 4; i++) {
      scratch.fill(0x41 + i);
      expected.push(Buffer.from(scratch));
      all.push(
        new Promise((resolve, reject) => ring.writeFixed(fd, scratch, i * 500, (e) => (e ? reject(e) : resolve()))),
      );
    }
    await Promise.all(all);
    expect(ring.submitStats().coalesced - before.coalesced).toBe(3);
    expect(readFileSync(file).equals(Buffer.concat(expected))).toBe(true);
  });

  it('does not join a write with a gap before it, another file, or more than the buffer holds', async () => {
    freshFile();
    const other = openSync(tmp.file(`other${n}.log`), 'w+');
    try {
      const a = seededBytes(1000, 1);
      const b = seededBytes(1000, 2);
      const c = seededBytes(1000, 3);
      const big = seededBytes(BUFFER_SIZE - 999, 4);
      const r = await run([
        { fd, data: a, position: 0 },
        { fd, data: b, position: 2000 }, // a gap: own SQE
        { fd: other, data: c, position: 0 }, // another file: own SQE
        { fd, data: c, position: 3000 }, // continues b, but c's SQE for the other file came in between: own SQE
        { fd, data: big, position: 4000 }, // continues, but does not fit behind c in one buffer: own SQE
      ]);
      // Writes to different files may complete in either order (io_uring serialises writes per file only).
      expect(r.order.filter((w) => w !== 'w2')).toEqual(['w0', 'w1', 'w3', 'w4']);
      expect(r.order).toContain('w2');
      expect({ sqes: r.sqes, coalesced: r.coalesced }).toEqual({ sqes: 5, coalesced: 0 });
      const bytes = readFileSync(file);
      expect(bytes.subarray(0, 1000).equals(a)).toBe(true);
      expect(bytes.subarray(1000, 2000).equals(Buffer.alloc(1000))).toBe(true);
      expect(bytes.subarray(2000, 3000).equals(b)).toBe(true);
      expect(bytes.subarray(3000, 4000).equals(c)).toBe(true);
      expect(bytes.subarray(4000).equals(big)).toBe(true);
    } finally {
      closeSync(other);
    }
  });

  it('writes issued after a submission start a new SQE', async () => {
    freshFile();
    const a = seededBytes(800, 5);
    const b = seededBytes(800, 6);
    const before = ring.submitStats();
    const first = new Promise<void>((resolve) => ring.writeFixed(fd, a, 0, () => resolve()));
    // Two check phases apart, a prepare phase (where the ring submits) has run in between: a is in the kernel.
    await new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
    const second = new Promise<void>((resolve) => ring.writeFixed(fd, b, 800, () => resolve()));
    await Promise.all([first, second]);
    const after = ring.submitStats();
    expect(after.sqes - before.sqes).toBe(2);
    expect(after.coalesced - before.coalesced).toBe(0);
    expect(readFileSync(file).equals(Buffer.concat([a, b]))).toBe(true);
  });

  it('writes with a sync callback ride on a linked write + fdatasync; syncs come after every write', async () => {
    freshFile();
    const parts = [seededBytes(700, 7), seededBytes(700, 8), seededBytes(700, 9)];
    const r = await run([
      { fd, data: parts[0], position: 0, sync: true },
      { fd, data: parts[1], position: 700 },
      { fd, data: parts[2], position: 1400, sync: true },
    ]);
    expect(r).toEqual({ order: ['w0', 'w1', 'w2', 's0', 's2'], sqes: 2, coalesced: 2 });
    expect(ring.inFlight()).toBe(0);
    expect(readFileSync(file).equals(Buffer.concat(parts))).toBe(true);
  });

  it('a write with a sync callback does not join a write without a linked fdatasync', async () => {
    freshFile();
    const a = seededBytes(600, 10);
    const b = seededBytes(600, 11);
    const r = await run([
      { fd, data: a, position: 0 },
      { fd, data: b, position: 600, sync: true },
    ]);
    // a alone, then b with its own linked fdatasync.
    expect(r).toEqual({ order: ['w0', 'w1', 's1'], sqes: 3, coalesced: 0 });
    expect(readFileSync(file).equals(Buffer.concat([a, b]))).toBe(true);
  });

  it('joinSync rides only on a linked write + fdatasync it continues, and says whether it did', async () => {
    freshFile();
    const order: string[] = [];
    const cb = (label: string) => (err: NativeError | null) => void order.push(err ? `${label}:${err.code}` : label);
    const a = seededBytes(500, 15);
    const b = seededBytes(500, 16);
    const c = seededBytes(500, 17);
    // Nothing to join yet.
    expect(ring.joinSync(fd, a, 0, cb('never'), cb('never'))).toBe(false);
    const before = ring.submitStats();
    const synced = new Promise<void>((resolve) =>
      ring.writeFixed(fd, a, 0, cb('wa'), (err) => {
        cb('sa')(err);
        resolve();
      }),
    );
    expect(ring.joinSync(fd, c, 1000, cb('never'), cb('never'))).toBe(false); // a gap
    const joined = new Promise<void>((resolve) => {
      expect(
        ring.joinSync(fd, b, 500, cb('wb'), (err) => {
          cb('sb')(err);
          resolve();
        }),
      ).toBe(true);
    });
    await Promise.all([synced, joined]);
    expect(order).toEqual(['wa', 'wb', 'sa', 'sb']);
    const after = ring.submitStats();
    expect({ sqes: after.sqes - before.sqes, coalesced: after.coalesced - before.coalesced }).toEqual({
      sqes: 2,
      coalesced: 1,
    });
    expect(ring.inFlight()).toBe(0);
    expect(readFileSync(file).equals(Buffer.concat([a, b]))).toBe(true);
    // Submitted and done: nothing left to join.
    expect(ring.joinSync(fd, c, 1000, cb('never'), cb('never'))).toBe(false);
    expect(order).not.toContain('never');
  });

  it('setCoalesceWrites(false) gives every write its own SQE again', async () => {
    freshFile();
    ring.setCoalesceWrites(false);
    try {
      const parts = [seededBytes(900, 12), seededBytes(900, 13), seededBytes(900, 14)];
      const r = await run(parts.map((data, i) => ({ fd, data, position: i * 900 })));
      expect(r).toEqual({ order: ['w0', 'w1', 'w2'], sqes: 3, coalesced: 0 });
      expect(readFileSync(file).equals(Buffer.concat(parts))).toBe(true);
    } finally {
      ring.setCoalesceWrites(true);
    }
  });

  /**
   * Runs `writes` (ring.writeFixed calls whose callbacks are `cb('label')`) in a child process whose files may hold
   * 10240 bytes (ulimit -f 20), and returns what it reports once `callbacks` callbacks have run.
   */
  function underFsizeLimit(path: string, callbacks: number, writes: string): Record<string, unknown> {
    return inChild(
      `
      const ring = addon.createRing({ entries: 8, bufferCount: 2, bufferSize: ${BUFFER_SIZE} });
      const fd = fs.openSync(${JSON.stringify(path)}, 'w+');
      const order = [];
      let left = ${callbacks};
      const cb = (label) => (err) => {
        order.push(err ? label + ':' + err.code + ':' + err.syscall : label);
        if (--left === 0) {
          process.stdout.write(JSON.stringify({ order, inFlight: ring.inFlight(), size: fs.fstatSync(fd).size,
            ...ring.submitStats() }));
          ring.close(() => {});
        }
      };
      ${writes}`,
      "ulimit -f 20; trap '' XFSZ; ",
    );
  }

  it('a coalesced write cut short fails only the writes whose bytes were not written (RLIMIT_FSIZE, child)', () => {
    // w0 (sync) + w1 + w2 (sync) + w3 go out as one 14000-byte write with w0's fdatasync linked behind it. The
    // kernel writes 10240 bytes and cancels the fdatasync; the rest is refused with EFBIG. w0 and w1 were written,
    // w2 and w3 were not; w0's fdatasync is issued again and succeeds, w2's fails with its write.
    const result = underFsizeLimit(
      tmp.file('fsize.log'),
      6,
      `ring.writeFixed(fd, Buffer.alloc(4000, 1), 0, cb('w0'), cb('s0'));
      ring.writeFixed(fd, Buffer.alloc(4000, 2), 4000, cb('w1'));
      ring.writeFixed(fd, Buffer.alloc(4000, 3), 8000, cb('w2'), cb('s2'));
      ring.writeFixed(fd, Buffer.alloc(2000, 4), 12000, cb('w3'));`,
    );
    expect(result).toEqual({
      order: [
        'w0',
        'w1',
        'w2:EFBIG:io_uring_write_fixed',
        'w3:EFBIG:io_uring_write_fixed',
        's0',
        's2:EFBIG:io_uring_write_fixed',
      ],
      inFlight: 0,
      size: 10240,
      enters: 3,
      sqes: 4, // the linked pair, the rest of the write, w0's fdatasync again
      coalesced: 3,
    });
  });

  it('a coalesced write refused before any byte fails every write on it, and their fdatasyncs', () => {
    const result = underFsizeLimit(
      tmp.file('fsize0.log'),
      4,
      `ring.writeFixed(fd, Buffer.alloc(1000, 1), 20480, cb('w0'), cb('s0'));
      ring.writeFixed(fd, Buffer.alloc(1000, 2), 21480, cb('w1'), cb('s1'));`,
    );
    const efbig = (label: string) => `${label}:EFBIG:io_uring_write_fixed`;
    expect(result).toMatchObject({
      order: [efbig('w0'), efbig('w1'), efbig('s0'), efbig('s1')],
      inFlight: 0,
      size: 0,
      coalesced: 1,
    });
  });
});
