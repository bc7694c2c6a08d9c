/**
 * LogLoader after an unclean stop: recovery CRC-checks only the tail after the recovery point, starting inside the
 * segment that holds it (at an indexed batch checked against the log) and walking the headers of the flushed
 * batches below it, and falls back to the whole segment when the index or the headers cannot be trusted. The active
 * segment's indexes are preallocated (sparse) here, as in a running broker.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { IoEngine } from '../../../storage/io/io-engine.js';
import type { LoadedLog } from '../../../storage/log-loader.js';
import { LogManager } from '../../../storage/log-manager.js';
import type { PartitionLog } from '../../../storage/partition-log.js';
import { batchOf } from './helpers/batches.js';
import { removeDir, tempDir, testEngines } from './helpers/engines.js';

const engines = await testEngines();

describe.each(engines)('log loader, unclean stop, on $name engine', ({ create }) => {
  let root = '';
  let engine: IoEngine | undefined;
  // One segment for everything; an index entry every ~200 bytes; small sparse indexes (they are preallocated).
  const config = { 'segment.bytes': 1 << 20, 'index.interval.bytes': 200, 'segment.index.bytes': 64 * 1024 };
  const open: LogManager[] = [];

  afterEach(async () => {
    for (const m of open.splice(0)) await m.close().catch(() => {});
    await engine?.close();
    engine = undefined;
    if (root) removeDir(root);
  });

  async function manager(cfg: Record<string, unknown> = config): Promise<LogManager> {
    engine ??= await create();
    const m = await LogManager.open({ dataDir: root, engine, background: false, defaultConfig: cfg });
    open.push(m);
    return m;
  }

  /**
   * 40 flushed batches and a recovery-point checkpoint, then 10 more written but not flushed, then a crash.
   * Returns the batches as stored. Batch i holds offsets 2i and 2i + 1, and timestamps increasing with i.
   */
  async function crashAfterTail(checkpoint: boolean, cfg: Record<string, unknown> = config): Promise<Buffer[]> {
    root = tempDir('berth-loader-');
    const mgr = await manager(cfg);
    const log = await mgr.createPartition('t', 0);
    const stored: Buffer[] = [];
    for (let i = 0; i < 50; i++) {
      const b = batchOf(2, 150, i, 1_700_000_000_000 + i * 10);
      await log.append(b, { acks: i === 39 ? -1 : 1 });
      stored.push(b);
      if (i === 39 && checkpoint) await mgr.checkpointRecoveryPoints();
    }
    await log.drain();
    // Let preallocation extend the indexes (sparse) as it does in a running broker.
    await log.segments[0].preallocating;
    await mgr.abandon();
    open.splice(open.indexOf(mgr), 1);
    return stored;
  }

  const logFile = () => path.join(root, 't-0', '00000000000000000000.log');
  const recoveryOf = (log: PartitionLog) => log.recovery as LoadedLog;

  async function contents(log: PartitionLog): Promise<Buffer> {
    const ranges = await log.read(log.logStartOffset, 1 << 24);
    return Buffer.concat(await Promise.all(ranges.map((r) => log.readBytes(r))));
  }

  it('scans only the unflushed tail of the segment holding the recovery point', async () => {
    const stored = await crashAfterTail(true);
    const indexSize = fs.statSync(path.join(root, 't-0', '00000000000000000000.index')).size;
    expect(indexSize).toBe(64 * 1024);
    const mgr = await manager();
    const log = mgr.getPartition('t', 0)!;
    expect(log.logEndOffset).toBe(100);
    const flushedBytes = stored.slice(0, 40).reduce((n, b) => n + b.length, 0);
    const tailBytes = stored.slice(40).reduce((n, b) => n + b.length, 0);
    const r = recoveryOf(log);
    // CRC-checked: exactly the batches after the recovery point (offset 80).
    expect(r.scannedBytes).toBe(tailBytes);
    expect(r.scannedBytes).toBeLessThan(flushedBytes);
    // Read from the .log: the tail, a little past it (the scan's look-ahead, capped by the file size), and a few
    // 61-byte headers below the recovery point, not the flushed batch at the index entry.
    expect(r.readBytes).toBeGreaterThanOrEqual(tailBytes);
    expect(r.readBytes).toBeLessThan(tailBytes + 4096 + 4 * 61);
    expect(r.truncatedBytes).toBe(0);
    expect((await contents(log)).equals(Buffer.concat(stored))).toBe(true);
    // Lookups by offset still work across the recovered part and the trusted part.
    for (const offset of [11, 51, 91]) {
      const [first] = await log.read(offset, 1, { minOneBatch: true });
      expect(first.firstOffset).toBe(offset - 1);
      expect((await log.readBytes(first)).equals(stored[(offset - 1) / 2])).toBe(true);
    }
    // Appends continue after the recovered tail.
    const more = batchOf(2, 150, 99);
    expect((await log.append(more)).baseOffset).toBe(100);
  });

  it('does not look at flushed batches before the recovery point, and does without a checkpoint', async () => {
    for (const checkpoint of [true, false]) {
      const stored = await crashAfterTail(checkpoint);
      // Damage batch 5 (flushed long before the recovery point).
      const at = stored.slice(0, 5).reduce((n, b) => n + b.length, 0) + 70;
      const fd = fs.openSync(logFile(), 'r+');
      const one = Buffer.alloc(1);
      fs.readSync(fd, one, 0, 1, at);
      one[0] ^= 0xff;
      fs.writeSync(fd, one, 0, 1, at);
      fs.closeSync(fd);
      const mgr = await manager();
      const log = mgr.getPartition('t', 0)!;
      if (checkpoint) {
        expect(log.logEndOffset).toBe(100);
        expect(recoveryOf(log).truncatedBytes).toBe(0);
      } else {
        // Without a recovery point the whole segment is scanned and the damage found.
        expect(log.logEndOffset).toBe(10);
        expect(recoveryOf(log).truncatedBytes).toBeGreaterThan(0);
      }
      await mgr.close();
      open.splice(open.indexOf(mgr), 1);
      await engine?.close();
      engine = undefined;
      removeDir(root);
    }
    root = '';
  });

  /** Flips one byte of the .log at `at`. */
  function flipByte(at: number): void {
    const fd = fs.openSync(logFile(), 'r+');
    const one = Buffer.alloc(1);
    fs.readSync(fd, one, 0, 1, at);
    one[0] ^= 0xff;
    fs.writeSync(fd, one, 0, 1, at);
    fs.closeSync(fd);
  }

  const positionOf = (stored: Buffer[], i: number) => stored.slice(0, i).reduce((n, b) => n + b.length, 0);

  it('reads only the headers of the flushed batches below the recovery point: a bad body there is kept', async () => {
    // The last batch below the recovery point (offsets 78-79) is the one its index entry points at: recovery used to
    // CRC-check it in full. Its body is damaged (its CRC no longer matches) but its header is intact. Below the
    // recovery point only headers are checked, on purpose: a completed fdatasync covered the batch, so a crash cannot
    // have torn it; damage there is the medium's, which recovery does not look for (Kafka does not below its
    // recovery point's segment either), and cutting the log at it would drop acknowledged batches. Consumers check
    // CRCs.
    const stored = await crashAfterTail(true);
    flipByte(positionOf(stored, 39) + 100);
    const mgr = await manager();
    const log = mgr.getPartition('t', 0)!;
    const r = recoveryOf(log);
    expect(log.logEndOffset).toBe(100);
    expect(r.truncatedBytes).toBe(0);
    expect(r.scannedBytes).toBe(positionOf(stored, 50) - positionOf(stored, 40));
    const [first] = await log.read(78, 1, { minOneBatch: true });
    expect(first.firstOffset).toBe(78);
    expect((await log.readBytes(first)).equals(stored[39])).toBe(false);
  });

  it('walks the headers from the segment start when no index entry is below the recovery point', async () => {
    // No index entries at all (interval larger than the segment): 40 headers walked, the tail CRC-checked.
    const stored = await crashAfterTail(true, { ...config, 'index.interval.bytes': 1 << 20 });
    flipByte(positionOf(stored, 20) + 100);
    const mgr = await manager();
    const log = mgr.getPartition('t', 0)!;
    const r = recoveryOf(log);
    const tailBytes = positionOf(stored, 50) - positionOf(stored, 40);
    expect(log.logEndOffset).toBe(100);
    expect(r.truncatedBytes).toBe(0);
    expect(r.scannedBytes).toBe(tailBytes);
    expect(r.readBytes).toBeLessThan(tailBytes + 4096 + 42 * 61);
    expect(log.segments[0].firstBatchTimestamp).toBe(1_700_000_000_001);
    expect(log.segments[0].maxTimestampSoFar).toBe(1_700_000_000_000 + 49 * 10 + 1);
  });

  it('rebuilds the same indexes from the walked headers as from a full scan', async () => {
    // An index entry about every third batch, so several headers are walked after the entry below the recovery point.
    const cfg = { ...config, 'index.interval.bytes': 1000 };
    await crashAfterTail(true, cfg);
    const dir = path.join(root, 't-0');
    const copy = `${root}-full`;
    fs.cpSync(root, copy, { recursive: true });
    const indexes = async (dataDir: string) => {
      engine ??= await create();
      const m = await LogManager.open({ dataDir, engine, background: false, defaultConfig: cfg });
      const log = m.getPartition('t', 0)!;
      const seg = log.segments[0];
      const out = {
        offsets: Buffer.from(seg.offsetIndex.rawEntries()),
        times: Buffer.from(seg.timeIndex.rawEntries()),
        maxTimestamp: seg.maxTimestampSoFar,
        first: seg.firstBatchTimestamp,
        leo: log.logEndOffset,
        recovery: log.recovery as LoadedLog,
      };
      await m.close();
      return out;
    };
    try {
      // The copy has no recovery point: every batch is CRC-checked and indexed from the scan.
      fs.rmSync(path.join(copy, 'recovery-point-offset-checkpoint'));
      const full = await indexes(copy);
      const walked = await indexes(root);
      expect(full.recovery.scannedBytes).toBeGreaterThan(walked.recovery.scannedBytes);
      expect(walked.offsets.length).toBeGreaterThan(8 * 5);
      expect(walked.offsets.equals(full.offsets)).toBe(true);
      expect(walked.times.equals(full.times)).toBe(true);
      expect(walked.times.length).toBeGreaterThan(12);
      expect(walked).toMatchObject({ maxTimestamp: full.maxTimestamp, first: full.first, leo: 100 });
      expect(fs.existsSync(dir)).toBe(true);
    } finally {
      removeDir(copy);
    }
  });

  it('scans the whole segment when a header below the recovery point is corrupt', async () => {
    // Sparse index entries (every ~6 batches): the walk starts at the entry below the recovery point and crosses a
    // later flushed batch whose magic byte (outside the CRC) is damaged. The whole segment is then CRC-checked,
    // which finds it too, and the log is cut there.
    const cfg = { ...config, 'index.interval.bytes': 2000 };
    const stored = await crashAfterTail(true, cfg);
    // The batch after the last index entry below the recovery point (offset 80).
    const index = fs.readFileSync(path.join(root, 't-0', '00000000000000000000.index'));
    let entryBatch = -1;
    for (let at = 0; at + 8 <= index.length && index.readUInt32BE(at + 4) > 0; at += 8) {
      if (index.readUInt32BE(at) < 80) entryBatch = (index.readUInt32BE(at) - 1) / 2;
    }
    const damaged = entryBatch + 1;
    expect(damaged).toBeGreaterThan(0);
    expect(damaged).toBeLessThan(40);
    const at = positionOf(stored, damaged);
    flipByte(at + 16);
    const mgr = await manager(cfg);
    const log = mgr.getPartition('t', 0)!;
    const r = recoveryOf(log);
    expect(r.scannedBytes).toBe(at);
    expect(log.logEndOffset).toBe(2 * damaged);
    // (and any preallocated tail past the batches)
    expect(r.truncatedBytes).toBeGreaterThanOrEqual(positionOf(stored, 50) - at);
    expect((await contents(log)).equals(Buffer.concat(stored.slice(0, damaged)))).toBe(true);
  });

  it('scans the whole segment when the log ends below its recovery point', async () => {
    // A recovery point past the flushed batches on disk (the file lost them): the header walk runs out of batches.
    const stored = await crashAfterTail(true);
    fs.truncateSync(logFile(), positionOf(stored, 30));
    const mgr = await manager();
    const log = mgr.getPartition('t', 0)!;
    expect(recoveryOf(log).scannedBytes).toBe(positionOf(stored, 30));
    expect(log.logEndOffset).toBe(60);
    expect((await contents(log)).equals(Buffer.concat(stored.slice(0, 30)))).toBe(true);
  });

  it('scans the whole segment when the index entry does not match the batch on disk', async () => {
    const stored = await crashAfterTail(true);
    // Point every index entry one byte off: none matches a batch header any more.
    const indexPath = path.join(root, 't-0', '00000000000000000000.index');
    const index = fs.readFileSync(indexPath);
    for (let at = 0; at + 8 <= index.length; at += 8) {
      const pos = index.readUInt32BE(at + 4);
      if (pos > 0) index.writeUInt32BE(pos + 1, at + 4);
    }
    fs.writeFileSync(indexPath, index);
    const mgr = await manager();
    const log = mgr.getPartition('t', 0)!;
    const total = stored.reduce((n, b) => n + b.length, 0);
    expect(recoveryOf(log).scannedBytes).toBe(total);
    expect(log.logEndOffset).toBe(100);
    expect((await contents(log)).equals(Buffer.concat(stored))).toBe(true);
  });

  it('recovers a torn batch after the recovery point, keeping what is before it', async () => {
    const stored = await crashAfterTail(true);
    const end = stored.reduce((n, b) => n + b.length, 0);
    // Cut the last batch in half (a write that never completed).
    fs.truncateSync(logFile(), end - Math.floor(stored[49].length / 2));
    const mgr = await manager();
    const log = mgr.getPartition('t', 0)!;
    expect(log.logEndOffset).toBe(98);
    expect((await contents(log)).equals(Buffer.concat(stored.slice(0, 49)))).toBe(true);
  });

  it('trims a rolled segment whose seal never finished, even below the recovery point', async () => {
    // Regression: the crash test saw zeros (a preallocated tail) served as records after a kill between a roll
    // and the end of the old segment's seal, once the recovery point had moved into the new segment.
    root = tempDir('berth-loader-');
    engine ??= await create();
    const small = { ...config, 'segment.bytes': 4096 };
    const mgr = await LogManager.open({ dataDir: root, engine, background: false, defaultConfig: small });
    open.push(mgr);
    const log = await mgr.createPartition('t', 0);
    const stored: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const b = batchOf(2, 150, i);
      await log.append(b, { acks: -1 });
      stored.push(b);
    }
    expect(log.segments.length).toBeGreaterThan(2);
    await log.drain();
    await mgr.checkpointRecoveryPoints();
    await mgr.abandon();
    open.splice(open.indexOf(mgr), 1);
    // Undo the first segment's seal: writable again, with a preallocated tail of zeros.
    const first = logFile();
    fs.chmodSync(first, 0o644);
    fs.truncateSync(first, fs.statSync(first).size + 64 * 1024);
    const reopened = await LogManager.open({ dataDir: root, engine, background: false, defaultConfig: small });
    open.push(reopened);
    const again = reopened.getPartition('t', 0)!;
    expect(again.logEndOffset).toBe(80);
    expect((await contents(again)).equals(Buffer.concat(stored))).toBe(true);
    expect(fs.statSync(first).mode & 0o222).toBe(0);
  });
});

describe.each(engines)('log loader, clean shutdown, on $name engine', ({ create }) => {
  let root = '';
  let engine: IoEngine | undefined;
  const config = { 'segment.bytes': 1 << 20, 'index.interval.bytes': 200, 'segment.index.bytes': 64 * 1024 };

  afterEach(async () => {
    await engine?.close();
    engine = undefined;
    if (root) removeDir(root);
  });

  async function manager(): Promise<LogManager> {
    engine ??= await create();
    return LogManager.open({ dataDir: root, engine, background: false, defaultConfig: config });
  }

  async function writeAndClose(): Promise<Buffer[]> {
    root = tempDir('berth-loader-');
    const mgr = await manager();
    const log = await mgr.createPartition('t', 0);
    const stored: Buffer[] = [];
    for (let i = 0; i < 30; i++) {
      const b = batchOf(2, 150, i, 1_700_000_000_000 + i * 10);
      await log.append(b);
      stored.push(b);
    }
    await mgr.close();
    return stored;
  }

  const logFile = () => path.join(root, 't-0', '00000000000000000000.log');

  it('finds the log end from batch headers only: no CRC scan of the active segment', async () => {
    const stored = await writeAndClose();
    // Damage a record byte (not a header) of the last batch: a clean load does not read it.
    const end = stored.reduce((n, b) => n + b.length, 0);
    const fd = fs.openSync(logFile(), 'r+');
    fs.writeSync(fd, Buffer.from([0x5a]), 0, 1, end - 20);
    fs.closeSync(fd);
    const mgr = await manager();
    const log = mgr.getPartition('t', 0)!;
    expect(log.logEndOffset).toBe(60);
    const r = log.recovery as LoadedLog;
    expect(r.scannedBytes).toBe(0);
    expect(r.rebuiltIndexes).toBe(0);
    // The largest timestamp and the first batch's timestamp come from the headers.
    expect(log.segments[0].maxTimestampSoFar).toBe(1_700_000_000_000 + 29 * 10 + 1);
    expect(log.segments[0].firstBatchTimestamp).toBe(1_700_000_000_001);
    expect((await log.append(batchOf(1, 10, 99))).baseOffset).toBe(60);
    await mgr.close();
  });

  it('scans with CRC checks when the headers do not chain to the end of the file', async () => {
    const stored = await writeAndClose();
    const end = stored.reduce((n, b) => n + b.length, 0);
    fs.chmodSync(logFile(), 0o644);
    fs.truncateSync(logFile(), end - 7);
    const mgr = await manager();
    const log = mgr.getPartition('t', 0)!;
    expect(log.logEndOffset).toBe(58);
    expect((log.recovery as LoadedLog).scannedBytes).toBeGreaterThan(0);
    await mgr.close();
  });
});
