/**
 * A seeded random sequence of operations (append, concurrent appends, rolls, retention, deleteRecords, clean
 * restarts, unclean restarts with or without a chopped tail) checked after every step against a simple model: the
 * list of batches the log must hold, its start and end offsets.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { IoEngine } from '../../../storage/io/io-engine.js';
import { PartitionLog } from '../../../storage/partition-log.js';
import { buildBatch, rng } from './helpers/batches.js';
import { removeDir, tempDir, testEngines } from './helpers/engines.js';

const engines = await testEngines();
const SEEDS = Array.from({ length: Number(process.env.BERTH_RANDOM_SEEDS ?? 4) }, (_, i) => i + 1);
const STEPS = Number(process.env.BERTH_RANDOM_STEPS ?? 150);

interface ModelBatch {
  baseOffset: number;
  lastOffset: number;
  bytes: Buffer;
  firstTimestamp: number;
}

describe.each(engines)('random operations against a model on $name engine', ({ create }) => {
  let root = '';
  let engine: IoEngine | undefined;
  let log: PartitionLog | undefined;
  afterEach(async () => {
    if (log && !log.closed) await log.close();
    await engine?.close();
    engine = undefined;
    if (root) removeDir(root);
  });

  it.each(SEEDS)('seed %i', async (seed) => {
    const rand = rng(seed);
    const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
    root = tempDir();
    engine = await create();
    const dir = path.join(root, 't-0');
    const config = { 'segment.bytes': int(1500, 5000), 'index.interval.bytes': int(0, 600), 'file.delete.delay.ms': 0 };
    const openLog = (clean: boolean, recoveryPoint = 0, logStartOffset = 0) =>
      PartitionLog.open({
        dir,
        topic: 't',
        partition: 0,
        engine: engine!,
        config,
        clean,
        recoveryPoint,
        logStartOffset,
      });
    log = await openLog(true);
    let batches: ModelBatch[] = [];
    let lso = 0;
    let leo = 0;
    let ts = 1_000_000;

    const makeBatch = () => {
      const n = int(1, 5);
      const size = int(1, 400);
      const records = Array.from({ length: n }, (_, i) => ({
        value: Buffer.alloc(size, (ts + i) & 0xff),
        timestamp: ts + i,
      }));
      const first = ts;
      ts += n;
      return { buf: buildBatch(records), n, first };
    };

    const check = async (step: string) => {
      const l = log!;
      expect(l.logStartOffset, step).toBe(lso);
      expect(l.logEndOffset, step).toBe(leo);
      const visible = batches.filter((b) => b.lastOffset >= lso);
      if (leo > lso) {
        const ranges = await l.read(lso, 1 << 26);
        const got = Buffer.concat(await Promise.all(ranges.map((r) => l.readBytes(r))));
        expect(got.equals(Buffer.concat(visible.map((b) => b.bytes))), step).toBe(true);
        // A random bounded read: starts at the batch holding the offset, ends on a boundary within maxBytes.
        const at = int(lso, leo - 1);
        const maxBytes = int(1, 3000);
        const minOne = rand() < 0.5;
        const r = await l.read(at, maxBytes, { minOneBatch: minOne });
        const start = visible.findIndex((b) => b.lastOffset >= at);
        let n = 0;
        let bytes = 0;
        while (start + n < visible.length && bytes + visible[start + n].bytes.length <= maxBytes) {
          bytes += visible[start + n].bytes.length;
          n++;
        }
        if (n === 0 && minOne) {
          n = 1;
          bytes = visible[start].bytes.length;
        }
        expect(
          r.reduce((s, x) => s + x.length, 0),
          `${step}: read(${at}, ${maxBytes}, ${minOne})`,
        ).toBe(bytes);
        if (n > 0) {
          expect(r[0].firstOffset, step).toBe(visible[start].baseOffset);
          expect(r[r.length - 1].lastOffset, step).toBe(visible[start + n - 1].lastOffset);
        }
        // Timestamp lookup: the first record at or after a timestamp (records are numbered by timestamp).
        const first = visible[0];
        const target = int(first.firstTimestamp - 2, ts + 2);
        const hit = await l.readByTimestamp(target);
        let expected: { offset: number; timestamp: number } | null = null;
        for (const b of visible) {
          for (let o = b.baseOffset; o <= b.lastOffset && !expected; o++) {
            const t = b.firstTimestamp + (o - b.baseOffset);
            if (t >= target && o >= lso) expected = { offset: o, timestamp: t };
          }
          if (expected) break;
        }
        expect(hit, `${step}: readByTimestamp(${target})`).toEqual(expected);
      } else {
        expect(await l.read(lso, 1000), step).toEqual([]);
      }
    };

    for (let step = 0; step < STEPS; step++) {
      const op = rand();
      let label = `step ${step}`;
      if (op < 0.45) {
        const k = int(1, 4);
        label += ` append x${k}`;
        const made = Array.from({ length: k }, makeBatch);
        const acks = rand() < 0.5 ? -1 : 1;
        const results = await Promise.all(made.map((m) => log!.append(m.buf, { acks })));
        results.forEach((res, i) => {
          batches.push({
            baseOffset: res.baseOffset,
            lastOffset: res.lastOffset,
            bytes: Buffer.from(made[i].buf),
            firstTimestamp: made[i].first,
          });
          expect(res.baseOffset, label).toBe(leo);
          leo = res.lastOffset + 1;
        });
      } else if (op < 0.55) {
        label += ' retention.bytes';
        const keep = int(0, 8000);
        log.updateConfig({ ...config, 'retention.bytes': keep });
        await log.flush();
        await log.drain();
        await new Promise((r) => setTimeout(r, 5));
        log.deleteOldSegments();
        log.updateConfig(config);
        const segs = log.segments;
        // Only whole sealed segments go: the start never goes back, stays within the first segment, and the rule
        // holds for what is left (unless only the active segment is left to delete).
        expect(log.logStartOffset, label).toBeGreaterThanOrEqual(lso);
        expect(log.logStartOffset, label).toBeGreaterThanOrEqual(segs[0].baseOffset);
        if (segs.length > 1 && segs[0].sealed) expect(log.sizeInBytes - segs[0].size, label).toBeLessThan(keep);
        batches = batches.filter((b) => b.lastOffset >= segs[0].baseOffset);
        lso = log.logStartOffset;
      } else if (op < 0.63) {
        const to = int(lso, leo);
        label += ` deleteRecordsBefore(${to})`;
        expect(log.deleteRecordsBefore(to), label).toBe(Math.max(lso, to));
        lso = Math.max(lso, to);
      } else if (op < 0.75) {
        label += ' clean restart';
        await log.close();
        log = await openLog(true, 0, lso);
      } else {
        const chop = rand() < 0.5;
        label += ` unclean restart${chop ? ' with a chopped tail' : ''}`;
        await log.flush();
        const rp = log.recoveryPoint;
        const segs = log.segments;
        const last = segs[segs.length - 1];
        const lastFile = last.logPath;
        const lastBase = last.baseOffset;
        await log.abandon();
        if (chop) {
          const size = fs.statSync(lastFile).size;
          const cut = int(0, Math.min(size, 2000));
          fs.truncateSync(lastFile, size - cut);
          // Batches in the last segment survive when they end within the new size.
          let pos = 0;
          const kept: ModelBatch[] = [];
          for (const b of batches) {
            if (b.baseOffset < lastBase) kept.push(b);
            else if (pos + b.bytes.length <= size - cut) {
              kept.push(b);
              pos += b.bytes.length;
            } else break;
          }
          batches = kept;
          leo = batches.length ? batches[batches.length - 1].lastOffset + 1 : lastBase;
          if (leo < lastBase) leo = lastBase;
        }
        log = await openLog(false, Math.min(rp, lastBase), lso);
        if (leo < lso) {
          batches = [];
          leo = lso;
        }
      }
      await check(label);
    }
  });
});
