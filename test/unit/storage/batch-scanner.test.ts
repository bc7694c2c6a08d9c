import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanBuffer, scanLogFile } from '../../../storage/batch-scanner.js';
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
});
