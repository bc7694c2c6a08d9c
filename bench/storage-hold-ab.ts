/**
 * A/B of holding small acks=-1 writes while an fdatasync is in flight (storage/offset-tracker.ts): paced acks=-1
 * appends (bench/storage-append.ts's pacedCase, io_uring engine) with holding off and on, alternating run by run in
 * one process, so that both arms see the same minutes of this VM's disk and the same warm JIT. Latency tails here
 * move by ±30% from one invocation to the next; alternating in one process is what makes the two arms comparable.
 *
 *   node dist/bench/storage-hold-ab.js [SIZE=1024] [MIBPS=11] [RUNS=20]
 *
 * Prints, per arm, the medians over its runs of p50 and p99 append latency (from the append() call) and of the event
 * loop's utilisation during the run. Not part of `npm run bench` (it is a before-and-after, not a limit).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { createUringEngine } from '../storage/io/select-engine.js';
import { median } from './bench-row.js';
import { openPacer } from './pacer.js';
import { makeBatch, pacedCase, percentile } from './storage-append.js';

interface Arm {
  p50: number[];
  p99: number[];
  elu: number[];
}

export async function main(argv: string[]): Promise<void> {
  const size = Number(argv[0] ?? 1024);
  const mibps = Number(argv[1] ?? 11);
  const runs = Number(argv[2] ?? 20);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-hold-ab-'));
  const engine = await createUringEngine();
  const pacer = await openPacer();
  const arms: Record<'off' | 'on', Arm> = { off: { p50: [], p99: [], elu: [] }, on: { p50: [], p99: [], elu: [] } };
  try {
    for (let r = 0; r < runs; r++) {
      const hold = r % 2 === 1;
      const elu0 = performance.eventLoopUtilization();
      const run = await pacedCase(engine, pacer, dir, makeBatch(size), mibps, 1, hold);
      const arm = arms[hold ? 'on' : 'off'];
      arm.elu.push(performance.eventLoopUtilization(elu0).utilization);
      arm.p50.push(percentile(run.call, 50));
      arm.p99.push(percentile(run.call, 99));
    }
  } finally {
    await pacer.close();
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`${size}-byte acks=-1 appends at ${mibps} MiB/s, io_uring, ${runs} runs of 1 s alternating`);
  console.log('holding | p50 ms | p99 ms | event-loop utilisation   (medians over the arm runs)');
  for (const [name, arm] of Object.entries(arms)) {
    console.log(
      `${name.padEnd(7)} | ${median(arm.p50).toFixed(2)} | ${median(arm.p99).toFixed(2)} | ${median(arm.elu).toFixed(2)}`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
