import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { setIndexMapper } from '../../../storage/abstract-index.js';
import { OffsetIndex } from '../../../storage/offset-index.js';
import { removeDir, tempDir, testEngines } from './helpers/engines.js';

const engines = await testEngines();

describe.each(engines)('OffsetIndex ($name engine run)', () => {
  let dir = '';
  afterEach(() => {
    setIndexMapper(null);
    if (dir) removeDir(dir);
  });

  it('appends 8-byte big-endian entries and finds the floor entry by binary search', () => {
    dir = tempDir();
    const p = path.join(dir, '00000000000000000100.index');
    const idx = OffsetIndex.create(p, 100, 1024);
    for (let i = 0; i < 50; i++) idx.append(100 + i * 10 + 9, i * 4096);
    expect(idx.entries).toBe(50);
    expect(idx.lookup(99)).toEqual({ offset: 100, position: 0 });
    expect(idx.lookup(109)).toEqual({ offset: 109, position: 0 });
    expect(idx.lookup(118)).toEqual({ offset: 109, position: 0 });
    expect(idx.lookup(119)).toEqual({ offset: 119, position: 4096 });
    expect(idx.lookup(10_000)).toEqual({ offset: 599, position: 49 * 4096 });
    expect(idx.lookupByPosition(4095)).toEqual({ offset: 109, position: 0 });
    expect(idx.lookupByPosition(8192)).toEqual({ offset: 129, position: 8192 });
    // Non-increasing offsets are ignored.
    idx.append(500, 1);
    expect(idx.entries).toBe(50);
    idx.persist();
    const raw = fs.readFileSync(p);
    expect(raw.length).toBe(400);
    expect(raw.readUInt32BE(8)).toBe(19);
    expect(raw.readUInt32BE(12)).toBe(4096);
    idx.close();
  });

  it('is full at segment.index.bytes, truncates by offset and position, checks itself against the log', () => {
    dir = tempDir();
    const idx = OffsetIndex.create(path.join(dir, '00000000000000000000.index'), 0, 80);
    for (let i = 0; i < 10; i++) idx.append(i * 2, i * 100);
    expect(idx.isFull()).toBe(true);
    idx.truncateToOffset(10);
    expect(idx.entries).toBe(5);
    idx.truncateToPosition(300);
    expect(idx.entries).toBe(3);
    expect(idx.check(1000)).toBeNull();
    expect(idx.check(200)).toMatch(/past the log/);
    idx.close();
  });

  it('trims and seals to a read-only file, reloads lazily through the mapper when one is installed', () => {
    dir = tempDir();
    const p = path.join(dir, '00000000000000000000.index');
    const idx = OffsetIndex.create(p, 0, 1 << 20);
    for (let i = 0; i < 7; i++) idx.append(i, i * 10);
    fs.ftruncateSync(idx.preallocateTarget()!.fd, 1 << 20);
    idx.trim(true);
    expect(fs.statSync(p).size).toBe(56);
    expect(fs.statSync(p).mode & 0o777).toBe(0o444);
    const mapped: number[] = [];
    setIndexMapper((fd, offset, length) => {
      mapped.push(length);
      const b = Buffer.alloc(length);
      fs.readSync(fd, b, 0, length, offset);
      return b;
    });
    const again = OffsetIndex.open(p, 0, 1 << 20, true);
    expect(mapped).toEqual([]);
    expect(again.lookup(3)).toEqual({ offset: 3, position: 30 });
    expect(mapped).toEqual([56]);
    expect(() => again.append(8, 80)).toThrow(/sealed/);
  });

  it('detects entries that do not increase', () => {
    dir = tempDir();
    const p = path.join(dir, '00000000000000000000.index');
    const bad = Buffer.alloc(16);
    bad.writeUInt32BE(5, 0);
    bad.writeUInt32BE(100, 4);
    bad.writeUInt32BE(3, 8);
    bad.writeUInt32BE(200, 12);
    fs.writeFileSync(p, bad);
    const idx = OffsetIndex.open(p, 0, 1024, true);
    expect(idx.check(1000)).toMatch(/not increasing/);
  });
});
