import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TimeIndex } from '../../../storage/time-index.js';
import { removeDir, tempDir, testEngines } from './helpers/engines.js';

const engines = await testEngines();

describe.each(engines)('TimeIndex ($name engine run)', () => {
  let dir = '';
  afterEach(() => {
    if (dir) removeDir(dir);
  });

  it('keeps 12-byte entries (i64 timestamp, u32 relative offset) only when the timestamp grows', () => {
    dir = tempDir();
    const p = path.join(dir, '00000000000000000050.timeindex');
    const idx = TimeIndex.create(p, 50, 1200);
    idx.maybeAppend(1000, 55);
    idx.maybeAppend(1000, 60);
    idx.maybeAppend(900, 61);
    idx.maybeAppend(2000, 70);
    idx.maybeAppend(3000, 80);
    expect(idx.entries).toBe(3);
    expect(idx.lookup(999)).toBeNull();
    expect(idx.lookup(1000)).toEqual({ timestamp: 1000, offset: 55 });
    expect(idx.lookup(2500)).toEqual({ timestamp: 2000, offset: 70 });
    expect(idx.lastEntry()).toEqual({ timestamp: 3000, offset: 80 });
    idx.trim(false);
    const raw = fs.readFileSync(p);
    expect(raw.length).toBe(36);
    expect(raw.readBigInt64BE(12)).toBe(2000n);
    expect(raw.readUInt32BE(20)).toBe(20);
    idx.truncateToOffset(70);
    expect(idx.entries).toBe(1);
    expect(idx.check(60)).toBeNull();
    expect(idx.check(55)).toMatch(/past the log end/);
    idx.close();
  });

  it('loads an existing file and rejects decreasing timestamps', () => {
    dir = tempDir();
    const p = path.join(dir, '00000000000000000000.timeindex');
    const b = Buffer.alloc(24);
    b.writeBigInt64BE(500n, 0);
    b.writeUInt32BE(1, 8);
    b.writeBigInt64BE(400n, 12);
    b.writeUInt32BE(2, 20);
    fs.writeFileSync(p, b);
    const idx = TimeIndex.open(p, 0, 1200, false);
    expect(idx.entries).toBe(2);
    expect(idx.check(100)).toMatch(/timestamp not increasing/);
    idx.close();
  });
});
