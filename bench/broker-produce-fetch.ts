/**
 * Broker benchmark (issue 4): the whole broker over TCP, driven by librdkafka load generators written in C
 * (`bench/c/`, compiled at run time), so that the client is not the bottleneck. Measures produce msgs/s and MB/s
 * for 100 B and 1 KiB messages and for 1 MiB batches at acks=1 and acks=-1, fetch MB/s and broker CPU seconds per
 * GiB on the zero-copy and the copying send path, and end-to-end p50/p99 latency at a fixed rate. Every figure is
 * printed beside the same run's figure for librdkafka's in-memory mock cluster driven by the same client, and MB/s
 * figures also against this machine's loopback TCP limit measured in the same run.
 * Run directly to print a table: `node dist/bench/broker-produce-fetch.js`. BERTH_BENCH_SCALE scales the volumes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BenchRow, formatNumber, median, renderTable } from './bench-row.js';
import {
  type Compiled,
  compileLoadTools,
  cpuSeconds,
  runTool,
  type SystemUnderTest,
  startBerth,
  startMockCluster,
} from './broker-load-tools.js';

const SCALE = Number(process.env.BERTH_BENCH_SCALE ?? 1);
const GiB = 2 ** 30;
const LATENCY_RATE = 10_000;
const LATENCY_SECONDS = 3;
/** Latency runs per system, taking turns: one run's p99 moves by 2x with what else the machine does that second. */
const LATENCY_REPEATS = 3;

interface ProduceCase {
  key: string;
  label: string;
  size: number;
  count: number;
  lingerMs: number;
  batchBytes: number;
}

const produceCases: ProduceCase[] = [
  { key: '100', label: '100 B messages', size: 100, count: 1_000_000, lingerMs: 5, batchBytes: 1_000_000 },
  { key: '1k', label: '1 KiB messages', size: 1024, count: 250_000, lingerMs: 5, batchBytes: 1_000_000 },
  // librdkafka fills a batch up to batch.size: 1 KiB messages with a long linger give batches of about 1 MiB.
  { key: 'batch', label: '1 MiB batches (1 KiB msgs)', size: 1024, count: 256_000, lingerMs: 50, batchBytes: 1 << 20 },
].map((c) => ({ ...c, count: Math.max(1000, Math.round(c.count * SCALE)) }));
const ACKS = ['1', '-1'] as const;
const REPEATS = 2;
interface FetchCase {
  key: string;
  label: string;
  topic: string;
  size: number;
  count: number;
  /** Written before the fetch (topics not written by a produce case). */
  setup: boolean;
}

const fetchCases: FetchCase[] = [
  // The 1 MiB batches written by the produce case at acks=1.
  {
    key: '1k',
    label: '1 KiB msgs in 1 MiB batches',
    topic: 'bench-produce-batch-acks1',
    size: 1024,
    // Exactly what that case wrote: asking for more would wait for messages that never come.
    count: produceCases.find((c) => c.key === 'batch')!.count,
    setup: false,
  },
  // Large messages: the consumer's per-message work out of the way, so the broker's send path shows more.
  {
    key: '64k',
    label: '64 KiB msgs',
    topic: 'bench-fetch-64k',
    size: 65_536,
    count: Math.max(100, Math.round(6144 * SCALE)),
    setup: true,
  },
];
const WARMUP_TOPIC = 'bench-warmup';

interface ProduceResult {
  msgsPerSec: number;
  mbPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuPerGiB: number;
}
interface FetchResult {
  mbPerSec: number;
  msgsPerSec: number;
  cpuPerGiB: number;
  /** Times the consumer went back to the start of the partition (the mock cluster keeps only its last ~5 MB). */
  rewinds: number;
}
interface LatencyResult {
  p50Ms: number;
  p99Ms: number;
  counted: number;
}
/** Medians over the latency runs, and every run's p50/p99 for the note. */
interface LatencyRuns {
  runs: LatencyResult[];
}
/** Everything measured against one system under test. */
interface Figures {
  produce: Map<string, ProduceResult>;
  fetch: Map<string, FetchResult>;
  latency?: LatencyRuns;
  errors: string[];
}

type Bin = Extract<Compiled, { ok: true }>['bin'];

/** Measures a step's result and the CPU the system under test spent during it. */
async function withCpu<T>(sut: SystemUnderTest, step: () => Promise<T>): Promise<{ result: T; cpu: number }> {
  const before = cpuSeconds(sut.pid);
  const result = await step();
  return { result, cpu: cpuSeconds(sut.pid) - before };
}

/** One produce run; a system's figure for a case is the best of its REPEATS runs (other helpers share the cores). */
async function produceOnce(
  bin: Bin,
  sut: SystemUnderTest,
  c: ProduceCase,
  acks: string,
  rep: number,
  figures: Figures,
) {
  const topic = `bench-produce-${c.key}-acks${acks === '1' ? '1' : 'all'}`;
  const key = `${c.key}/${acks}`;
  if (sut.died()) return;
  try {
    if (rep === 0) await sut.createTopic(topic);
    const args = [sut.bootstrap, topic, c.size, c.count, acks, c.lingerMs, c.batchBytes];
    const { result: r, cpu } = await withCpu(sut, () => runTool(bin('produce-load'), args, sut.died));
    const best = figures.produce.get(key);
    if (best && best.msgsPerSec >= r.msgsPerSec) return;
    figures.produce.set(key, {
      msgsPerSec: r.msgsPerSec,
      mbPerSec: r.mbPerSec,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      cpuPerGiB: cpu / ((r.msgs * c.size) / GiB),
    });
  } catch (err) {
    figures.errors.push(`produce ${c.label} acks=${acks}: ${(err as Error).message}`);
  }
}

/** Writes what the fetch cases read that no produce case wrote, and warms the system up (JIT, first segments). */
async function setup(bin: Bin, sut: SystemUnderTest): Promise<void> {
  await sut.createTopic(WARMUP_TOPIC);
  await runTool(bin('produce-load'), [sut.bootstrap, WARMUP_TOPIC, 1024, Math.round(50_000 * SCALE), 1, 5], sut.died);
  for (const c of fetchCases.filter((f) => f.setup)) {
    await sut.createTopic(c.topic);
    await runTool(bin('produce-load'), [sut.bootstrap, c.topic, c.size, c.count, 1, 20, 1 << 20], sut.died);
  }
}

/** Reads every fetch case back; `path` names the send path ('mock' for the mock cluster). */
async function fetchAll(
  bin: Bin,
  sut: SystemUnderTest,
  path: string,
  figures: Figures,
  cases = fetchCases,
): Promise<void> {
  for (const c of cases) {
    if (sut.died()) return;
    try {
      const { result: r, cpu } = await withCpu(sut, () =>
        runTool(bin('consume-load'), [sut.bootstrap, c.topic, c.count], sut.died),
      );
      const f = {
        mbPerSec: r.mbPerSec,
        msgsPerSec: r.msgsPerSec,
        cpuPerGiB: cpu / (r.bytes / GiB),
        rewinds: r.rewinds,
      };
      figures.fetch.set(`${c.key}/${path}`, f);
    } catch (err) {
      figures.errors.push(`fetch ${c.label} (${path}): ${(err as Error).message}`);
    }
  }
}

async function latencyOnce(bin: Bin, sut: SystemUnderTest, rep: number, figures: Figures): Promise<void> {
  const topic = `bench-latency-${rep}`;
  if (sut.died()) return;
  try {
    await sut.createTopic(topic);
    const r = await runTool(bin('latency'), [sut.bootstrap, topic, LATENCY_RATE, LATENCY_SECONDS, 100, 0], sut.died);
    figures.latency ??= { runs: [] };
    figures.latency.runs.push({ p50Ms: r.p50Ms, p99Ms: r.p99Ms, counted: r.counted });
  } catch (err) {
    figures.errors.push(`latency: ${(err as Error).message}`);
  }
}

/** Median p50 and p99 of a system's latency runs (each taken separately), with the runs' figures for the note. */
function latencySummary(l: LatencyRuns | undefined): { p50Ms: number; p99Ms: number; runs: string } | null {
  if (!l || l.runs.length === 0) return null;
  return {
    p50Ms: median(l.runs.map((r) => r.p50Ms)),
    p99Ms: median(l.runs.map((r) => r.p99Ms)),
    runs: l.runs.map((r) => `${formatNumber(r.p50Ms)}/${formatNumber(r.p99Ms)}`).join(', '),
  };
}

function emptyFigures(): Figures {
  return { produce: new Map(), fetch: new Map(), errors: [] };
}

interface Subject {
  sut: SystemUnderTest;
  figures: Figures;
  /** Key of its fetch figures: the send path, or 'mock'. */
  path: string;
}

/**
 * Berth and the mock cluster run side by side and take turns case by case (the order flipped on every repeat), so
 * that load from elsewhere on the machine falls on both alike. Berth is then restarted on the same data with the
 * copying fetch path and reads it again (page cache warm for both paths).
 */
async function measureAll(bin: Bin): Promise<{ berth: Figures; mock: Figures }> {
  const berth = emptyFigures();
  const mock = emptyFigures();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-broker-data-'));
  let mockSut: SystemUnderTest | null = null;
  try {
    mockSut = await startMockCluster(bin('mock-cluster')).catch((err: Error) => {
      mock.errors.push(`mock cluster: ${err.message}`);
      return null;
    });
    let zc = await startBerth(dataDir, 'zerocopy');
    const subjects: Subject[] = [{ sut: zc, figures: berth, path: 'zerocopy' }];
    if (mockSut) subjects.push({ sut: mockSut, figures: mock, path: 'mock' });
    try {
      for (const s of subjects) {
        await setup(bin, s.sut).catch((e: Error) => s.figures.errors.push(`setup: ${e.message}`));
      }
      for (const c of produceCases) {
        for (const acks of ACKS) {
          for (let rep = 0; rep < REPEATS; rep++) {
            const order = rep % 2 === 0 ? subjects : [...subjects].reverse();
            for (const s of order) await produceOnce(bin, s.sut, c, acks, rep, s.figures);
          }
        }
      }
      for (const s of subjects) await fetchAll(bin, s.sut, s.path, s.figures);
      // A broker that died under a consumer is reported, and restarted so that the latency case still runs.
      const why = zc.died();
      if (why) {
        berth.errors.push(`zero-copy broker: ${why}`);
        zc = await startBerth(dataDir, 'zerocopy');
        subjects[0].sut = zc;
      }
      for (let rep = 0; rep < LATENCY_REPEATS; rep++) {
        for (const s of rep % 2 === 0 ? subjects : [...subjects].reverse())
          await latencyOnce(bin, s.sut, rep, s.figures);
      }
      for (const s of subjects) {
        const why = s.sut.died();
        if (why) s.figures.errors.push(why);
      }
    } finally {
      await zc.stop();
    }
    // One broker per case here: a broker that dies under one consumer does not take the next case with it.
    for (const c of fetchCases) {
      const copy = await startBerth(dataDir, 'copy');
      try {
        await fetchAll(bin, copy, 'copy', berth, [c]);
        const why = copy.died();
        if (why) berth.errors.push(`copying broker, after fetch ${c.label}: ${why}`);
      } finally {
        await copy.stop();
      }
    }
  } finally {
    await mockSut?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return { berth, mock };
}

interface Loopback {
  mbPerSec: number;
  rttP50Ms: number;
  rttP99Ms: number;
}

/** Loopback TCP limits: throughput (median of three runs of 1 MiB writes) and 100-byte round trips. */
async function measureLoopback(bin: Bin): Promise<Loopback> {
  const runs: number[] = [];
  const mib = Math.round(512 * Math.max(SCALE, 0.25));
  for (let i = 0; i < 3; i++) runs.push((await runTool(bin('loopback'), [mib])).mbPerSec);
  runs.sort((a, b) => a - b);
  const rtt = await runTool(bin('loopback'), ['rtt', 10_000]);
  return { mbPerSec: runs[1], rttP50Ms: rtt.p50Ms, rttP99Ms: rtt.p99Ms };
}

const ratioOf = (v: number | undefined, of: number) => (v === undefined ? 'n/a' : `${(v / of).toFixed(2)}`);

function rows(berth: Figures, mock: Figures, loopback: Loopback): BenchRow[] {
  const out: BenchRow[] = [];
  const loopbackMBps = loopback.mbPerSec;
  const MOCK = 'mock cluster';
  for (const c of produceCases) {
    for (const acks of ACKS) {
      const k = `${c.key}/${acks}`;
      const b = berth.produce.get(k);
      const m = mock.produce.get(k);
      const label = `produce ${c.label}, acks=${acks}`;
      if (!b) {
        out.push({ name: label, value: NaN, unit: 'msgs/s', note: 'failed (see below)' });
        continue;
      }
      out.push({
        name: label,
        value: b.msgsPerSec,
        unit: 'msgs/s',
        reference: m ? { name: MOCK, value: m.msgsPerSec } : undefined,
        note:
          `best of ${REPEATS}; delivery p50/p99 ${formatNumber(b.p50Ms)}/${formatNumber(b.p99Ms)} ms` +
          (m ? ` (mock ${formatNumber(m.p50Ms)}/${formatNumber(m.p99Ms)})` : '') +
          `; broker CPU ${formatNumber(b.cpuPerGiB)} s/GiB` +
          (m ? ` (mock ${formatNumber(m.cpuPerGiB)})` : ''),
      });
      out.push({
        name: `${label}, MB/s`,
        value: b.mbPerSec,
        unit: 'MB/s',
        reference: m ? { name: MOCK, value: m.mbPerSec } : undefined,
        note: `of loopback TCP: Berth ${ratioOf(b.mbPerSec, loopbackMBps)}, mock ${ratioOf(m?.mbPerSec, loopbackMBps)}`,
      });
    }
  }
  for (const c of fetchCases) {
    const mf = mock.fetch.get(`${c.key}/mock`);
    for (const pathName of ['zerocopy', 'copy'] as const) {
      const f = berth.fetch.get(`${c.key}/${pathName}`);
      const pathLabel = pathName === 'zerocopy' ? 'zero-copy' : 'copying';
      const label = `fetch ${c.label}, ${pathLabel} path`;
      if (!f) {
        out.push({ name: label, value: NaN, unit: 'MB/s', note: 'failed (see below)' });
        continue;
      }
      out.push({
        name: label,
        value: f.mbPerSec,
        unit: 'MB/s',
        reference: mf ? { name: MOCK, value: mf.mbPerSec } : undefined,
        note:
          `${formatNumber(f.msgsPerSec)} msgs/s; of loopback TCP: Berth ${ratioOf(f.mbPerSec, loopbackMBps)}, ` +
          `mock ${ratioOf(mf?.mbPerSec, loopbackMBps)}` +
          (mf ? ` (mock keeps ~5 MB per partition: read ${mf.rewinds + 1} times over, a seek each)` : ''),
      });
      out.push({
        name: `broker CPU per GiB fetched, ${c.label}, ${pathLabel} path`,
        value: f.cpuPerGiB,
        unit: 's/GiB',
        reference: mf ? { name: MOCK, value: mf.cpuPerGiB } : undefined,
        note: 'user+system CPU of the broker process while the consumer ran',
      });
    }
  }
  const bl = latencySummary(berth.latency);
  const ml = latencySummary(mock.latency);
  const latencyNote =
    `median of ${LATENCY_REPEATS} runs (taking turns with the mock) of ${LATENCY_RATE} msgs/s of 100 B for ` +
    `${LATENCY_SECONDS} s, acks=1, linger 0, fetch.wait.max.ms 100` +
    (ml
      ? `; mock cluster ${formatNumber(ml.p50Ms)}/${formatNumber(ml.p99Ms)} ms p50/p99 (it does not answer a waiting fetch on append: no latency reference)`
      : '');
  const rttRef = (v: number) => ({ name: 'loopback TCP round trip, 100 B', value: v });
  out.push({
    name: 'end-to-end latency p50 (produce to consume)',
    value: bl?.p50Ms ?? NaN,
    unit: 'ms',
    reference: rttRef(loopback.rttP50Ms),
    note: bl ? `${latencyNote}; ${berth.latency!.runs[0].counted} messages counted per run` : 'failed (see below)',
  });
  out.push({
    name: 'end-to-end latency p99 (produce to consume)',
    value: bl?.p99Ms ?? NaN,
    unit: 'ms',
    reference: rttRef(loopback.rttP99Ms),
    note: bl ? `${latencyNote}; Berth's runs p50/p99 ms: ${bl.runs}` : 'failed (see below)',
  });
  out.push({
    name: 'loopback TCP, 1 MiB writes (this machine)',
    value: loopbackMBps,
    unit: 'MB/s',
    note: 'median of 3',
  });
  for (const e of [...berth.errors.map((e) => `Berth: ${e}`), ...mock.errors.map((e) => `mock: ${e}`)]) {
    out.push({ name: 'error', value: NaN, unit: '', note: e.replaceAll('|', '/').replaceAll('\n', ' ') });
  }
  return out;
}

export async function run(): Promise<BenchRow[]> {
  const compiled = compileLoadTools();
  if (!compiled.ok) {
    return [{ name: 'broker produce/fetch', value: NaN, unit: '', note: `not available: ${compiled.reason}` }];
  }
  try {
    const loopback = await measureLoopback(compiled.bin);
    const { berth, mock } = await measureAll(compiled.bin);
    return rows(berth, mock, loopback);
  } finally {
    fs.rmSync(compiled.dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(renderTable('broker-produce-fetch', await run()));
}
