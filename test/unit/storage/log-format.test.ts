/**
 * Kafka's on-disk format, checked with a reader written here from the format description (not with our code):
 * .log batches, .index entries (relative offset u32, position u32), .timeindex entries (timestamp i64, relative
 * offset u32). And the other way round: a segment directory built by hand from kafkajs-encoded batches, as Kafka
 * would have left it, loads and reads correctly. Also preallocation (zeros past the logical end).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultyEngine } from '../../../storage/io/faulty-engine.js';
import type { IoEngine } from '../../../storage/io/io-engine.js';
import { SyncEngine } from '../../../storage/io/sync-engine.js';
import { PartitionLog, PREALLOCATE_CHUNK } from '../../../storage/partition-log.js';
import { batchOf, kafkajsBatch } from './helpers/batches.js';
import { removeDir, tempDir, testEngines } from './helpers/engines.js';
import { untilRolledSealed } from './helpers/seals.js';

const engines = await testEngines();

function readBatches(buf: Buffer) {
  const out: Array<{ position: number; baseOffset: number; lastOffset: number; maxTs: number; size: number }> = [];
  let pos = 0;
  while (pos + 61 <= buf.length) {
    const size = buf.readInt32BE(pos + 8) + 12;
    if (size < 61 || pos + size > buf.length) break;
    const baseOffset = Number(buf.readBigInt64BE(pos));
    out.push({
      position: pos,
      baseOffset,
      lastOffset: baseOffset + buf.readInt32BE(pos + 23),
      maxTs: Number(buf.readBigInt64BE(pos + 35)),
      size,
    });
    pos += size;
  }
  return out;
}

describe.each(engines)('Kafka on-disk format on $name engine', ({ create }) => {
  let root = '';
  let engine: IoEngine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
    if (root) removeDir(root);
  });

  it('writes .log, .index and .timeindex that an independent reader understands', async () => {
    root = tempDir();
    engine = await create();
    const dir = path.join(root, 'fmt-0');
    const log = await PartitionLog.open({
      dir,
      topic: 'fmt',
      partition: 0,
      engine,
      config: { 'segment.bytes': 8192, 'index.interval.bytes': 500 },
    });
    for (let i = 0; i < 60; i++) await log.append(batchOf(1 + (i % 3), 120, i, 5000 + i * 10));
    await log.close();
    const logs = fs
      .readdirSync(dir)
      .filter((n) => n.endsWith('.log'))
      .sort();
    expect(logs.length).toBeGreaterThan(2);
    let expectedBase = 0;
    for (const name of logs) {
      expect(name).toMatch(/^\d{20}\.log$/);
      const base = Number(name.slice(0, 20));
      expect(base).toBe(expectedBase);
      const data = fs.readFileSync(path.join(dir, name));
      const batches = readBatches(data);
      expect(batches.reduce((n, b) => n + b.size, 0)).toBe(data.length);
      expect(batches[0].baseOffset).toBe(base);
      const starts = new Map(batches.map((b) => [b.position, b]));
      // Every .index entry points at a batch start and holds that batch's last offset (relative).
      const idx = fs.readFileSync(path.join(dir, `${name.slice(0, 20)}.index`));
      expect(idx.length % 8).toBe(0);
      expect(idx.length).toBeGreaterThan(0);
      for (let i = 0; i < idx.length; i += 8) {
        const b = starts.get(idx.readUInt32BE(i + 4));
        expect(b).toBeDefined();
        expect(base + idx.readUInt32BE(i)).toBe(b!.lastOffset);
      }
      // Every .timeindex entry: a timestamp reached at or before its offset; the last one is the segment's max.
      const tidx = fs.readFileSync(path.join(dir, `${name.slice(0, 20)}.timeindex`));
      expect(tidx.length % 12).toBe(0);
      let prev = -1;
      for (let i = 0; i < tidx.length; i += 12) {
        const ts = Number(tidx.readBigInt64BE(i));
        const off = base + tidx.readUInt32BE(i + 8);
        expect(ts).toBeGreaterThan(prev);
        prev = ts;
        const holder = batches.find((b) => b.lastOffset === off);
        expect(holder?.maxTs).toBe(ts);
      }
      expect(prev).toBe(Math.max(...batches.map((b) => b.maxTs)));
      expectedBase = batches[batches.length - 1].lastOffset + 1;
    }
  });

  it('loads a segment directory built by hand from kafkajs batches (no indexes, as after a crash)', async () => {
    root = tempDir();
    engine = await create();
    const dir = path.join(root, 'kjs-3');
    fs.mkdirSync(dir);
    const stored: Buffer[] = [];
    let next = 100;
    for (let i = 0; i < 30; i++) {
      const b = await kafkajsBatch(
        Array.from({ length: 1 + (i % 4) }, (_, k) => ({
          key: `k${i}`,
          value: `value-${i}-${k}`,
          timestamp: 9000 + i,
        })),
        i % 2,
      );
      b.writeBigInt64BE(BigInt(next), 0);
      next += 1 + (i % 4);
      stored.push(b);
    }
    fs.writeFileSync(path.join(dir, '00000000000000000100.log'), Buffer.concat(stored.slice(0, 15)));
    const secondBase = Number(stored[15].readBigInt64BE(0));
    fs.writeFileSync(path.join(dir, `${String(secondBase).padStart(20, '0')}.log`), Buffer.concat(stored.slice(15)));
    const log = await PartitionLog.open({
      dir,
      topic: 'kjs',
      partition: 3,
      engine,
      clean: false,
      logStartOffset: 100,
      config: { 'index.interval.bytes': 100 },
    });
    try {
      expect(log.logStartOffset).toBe(100);
      expect(log.logEndOffset).toBe(next);
      expect(log.segments).toHaveLength(2);
      const r = await log.read(100, 1 << 20);
      const all = Buffer.concat(await Promise.all(r.map((x) => log.readBytes(x))));
      expect(all.equals(Buffer.concat(stored))).toBe(true);
      const mid = Number(stored[22].readBigInt64BE(0)) + 1;
      const one = await log.read(mid, 1, { minOneBatch: true });
      expect((await log.readBytes(one[0])).equals(stored[22])).toBe(true);
      expect((await log.readByTimestamp(9022))?.offset).toBe(Number(stored[22].readBigInt64BE(0)));
      expect((await log.append(batchOf(1, 5, 1))).baseOffset).toBe(next);
    } finally {
      await log.close();
    }
  });
});

describe('preallocated segments', () => {
  it('reserves disk ahead of the write position in chunks, not a whole segment per partition', async () => {
    const root = tempDir();
    const fallocateSync = (fd: number, mode: number, offset: number, length: number) => {
      if (mode === 0 && fs.fstatSync(fd).size < offset + length) fs.ftruncateSync(fd, offset + length);
    };
    const engine = new SyncEngine({ fallocateSync });
    const dir = path.join(root, 'big-0');
    try {
      const log = await PartitionLog.open({
        dir,
        topic: 'big',
        partition: 0,
        engine,
        config: { 'segment.bytes': 1 << 30 },
      });
      await new Promise((r) => setImmediate(r));
      await log.segments[0].preallocating;
      expect(fs.statSync(log.segments[0].logPath).size).toBe(PREALLOCATE_CHUNK);
      // Writing past half of the chunk extends the reservation by a chunk twice as large.
      const big = batchOf(1, PREALLOCATE_CHUNK / 2 + 1024, 1);
      await log.append(big, { acks: 1 });
      await log.segments[0].preallocating;
      expect(fs.statSync(log.segments[0].logPath).size).toBe(3 * PREALLOCATE_CHUNK);
      await log.close();
    } finally {
      await engine.close();
      removeDir(root);
    }
  });

  it('keeps zeros past the logical end invisible, trims on seal and on clean close, recovers after a crash', async () => {
    const root = tempDir();
    // A stand-in for the native addon's fallocate (mode 0 grows the file with zeros, as fallocate does).
    const fallocateSync = (fd: number, mode: number, offset: number, length: number) => {
      if (mode === 0 && fs.fstatSync(fd).size < offset + length) fs.ftruncateSync(fd, offset + length);
    };
    const engine = new FaultyEngine(new SyncEngine({ fallocateSync }));
    const dir = path.join(root, 'p-0');
    const cfg = { 'segment.bytes': 16384, 'index.interval.bytes': 256, 'segment.index.bytes': 4096 };
    try {
      const log = await PartitionLog.open({ dir, topic: 'p', partition: 0, engine, config: cfg });
      await new Promise((r) => setImmediate(r));
      await log.segments[0].preallocating;
      expect(fs.statSync(log.segments[0].logPath).size).toBe(16384);
      expect(fs.statSync(log.segments[0].offsetIndex.path).size).toBe(4096);
      const stored: Buffer[] = [];
      for (let i = 0; i < 40; i++) {
        const b = batchOf(2, 300, i);
        await log.append(b, { acks: -1 });
        stored.push(b);
      }
      await untilRolledSealed(log);
      const sealed = log.segments[0];
      expect(sealed.sealed).toBe(true);
      expect(fs.statSync(sealed.logPath).size).toBe(sealed.size);
      expect(fs.statSync(sealed.offsetIndex.path).size).toBe(sealed.offsetIndex.entries * 8);
      const active = log.segments.at(-1)!;
      await active.preallocating;
      expect(fs.statSync(active.logPath).size).toBe(16384);
      const ranges = await log.read(0, 1 << 20);
      const all = Buffer.concat(await Promise.all(ranges.map((r) => log.readBytes(r))));
      expect(all.equals(Buffer.concat(stored))).toBe(true);
      // Crash: the active .log still has its zeros; recovery stops at the logical end and trims them.
      await log.abandon();
      const again = await PartitionLog.open({ dir, topic: 'p', partition: 0, engine, config: cfg, clean: false });
      expect(again.logEndOffset).toBe(80);
      expect(again.recovery.truncatedBytes).toBe(0);
      const activeAgain = again.segments.at(-1)!;
      await activeAgain.preallocating;
      await again.append(batchOf(1, 10, 99));
      await again.close();
      // Clean close trims the active segment and its indexes.
      expect(fs.statSync(activeAgain.logPath).size).toBe(activeAgain.size);
      expect(fs.statSync(activeAgain.offsetIndex.path).size).toBe(activeAgain.offsetIndex.entries * 8);
    } finally {
      await engine.close();
      removeDir(root);
    }
  });
});
