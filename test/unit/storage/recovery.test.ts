/**
 * Recovery after unclean stops and corruption: torn tails, flipped bytes, truncated logs, deleted or garbage
 * indexes, preallocated zeros, and LogLoader's leftover files (.deleted, handed to the FileRemover; .cleaned, .swap).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileRemover } from '../../../storage/file-remover.js';
import type { IoEngine } from '../../../storage/io/io-engine.js';
import { PartitionLog } from '../../../storage/partition-log.js';
import { batchOf } from './helpers/batches.js';
import { removeDir, tempDir, testEngines } from './helpers/engines.js';

const engines = await testEngines();

describe.each(engines)('recovery on $name engine', ({ create }) => {
  let root = '';
  let dir = '';
  let engine: IoEngine;
  // No preallocation: these tests cut files at their logical end (preallocated tails are simulated where needed).
  const cfg = { 'segment.bytes': 4096, 'index.interval.bytes': 200, preallocate: false };
  const open: PartitionLog[] = [];

  afterEach(async () => {
    for (const l of open.splice(0)) if (!l.closed) await l.close();
    await engine?.close();
    if (root) removeDir(root);
  });

  async function start() {
    root = tempDir();
    dir = path.join(root, 't-0');
    engine = await create();
  }

  async function load(clean: boolean, recoveryPoint = 0) {
    const log = await PartitionLog.open({ dir, topic: 't', partition: 0, engine, config: cfg, clean, recoveryPoint });
    open.push(log);
    return log;
  }

  /** Writes `n` batches of 2 records each and returns every batch's bytes as stored, by base offset. */
  async function fill(n: number, clean: boolean) {
    const log = await load(true);
    const stored: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const b = batchOf(2, 150, i);
      await log.append(b);
      stored.push(b);
    }
    await log.flush();
    if (clean) await log.close();
    else await log.abandon();
    return stored;
  }

  async function contents(log: PartitionLog): Promise<Buffer> {
    if (log.logEndOffset === log.logStartOffset) return Buffer.alloc(0);
    const ranges = await log.read(log.logStartOffset, 1 << 24);
    return Buffer.concat(await Promise.all(ranges.map((r) => log.readBytes(r))));
  }

  function segmentFiles(ext: string): string[] {
    return fs
      .readdirSync(dir)
      .filter((n) => n.endsWith(ext))
      .sort()
      .map((n) => path.join(dir, n));
  }

  it('truncates a torn tail (partial last batch) after an unclean stop', async () => {
    await start();
    const stored = await fill(40, false);
    const last = segmentFiles('.log').at(-1)!;
    const size = fs.statSync(last).size;
    fs.truncateSync(last, size - 7);
    const log = await load(false);
    expect(log.logEndOffset).toBe(78);
    expect(log.recovery.truncatedBytes).toBe(stored[39].length - 7);
    expect((await contents(log)).equals(Buffer.concat(stored.slice(0, 39)))).toBe(true);
    // Appends continue right after the valid data.
    expect((await log.append(batchOf(1, 5, 1))).baseOffset).toBe(78);
  });

  it('truncates at a flipped byte in the tail and drops every later segment', async () => {
    await start();
    const stored = await fill(40, false);
    const logs = segmentFiles('.log');
    expect(logs.length).toBeGreaterThan(2);
    // Corrupt the second batch of the second-to-last segment.
    const victim = logs[logs.length - 2];
    fs.chmodSync(victim, 0o644);
    const buf = fs.readFileSync(victim);
    const firstSize = stored[0].length;
    buf[firstSize + 80] ^= 0xff;
    fs.writeFileSync(victim, buf);
    const base = Number(path.basename(victim).slice(0, 20));
    const log = await load(false);
    expect(log.logEndOffset).toBe(base + 2);
    expect(log.recovery.deletedSegments).toBe(1);
    expect(segmentFiles('.log')).toHaveLength(logs.length - 1);
    expect((await contents(log)).equals(Buffer.concat(stored.slice(0, base / 2 + 1)))).toBe(true);
  });

  it('scans only from the recovery point: a corrupt byte in a flushed, sealed segment is not looked at', async () => {
    await start();
    await fill(40, false);
    const logs = segmentFiles('.log');
    const lastBase = Number(path.basename(logs.at(-1)!).slice(0, 20));
    fs.chmodSync(logs[0], 0o644);
    const buf = fs.readFileSync(logs[0]);
    buf[200] ^= 0xff;
    fs.writeFileSync(logs[0], buf);
    fs.chmodSync(logs[0], 0o444);
    const log = await load(false, lastBase);
    expect(log.logEndOffset).toBe(80);
    expect(log.recovery.truncatedBytes).toBe(0);
  });

  it('checks only headers below a recovery point inside a sealed segment, and CRC-checks everything after it', async () => {
    await start();
    const stored = await fill(40, false);
    const logs = segmentFiles('.log');
    expect(logs.length).toBeGreaterThan(2);
    // The recovery point is 3 batches into the second-to-last segment (all batches have the same size).
    const victim = logs[logs.length - 2];
    const base = Number(path.basename(victim).slice(0, 20));
    const size = stored[0].length;
    fs.chmodSync(victim, 0o644);
    const buf = fs.readFileSync(victim);
    // Below the recovery point: a damaged body in a flushed batch is not looked at (only its header is read).
    buf[size + 100] ^= 0xff;
    // After it: a damaged body in the fifth batch (offsets base+8, base+9) is found; the log is cut there.
    buf[4 * size + 100] ^= 0xff;
    fs.writeFileSync(victim, buf);
    fs.chmodSync(victim, 0o444);
    const log = await load(false, base + 6);
    expect(log.logEndOffset).toBe(base + 8);
    expect(log.recovery.deletedSegments).toBe(1);
    // CRC-checked: the one batch from the recovery point up to the damaged one.
    expect(log.recovery.scannedBytes).toBe(size);
    const [kept] = await log.read(base + 2, 1, { minOneBatch: true });
    expect(kept.firstOffset).toBe(base + 2);
    expect((await log.readBytes(kept)).equals(stored[base / 2 + 1])).toBe(false);
    expect((await contents(log)).length).toBe((base / 2 + 4) * size);
  });

  it('rebuilds a deleted or garbage index and keeps lookups right', async () => {
    await start();
    const stored = await fill(40, true);
    const idx = segmentFiles('.index');
    fs.unlinkSync(idx[0]);
    fs.chmodSync(idx[1], 0o644);
    fs.writeFileSync(idx[1], Buffer.from('garbage!garbage!garbage'));
    fs.chmodSync(idx[2], 0o644);
    const rev = Buffer.alloc(16);
    rev.writeUInt32BE(9, 0);
    rev.writeUInt32BE(100, 4);
    rev.writeUInt32BE(3, 8);
    rev.writeUInt32BE(200, 12);
    fs.writeFileSync(idx[2], rev);
    const log = await load(true);
    expect(log.recovery.rebuiltIndexes).toBeGreaterThanOrEqual(3);
    expect(log.logEndOffset).toBe(80);
    for (const s of log.segments) expect(s.offsetIndex.check(s.size)).toBeNull();
    expect(fs.statSync(idx[1]).size % 8).toBe(0);
    expect(fs.statSync(idx[1]).size).toBeGreaterThan(0);
    expect((await contents(log)).equals(Buffer.concat(stored))).toBe(true);
    for (const o of [0, 13, 27, 41, 79]) {
      const r = await log.read(o, 1);
      expect(r).toEqual([]);
      const one = await log.read(o, 1, { minOneBatch: true });
      expect(one[0].firstOffset).toBe(o - (o % 2));
    }
  });

  it('stops at preallocated zeros in the active segment and trims them', async () => {
    await start();
    const stored = await fill(10, false);
    const last = segmentFiles('.log').at(-1)!;
    const size = fs.statSync(last).size;
    fs.truncateSync(last, (size + 1) << 16);
    fs.truncateSync(segmentFiles('.index').at(-1)!, 1 << 16);
    const log = await load(false);
    expect(log.logEndOffset).toBe(20);
    expect(fs.statSync(last).size).toBe(size);
    expect(log.recovery.truncatedBytes).toBe(0);
    expect((await contents(log)).equals(Buffer.concat(stored))).toBe(true);
  });

  it('treats zeros at the end of a rolled, unsealed segment as its end when the next segment follows on', async () => {
    await start();
    const stored = await fill(40, false);
    const logs = segmentFiles('.log');
    const victim = logs[1];
    fs.chmodSync(victim, 0o644);
    fs.truncateSync(victim, fs.statSync(victim).size + 8192);
    const log = await load(false);
    expect(log.logEndOffset).toBe(80);
    expect(log.recovery.deletedSegments).toBe(0);
    expect((await contents(log)).equals(Buffer.concat(stored))).toBe(true);
  });

  it('drops the segments after a rolled, unsealed segment whose last write never landed (offset gap)', async () => {
    await start();
    const stored = await fill(40, false);
    const logs = segmentFiles('.log');
    const victim = logs[logs.length - 2];
    const victimBase = Number(path.basename(victim).slice(0, 20));
    // The segment was rolled but not sealed, and its last batch never reached the file: it ends on a boundary.
    fs.chmodSync(victim, 0o644);
    const inVictim = stored.filter(
      (_, i) => i * 2 >= victimBase && i * 2 < Number(path.basename(logs.at(-1)!).slice(0, 20)),
    );
    const lastSize = inVictim[inVictim.length - 1].length;
    fs.truncateSync(victim, fs.statSync(victim).size - lastSize);
    const log = await load(false);
    const expectedEnd = victimBase + (inVictim.length - 1) * 2;
    expect(log.logEndOffset).toBe(expectedEnd);
    expect(log.recovery.deletedSegments).toBe(1);
    expect((await contents(log)).equals(Buffer.concat(stored.slice(0, expectedEnd / 2)))).toBe(true);
    // Appends continue right after the valid data.
    expect((await log.append(batchOf(1, 5, 1))).baseOffset).toBe(expectedEnd);
  });

  it('removes .deleted and .cleaned files, completes a .swap, drops index swaps and orphan indexes', async () => {
    await start();
    const stored = await fill(40, true);
    const logs = segmentFiles('.log');
    const b1 = path.basename(logs[1]).slice(0, 20);
    const b2 = path.basename(logs[2]).slice(0, 20);
    // A compaction that finished writing a swap covering segments 1 and 2 (same contents, one file).
    const merged = Buffer.concat([fs.readFileSync(logs[1]), fs.readFileSync(logs[2])]);
    fs.writeFileSync(path.join(dir, `${b1}.log.swap`), merged);
    fs.writeFileSync(path.join(dir, `${b1}.index.swap`), Buffer.alloc(8));
    fs.writeFileSync(path.join(dir, `${b2}.log.deleted`), 'x');
    fs.writeFileSync(path.join(dir, '00000000000000099999.log.cleaned'), 'x');
    fs.writeFileSync(path.join(dir, '00000000000000099999.log.swap'), 'x');
    fs.writeFileSync(path.join(dir, '00000000000000088888.index'), 'x');
    // .deleted files go to the remover (a stopped one keeps them), the rest is dealt with before open returns.
    const stopped = new FileRemover();
    await stopped.stop();
    const first = await PartitionLog.open({ dir, topic: 't', partition: 0, engine, config: cfg, remover: stopped });
    expect(fs.existsSync(path.join(dir, `${b2}.log.deleted`))).toBe(true);
    await first.close();
    const remover = new FileRemover();
    const log = await PartitionLog.open({ dir, topic: 't', partition: 0, engine, config: cfg, remover });
    open.push(log);
    await remover.idle();
    const names = fs.readdirSync(dir);
    expect(names.filter((n) => /\.(deleted|cleaned|swap)$/.test(n))).toEqual([]);
    expect(names).not.toContain('00000000000000088888.index');
    expect(names).not.toContain(`${b2}.log`);
    expect(log.segments).toHaveLength(logs.length - 1);
    expect(log.logEndOffset).toBe(80);
    expect((await contents(log)).equals(Buffer.concat(stored))).toBe(true);
  });

  it('reopens after a clean shutdown without scanning, finding the active end from the index', async () => {
    await start();
    const stored = await fill(40, true);
    const log = await load(true);
    expect(log.recovery.truncatedBytes).toBe(0);
    expect(log.recovery.rebuiltIndexes).toBe(0);
    expect(log.logEndOffset).toBe(80);
    expect((await contents(log)).equals(Buffer.concat(stored))).toBe(true);
  });
});
