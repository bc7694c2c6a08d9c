/**
 * Before/after comparison of the broker's produce path on a busy machine: two Berth builds (this checkout and an
 * older one, built with `tsc`) and librdkafka's mock cluster run side by side and take turns, the order flipped on
 * every repeat, so that load from elsewhere falls on all of them alike. Prints each run, then medians of msgs/s,
 * broker CPU seconds per GiB produced, and the per-run ratio to the mock.
 *
 *   node dist/bench/broker-ab.js CASE [REPEATS=3] [ACKS=1]
 *   CASE: 100 | 1k | batch | latency. BERTH_AB_BASE=<checkout with dist/ built> adds the older build.
 *   BERTH_AB_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/x' passes node flags to this checkout's broker.
 *
 * The latency case is bench/c/latency.c at 10,000 msgs/s of 100 B, acks=1, linger.ms=0 (each message sent at once:
 * the figure is the broker's and the clients' path, not the producer's batching), fetch.wait.max.ms 100.
 *
 * The producer shares the machine's cores with the broker and is often the slower side, so each produce run also
 * reports the producer's own CPU seconds per GiB and its minor page faults (through /usr/bin/time, when installed):
 * the same messages cost the producer more against one broker than another when its buffers are freed at another
 * rhythm (bench/results-broker.md, "Produce 1 KiB"). BERTH_AB_CLIENT_MALLOC=keep runs every producer with glibc's
 * heap trimming off (GLIBC_TUNABLES), which takes most of those page faults out, for both sides alike.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  compileLoadTools,
  cpuSeconds,
  runTool,
  type SystemUnderTest,
  startBerth,
  startMockCluster,
} from './broker-load-tools.js';

const CASES: Record<string, [size: number, count: number, lingerMs: number, batchBytes: number]> = {
  '100': [100, 1_000_000, 5, 1_000_000],
  '1k': [1024, 250_000, 5, 1_000_000],
  batch: [1024, 256_000, 50, 1 << 20],
};
const GiB = 2 ** 30;
const TIME = '/usr/bin/time';
/** glibc never gives freed heap back to the kernel, so reused buffers do not fault their pages in again. */
const KEEP_HEAP = 'glibc.malloc.trim_threshold=4294967295:glibc.malloc.mmap_threshold=33554432';

/** Runs produce-load, through /usr/bin/time when present: also returns the producer's CPU seconds and minor faults. */
async function runProducer(
  bin: string,
  args: Array<string | number>,
): Promise<{ r: Record<string, number>; clientCpu: number | null; faults: number | null }> {
  const prefix: string[] = process.env.BERTH_AB_CLIENT_MALLOC === 'keep' ? [`GLIBC_TUNABLES=${KEEP_HEAP}`] : [];
  if (!fs.existsSync(TIME)) {
    const r = prefix.length ? await runTool('/usr/bin/env', [...prefix, bin, ...args]) : await runTool(bin, args);
    return { r, clientCpu: null, faults: null };
  }
  const out = path.join(os.tmpdir(), `berth-ab-time-${process.pid}.txt`);
  const r = await runTool('/usr/bin/env', [...prefix, TIME, '-f', '%U %S %R', '-o', out, bin, ...args]);
  const [user, sys, faults] = fs.readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  fs.rmSync(out, { force: true });
  return { r, clientCpu: user + sys, faults };
}

interface Run {
  rate: number;
  cpuPerGiB: number;
  clientCpuPerGiB?: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const [kase = '100', repeatsArg = '3', acks = '1'] = process.argv.slice(2);
  const repeats = Number(repeatsArg);
  if (kase !== 'latency' && !CASES[kase]) throw new Error(`unknown case ${kase}`);
  const compiled = compileLoadTools();
  if (!compiled.ok) throw new Error(compiled.reason);
  const bin = compiled.bin;
  const dirs: string[] = [];
  const dataDir = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-ab-'));
    dirs.push(d);
    return d;
  };
  const subjects: Array<[string, SystemUnderTest]> = [];
  try {
    const base = process.env.BERTH_AB_BASE;
    if (base) {
      const tools = (await import(
        path.resolve(base, 'dist/bench/broker-load-tools.js')
      )) as typeof import('./broker-load-tools.js');
      subjects.push(['base', await tools.startBerth(dataDir(), 'zerocopy')]);
    }
    const nodeArgs = (process.env.BERTH_AB_NODE_ARGS ?? '').split(' ').filter(Boolean);
    subjects.push(['this', await startBerth(dataDir(), 'zerocopy', nodeArgs)]);
    subjects.push(['mock', await startMockCluster(bin('mock-cluster'))]);
    for (const [, s] of subjects) {
      await s.createTopic('warm');
      await runTool(bin('produce-load'), [s.bootstrap, 'warm', 1024, 50_000, 1, 5]);
    }
    const runs = new Map<string, Run[]>(subjects.map(([n]) => [n, []]));
    for (let rep = 0; rep < repeats; rep++) {
      const line: string[] = [];
      for (const [name, s] of rep % 2 === 0 ? subjects : [...subjects].reverse()) {
        const topic = `ab-${kase}-${rep}`;
        await s.createTopic(topic);
        const before = cpuSeconds(s.pid);
        if (kase === 'latency') {
          const r = await runTool(bin('latency'), [s.bootstrap, topic, 10_000, 3, 100, 0]);
          const cpu = cpuSeconds(s.pid) - before;
          line.push(`${name}: p50 ${r.p50Ms} ms p99 ${r.p99Ms} ms, broker CPU ${cpu.toFixed(2)} s`);
          runs.get(name)!.push({ rate: r.p50Ms, cpuPerGiB: r.p99Ms });
          continue;
        }
        const [size, count, linger, batch] = CASES[kase];
        const p = await runProducer(bin('produce-load'), [s.bootstrap, topic, size, count, acks, linger, batch]);
        const { r } = p;
        const gib = (r.msgs * size) / GiB;
        const cpuPerGiB = (cpuSeconds(s.pid) - before) / gib;
        const clientCpuPerGiB = p.clientCpu === null ? undefined : p.clientCpu / gib;
        runs.get(name)!.push({ rate: r.msgsPerSec, cpuPerGiB, clientCpuPerGiB });
        const client = p.clientCpu === null ? '' : `, producer ${clientCpuPerGiB!.toFixed(2)} s/GiB ${p.faults} faults`;
        line.push(
          `${name}: ${Math.round(r.msgsPerSec)} msgs/s ${r.mbPerSec.toFixed(0)} MB/s ${cpuPerGiB.toFixed(2)} s/GiB${client}`,
        );
      }
      console.log(line.join(' | '));
    }
    const mock = runs.get('mock')!;
    for (const [name, rs] of runs) {
      if (kase === 'latency') {
        console.log(
          `${name}: median p50 ${median(rs.map((r) => r.rate))} ms, p99 ${median(rs.map((r) => r.cpuPerGiB))} ms`,
        );
        continue;
      }
      const ratios = rs.map((r, i) => r.rate / mock[i].rate);
      const clients = rs.flatMap((r) => (r.clientCpuPerGiB === undefined ? [] : [r.clientCpuPerGiB]));
      const client = clients.length ? `, producer ${median(clients).toFixed(2)} CPU s/GiB` : '';
      console.log(
        `${name}: median ${Math.round(median(rs.map((r) => r.rate)))} msgs/s, ` +
          `${median(rs.map((r) => r.cpuPerGiB)).toFixed(2)} CPU s/GiB${client}, ratio to mock ${median(ratios).toFixed(2)} ` +
          `(runs ${ratios.map((x) => x.toFixed(2)).join(' ')})`,
      );
    }
  } finally {
    for (const [, s] of subjects) await s.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    fs.rmSync(compiled.dir, { recursive: true, force: true });
  }
}

await main();
