/**
 * A/B of the acks=-1 latency mechanisms, in one process with turns alternating every BERTH_AB_TURN_SECONDS, so
 * that a busy machine's drift falls on every arm alike: the fdatasync linked behind the write in the kernel
 * (IOSQE_IO_LINK, arm L1) or issued by the ring from the write's completion (L0), beside one pwrite + fdatasync at
 * a time (ref). Each turn is a fresh partition log paced open loop (bench/storage-append.ts pacedCase) at a fixed
 * pace per batch size. (Session 4 also ran arms with two fdatasyncs in flight per partition, O2, from the
 * experiment in commit 71f7c19, reverted: bench/results-storage.md.)
 * `node dist/bench/acks-all-ab.js`; knobs: BERTH_AB_PACES ("bytes:MiB/s,...", default 1 MiB at 60 and 16 KiB at 8),
 * BERTH_AB_TURNS (default 8 per arm), BERTH_AB_TURN_SECONDS (default 0.5), BERTH_AB_ARMS (e.g. "L1,ref").
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createUringEngine, type UringEngine } from '../storage/io/uring-engine.js';
import { median } from './bench-row.js';
import { openPacer } from './pacer.js';
import { makeBatch, type PacedRun, pacedCase, percentile, syncedWriteReference } from './storage-append.js';

const PACES = (process.env.BERTH_AB_PACES ?? `${1 << 20}:60,${16 * 1024}:8`)
  .split(',')
  .map((x) => x.split(':').map(Number) as [number, number]);
const TURNS = Number(process.env.BERTH_AB_TURNS ?? 8);
const TURN_SECONDS = Number(process.env.BERTH_AB_TURN_SECONDS ?? 0.5);
const ARMS = (process.env.BERTH_AB_ARMS ?? 'L0,L1,ref').split(',');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-acks-all-ab-'));
const engine = createUringEngine() as UringEngine;
const pacer = await openPacer();
try {
  for (const [size, mibps] of PACES) {
    const runs = new Map<string, PacedRun[]>(ARMS.map((a) => [a, []]));
    const batch = makeBatch(size);
    for (let t = 0; t < TURNS; t++) {
      // Rotate the order each turn, so no arm always follows the same one.
      for (let k = 0; k < ARMS.length; k++) {
        const arm = ARMS[(k + t) % ARMS.length]!;
        if (arm === 'ref') {
          runs.get(arm)!.push(await syncedWriteReference(pacer, dir, size, mibps, TURN_SECONDS));
          continue;
        }
        engine.setLinkedSync(arm === 'L1');
        runs.get(arm)!.push(await pacedCase(engine, pacer, dir, batch, mibps, TURN_SECONDS));
      }
    }
    console.log(
      `\n${size} bytes at ${mibps} MiB/s, ${TURNS} turns of ${TURN_SECONDS} s per arm (load ${os.loadavg()[0].toFixed(1)})`,
    );
    console.log('arm  | from call p50 / p99 (pooled) | median turn p99 | from scheduled p50 / p99 | lateness p99 | n');
    for (const [arm, rs] of runs) {
      const pool = (k: keyof PacedRun) => rs.flatMap((r) => r[k]).sort((a, b) => a - b);
      const call = pool('call');
      const sched = pool('scheduled');
      const f = (x: number) => x.toFixed(2);
      console.log(
        `${arm.padEnd(4)} | ${f(percentile(call, 50))} / ${f(percentile(call, 99))} | ` +
          `${f(median(rs.map((r) => percentile(r.call, 99))))} | ${f(percentile(sched, 50))} / ` +
          `${f(percentile(sched, 99))} | ${f(percentile(pool('lateness'), 99))} | ${call.length}`,
      );
    }
  }
} finally {
  await pacer.close();
  await engine.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
