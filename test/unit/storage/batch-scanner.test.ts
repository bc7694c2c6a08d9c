import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanBuffer, scanLogFile, walkHeaders } from '../../../storage/batch-scanner.js';
import { batchOf } from './helpers/batches.js';
import { removeDir, tempDir } from './helpers/engines.js';

function withOffsets(batches: Buffer[]): Buffer {
  let next = 0;
  for (const b of batches) {
    b.writeBigInt64BE(BigInt(next), 0);
    next += b.readInt32BE(23) + 1;
  }
  return Buffer.concat(batches);
}

describe('batch scanner', () => {
  const log = withOffsets([batchOf(3, 20, 1), batchOf(1, 500, 2), batchOf(4, 7, 3)]);
  const sizes = [0, 1, 2].map((i) => [batchOf(3, 20, 1), batchOf(1, 500, 2), batchOf(4, 7, 3)][i].length);

  it('walks valid batches to the end', () => {
    const seen: number[] = [];
    const r = scanBuffer(log, 0, log.length, { verifyCrc: true }, (b) => seen.push(b.baseOffset));
    expect(r).toEqual({ validEnd: log.length, stop: 'end', batches: 3, nextOffset: 8 });
    expect(seen).toEqual([0, 3, 4]);
  });

  it('stops at a torn tail, a flipped byte, zeros, bad magic and offsets going backwards', () => {
    expect(scanBuffer(log, 0, log.length - 1, { verifyCrc: true }).stop).toBe('truncated');
    const flipped = Buffer.from(log);
    flipped[sizes[0] + 100] ^= 0x40;
    expect(scanBuffer(flipped, 0, flipped.length, { verifyCrc: true })).toMatchObject({
      stop: 'bad-crc',
      validEnd: sizes[0],
    });
    const zeros = Buffer.concat([log, Buffer.alloc(4096)]);
    expect(scanBuffer(zeros, 0, zeros.length, { verifyCrc: true })).toMatchObject({
      stop: 'bad-length',
      validEnd: log.length,
    });
    const magic = Buffer.from(log);
    magic[sizes[0] + 16] = 1;
    expect(scanBuffer(magic, 0, magic.length, { verifyCrc: true }).stop).toBe('bad-magic');
    const back = Buffer.from(log);
    back.writeBigInt64BE(1n, sizes[0]);
    expect(scanBuffer(back, 0, back.length, { verifyCrc: true }).stop).toBe('bad-offset');
  });

  it('scans files in chunks, including batches larger than a chunk', () => {
    const dir = tempDir();
    try {
      const big = withOffsets([batchOf(1, 10, 1), batchOf(2, 1_500_000, 2), batchOf(1, 10, 3)]);
      const f = path.join(dir, 'x.log');
      fs.writeFileSync(f, Buffer.concat([big, Buffer.alloc(100)]));
      const fd = fs.openSync(f, 'r');
      const r = scanLogFile(fd, 0, big.length + 100, { verifyCrc: true });
      fs.closeSync(fd);
      expect(r).toMatchObject({ validEnd: big.length, batches: 3, nextOffset: 4, stop: 'bad-length' });
    } finally {
      removeDir(dir);
    }
  });

  /** Writes `data` to a temp file and runs `fn` with its fd. */
  function withFile<T>(data: Buffer, fn: (fd: number) => T): T {
    const dir = tempDir();
    try {
      const f = path.join(dir, 'x.log');
      fs.writeFileSync(f, data);
      const fd = fs.openSync(f, 'r');
      try {
        return fn(fd);
      } finally {
        fs.closeSync(fd);
      }
    } finally {
      removeDir(dir);
    }
  }

  it('reads little past a short tail followed by a long run of zeros (a preallocated file)', () => {
    const tail = withOffsets([batchOf(2, 150, 1), batchOf(2, 150, 2)]);
    const file = Buffer.concat([tail, Buffer.alloc(4 << 20)]);
    const r = withFile(file, (fd) => scanLogFile(fd, 0, file.length, { verifyCrc: true }));
    expect(r).toMatchObject({ validEnd: tail.length, stop: 'bad-length', batches: 2, nextOffset: 4 });
    expect(r.readBytes).toBeLessThanOrEqual(4096);
    // A batch larger than the first read is read whole, with a little more to see what follows it.
    const big = withOffsets([batchOf(1, 100_000, 3)]);
    const file2 = Buffer.concat([big, Buffer.alloc(4 << 20)]);
    const r2 = withFile(file2, (fd) => scanLogFile(fd, 0, file2.length, { verifyCrc: true }));
    expect(r2).toMatchObject({ validEnd: big.length, stop: 'bad-length', batches: 1 });
    expect(r2.readBytes).toBeLessThanOrEqual(big.length + 2 * 4096);
  });

  it('finds every batch across growing reads, reading each byte about once', () => {
    // 400 batches of 0.5-13 KB (deterministic sizes), about 2.8 MB: reads grow from 4 KiB to 1 MiB and end inside
    // batches, which are then re-read from their start.
    const batches = Array.from({ length: 400 }, (_, i) => batchOf(1 + (i % 3), 150 + ((i * 7919) % 4000), i));
    const file = withOffsets(batches);
    const expected: Array<[number, number]> = [];
    let at = 0;
    let offset = 0;
    for (const b of batches) {
      expected.push([at, offset]);
      at += b.length;
      offset += b.readInt32BE(23) + 1;
    }
    const seen: Array<[number, number]> = [];
    const r = withFile(Buffer.concat([file, Buffer.alloc(50_000)]), (fd) =>
      scanLogFile(fd, 0, file.length + 50_000, { verifyCrc: true }, (b) => seen.push([b.position, b.baseOffset])),
    );
    expect(r).toMatchObject({ validEnd: file.length, stop: 'bad-length', batches: 400, nextOffset: offset });
    expect(seen).toEqual(expected);
    expect(r.readBytes).toBeLessThan(file.length * 1.05 + 50_000);
  });

  it('walks headers only up to the batch reaching untilOffset, whatever the bodies hold', () => {
    const batches = [batchOf(3, 20, 1), batchOf(1, 500, 2), batchOf(4, 7, 3), batchOf(2, 40, 4)];
    const file = withOffsets(batches);
    const sizes = batches.map((b) => b.length);
    // Garbage in the bodies of the first two batches: their CRCs no longer match, and a header walk does not care.
    file[61 + 5] ^= 0xff;
    file[sizes[0] + 61 + 100] ^= 0xff;
    expect(scanBuffer(file, 0, file.length, { verifyCrc: true }).stop).toBe('bad-crc');
    const seen: Array<[number, number, number]> = [];
    // Offsets: [0-2] [3] [4-7] [8-9]. Up to offset 5: the batch [4-7] reaches it and is not walked.
    const r = withFile(file, (fd) =>
      walkHeaders(fd, 0, file.length, { minOffset: 0, untilOffset: 5 }, (b) =>
        seen.push([b.position, b.baseOffset, b.lastOffset]),
      ),
    );
    expect(r).toEqual({ position: sizes[0] + sizes[1], stop: 'reached', batches: 2, nextOffset: 4, readBytes: 3 * 61 });
    expect(seen).toEqual([
      [0, 0, 2],
      [sizes[0], 3, 3],
    ]);
    // Up to offset 4 exactly: stops after [3] without reading the next header.
    const r4 = withFile(file, (fd) => walkHeaders(fd, 0, file.length, { minOffset: 0, untilOffset: 4 }));
    expect(r4).toMatchObject({ stop: 'reached', batches: 2, nextOffset: 4, readBytes: 2 * 61 });
    // From the second batch, as from an index entry.
    const r2 = withFile(file, (fd) => walkHeaders(fd, sizes[0], file.length, { minOffset: 0, untilOffset: 10 }));
    expect(r2).toMatchObject({ position: file.length, stop: 'reached', batches: 3, nextOffset: 10 });
  });

  it('stops a header walk at a header that does not chain', () => {
    const batches = [batchOf(3, 20, 1), batchOf(1, 500, 2), batchOf(4, 7, 3)];
    const good = withOffsets(batches);
    const second = batches[0].length;
    const walk = (file: Buffer, end = file.length) =>
      withFile(file, (fd) => walkHeaders(fd, 0, end, { minOffset: 0, untilOffset: 8 }));
    const magic = Buffer.from(good);
    magic[second + 16] = 1;
    expect(walk(magic)).toMatchObject({ stop: 'bad-magic', position: second, batches: 1, nextOffset: 3 });
    const back = Buffer.from(good);
    back.writeBigInt64BE(2n, second);
    expect(walk(back)).toMatchObject({ stop: 'bad-offset', position: second });
    const length = Buffer.from(good);
    length.writeInt32BE(10, second + 8);
    expect(walk(length)).toMatchObject({ stop: 'bad-length', position: second });
    // A batch running past the end, and the data ending before untilOffset.
    expect(walk(good, good.length - 1)).toMatchObject({ stop: 'truncated', batches: 2 });
    const short = withFile(good, (fd) => walkHeaders(fd, 0, good.length, { minOffset: 0, untilOffset: 9 }));
    expect(short).toMatchObject({ stop: 'truncated', position: good.length, batches: 3, nextOffset: 8 });
    // Zeros where a header should be (a preallocated tail).
    const zeros = Buffer.concat([good, Buffer.alloc(100)]);
    expect(withFile(zeros, (fd) => walkHeaders(fd, 0, zeros.length, { minOffset: 0, untilOffset: 9 }))).toMatchObject({
      stop: 'bad-length',
      position: good.length,
    });
    // The first batch must not start below minOffset (the segment's base offset).
    expect(withFile(good, (fd) => walkHeaders(fd, 0, good.length, { minOffset: 1, untilOffset: 8 }))).toMatchObject({
      stop: 'bad-offset',
      position: 0,
      batches: 0,
    });
  });
});
