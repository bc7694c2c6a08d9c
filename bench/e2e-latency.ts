/**
 * End to end through the broker alone (issue 8): producer to consumer at 10,000 msgs/s of 100 B, acks=1, the
 * consumer long-polling, with minimal C clients (bench/c/latency-raw.c: one Produce request per message, restamped
 * and sent at its scheduled time; one Fetch v4 in flight) instead of librdkafka, whose batching and threads are part
 * of broker-produce-fetch's end-to-end figure. Beside it, in the same run, the machine's loopback round trip.
 * Target: p50 < 1 ms, p99 < 3 ms. Knobs: BERTH_BENCH_E2E_RATE (default 10000), BERTH_BENCH_E2E_SECONDS (default 3).
 *
 * Then the same clients at CATCH_UP_RATE (2,000 msgs/s, where the machine has room to spare) beside a consumer
 * catching up on a 512 MiB backlog of another topic as fast as it can (bench/c/fetch-drain.c, 4 MiB fetches), each
 * run paired with one without it: what a large fetch costs everyone else on the broker. Such fetches used to be
 * sent from the event loop, milliseconds of sendfile each; they now go on on the native send thread.
 *
 * `node dist/bench/e2e-latency.js librdkafka [REPEATS=5]` runs only broker-produce-fetch's librdkafka case
 * (bench/c/latency.c: a librdkafka producer, linger.ms 0, acks=1, and a librdkafka consumer, fetch.wait.max.ms 100)
 * against one broker, REPEATS times on fresh topics after a warm-up run, and prints each run (with the broker's CPU
 * and the machine's load average, which decides most of the tail on a shared machine) and the medians.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BenchRow, median, renderTable } from './bench-row.js';
import {
  compileLoadTools,
  compileTool,
  cpuSeconds,
  type GcStats,
  gcNote,
  runTool,
  type SystemUnderTest,
  startBerth,
  withGc,
} from './broker-load-tools.js';
import { fill } from './fetch-limit.js';

const RATE = Number(process.env.BERTH_BENCH_E2E_RATE ?? 10_000);
const SECONDS = Number(process.env.BERTH_BENCH_E2E_SECONDS ?? 3);
const REPEATS = 3;
const CATCH_UP_RATE = 2000;
const CATCH_UP_MB = 512;

export async function run(): Promise<BenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-e2e-'));
  let sut: SystemUnderTest | undefined;
  try {
    const tool = compileTool(dir, 'latency-raw');
    const loopback = compileTool(dir, 'loopback');
    sut = await startBerth(path.join(dir, 'data'), 'zerocopy');
    const p50: number[] = [];
    const p99: number[] = [];
    const rttP50: number[] = [];
    const rttP99: number[] = [];
    const cpu: number[] = [];
    const gcs: Array<GcStats | null> = [];
    for (let i = 0; i < REPEATS; i++) {
      const rtt = await runTool(loopback, ['rtt', 10_000]);
      rttP50.push(rtt.p50Ms!);
      rttP99.push(rtt.p99Ms!);
      const topic = `e2e-latency-${i}`;
      await sut.createTopic(topic);
      const [host, port] = sut.bootstrap.split(':');
      const cpu0 = cpuSeconds(sut.pid);
      const { result: r, gc } = await withGc(sut, () =>
        runTool(tool, [host!, port!, topic, RATE, SECONDS], () => sut!.died()),
      );
      cpu.push((cpuSeconds(sut.pid) - cpu0) / (SECONDS + 0.5));
      gcs.push(gc);
      if (r.received !== r.sent || r.produceErrors !== 0) {
        throw new Error(`latency-raw: ${r.received} of ${r.sent} received, ${r.produceErrors} produce errors`);
      }
      p50.push(r.p50Ms!);
      p99.push(r.p99Ms!);
    }
    const note =
      `median of ${REPEATS} x ${SECONDS} s at ${RATE} msgs/s of 100 B, one Produce request each, acks=1; Fetch v4 ` +
      `long poll (100 ms), one in flight; minimal C clients; broker CPU ${median(cpu).toFixed(2)} cores ` +
      `(runs: p50 ${p50.map((v) => v.toFixed(2)).join('/')}, p99 ${p99.map((v) => v.toFixed(1)).join('/')} ms)` +
      gcNote(gcs);
    const catchUp = await besideCatchUp(sut, tool, compileTool(dir, 'fetch-drain'));
    return [
      {
        name: 'end to end p50, broker alone',
        value: median(p50),
        unit: 'ms',
        reference: { name: 'loopback TCP round trip, 100 B', value: median(rttP50) },
        note: `target < 1 ms; ${note}`,
      },
      {
        name: 'end to end p99, broker alone',
        value: median(p99),
        unit: 'ms',
        reference: { name: 'loopback TCP round trip p99, 100 B', value: median(rttP99) },
        note: 'target < 3 ms',
      },
      ...catchUp,
    ];
  } finally {
    await sut?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** End to end at CATCH_UP_RATE, alone and beside a catching-up consumer, REPEATS pairs (see the top of the file). */
async function besideCatchUp(sut: SystemUnderTest, tool: string, drain: string): Promise<BenchRow[]> {
  await fill(sut, 'e2e-backlog', CATCH_UP_MB);
  const [host, port] = sut.bootstrap.split(':');
  const alone = { p50: [] as number[], p99: [] as number[] };
  const beside = { p50: [] as number[], p99: [] as number[] };
  const drainMbps: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    for (const withDrain of [false, true]) {
      const topic = `e2e-catch-up-${i}-${withDrain ? 'beside' : 'alone'}`;
      await sut.createTopic(topic);
      // The consumer starts first and outlasts the measured run.
      const draining = withDrain ? runTool(drain, [host!, port!, 'e2e-backlog', SECONDS + 1], sut.died) : null;
      if (draining) await new Promise((r) => setTimeout(r, 300));
      const r = await runTool(tool, [host!, port!, topic, CATCH_UP_RATE, SECONDS], sut.died);
      if (r.received !== r.sent || r.produceErrors !== 0) {
        throw new Error(`latency-raw: ${r.received} of ${r.sent} received, ${r.produceErrors} produce errors`);
      }
      const into = withDrain ? beside : alone;
      into.p50.push(r.p50Ms!);
      into.p99.push(r.p99Ms!);
      if (draining) drainMbps.push((await draining).mbps!);
    }
  }
  const runs = (v: number[]) => v.map((x) => x.toFixed(2)).join('/');
  const note =
    `${CATCH_UP_RATE} msgs/s of 100 B as above, beside a consumer reading a ${CATCH_UP_MB} MiB backlog of another ` +
    `topic with 4 MiB fetches (fetch-drain, ${median(drainMbps).toFixed(0)} MB/s); median of ${REPEATS}, each run ` +
    `paired with one without it (runs beside: p50 ${runs(beside.p50)}, p99 ${runs(beside.p99)} ms; alone: p50 ` +
    `${runs(alone.p50)}, p99 ${runs(alone.p99)} ms)`;
  return [
    {
      name: 'end to end p50 beside a catch-up consumer',
      value: median(beside.p50),
      unit: 'ms',
      reference: { name: `the same, alone, ${CATCH_UP_RATE} msgs/s`, value: median(alone.p50) },
      note,
    },
    {
      name: 'end to end p99 beside a catch-up consumer',
      value: median(beside.p99),
      unit: 'ms',
      reference: { name: `the same, alone, ${CATCH_UP_RATE} msgs/s`, value: median(alone.p99) },
      note: 'no target of its own: what a large fetch costs other clients',
    },
  ];
}

/** The librdkafka end-to-end case alone (see the top of this file); returns the medians of p50, p99 and max. */
export async function runLibrdkafka(repeats: number): Promise<{ p50Ms: number; p99Ms: number; maxMs: number }> {
  const compiled = compileLoadTools();
  if (!compiled.ok) throw new Error(compiled.reason);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-e2e-rdk-'));
  let sut: SystemUnderTest | undefined;
  try {
    sut = await startBerth(path.join(dir, 'data'), 'zerocopy');
    const latency = (topic: string) =>
      runTool(compiled.bin('latency'), [sut!.bootstrap, topic, RATE, SECONDS, 100, 0], () => sut!.died());
    await sut.createTopic('e2e-warm-up');
    await latency('e2e-warm-up');
    const runs: Array<Record<string, number>> = [];
    for (let i = 0; i < repeats; i++) {
      const topic = `e2e-librdkafka-${i}`;
      await sut.createTopic(topic);
      const cpu0 = cpuSeconds(sut.pid);
      const r = await latency(topic);
      const cpu = cpuSeconds(sut.pid) - cpu0;
      runs.push(r);
      console.log(
        `run ${i + 1}: p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms; broker CPU ${cpu.toFixed(2)} s; ` +
          `load average ${os.loadavg()[0].toFixed(2)}`,
      );
    }
    const m = (k: string) => median(runs.map((r) => r[k]!));
    const result = { p50Ms: m('p50Ms'), p99Ms: m('p99Ms'), maxMs: m('maxMs') };
    console.log(`median of ${repeats}: p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, max ${result.maxMs} ms`);
    return result;
  } finally {
    await sut?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(compiled.dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv[2] === 'librdkafka') await runLibrdkafka(Number(process.argv[3] ?? 5));
  else console.log(renderTable('broker-e2e-latency', await run()));
}
