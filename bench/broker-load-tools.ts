/**
 * Plumbing for the broker benchmark: compiles the C load generators in `bench/c/` against librdkafka into a temp
 * dir, runs them (each prints one JSON line), starts the systems under test as child processes (Berth through its
 * CLI, librdkafka's mock cluster) so their CPU time can be read from /proc apart from the clients'.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { deleteTopics } from '../cli/admin-ops.js';
import { KafkaClient } from '../cli/kafka-client.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { CreateTopics } from '../protocol/generated/create-topics.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** `bench/c` in the source tree (this file runs from `dist/bench/`). */
const cSourceDir = path.resolve(here, '../../bench/c');
const berthCli = path.resolve(here, '../cli/berth.js');

export const LOAD_TOOLS = ['mock-cluster', 'produce-load', 'consume-load', 'latency', 'loopback'] as const;
export type LoadTool = (typeof LOAD_TOOLS)[number];

export type Compiled = { ok: true; dir: string; bin: (tool: LoadTool) => string } | { ok: false; reason: string };

/** Compiles one of bench/c's tools that needs no library beyond libc and pthreads into `dir`; returns its path. */
export function compileTool(dir: string, tool: string): string {
  const out = path.join(dir, tool);
  const r = spawnSync('cc', ['-O2', '-o', out, path.join(cSourceDir, `${tool}.c`), '-lpthread'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`compiling ${tool}.c: ${r.error?.message ?? r.stderr}`);
  return out;
}

/** Compiles every load generator; a missing cc or librdkafka-dev is a reason, not an error. */
export function compileLoadTools(): Compiled {
  if (!fs.existsSync(cSourceDir)) return { ok: false, reason: `no C sources at ${cSourceDir}` };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-broker-'));
  for (const tool of LOAD_TOOLS) {
    const r = spawnSync(
      'cc',
      ['-O2', '-o', path.join(dir, tool), path.join(cSourceDir, `${tool}.c`), '-lrdkafka', '-lpthread'],
      { encoding: 'utf8' },
    );
    if (r.error) return { ok: false, reason: `cc: ${r.error.message}` };
    if (r.status !== 0) {
      const first = (r.stderr ?? '').split('\n').find((l) => l.includes('error')) ?? r.stderr;
      return { ok: false, reason: `compiling ${tool}.c (is librdkafka-dev installed?): ${first.trim()}` };
    }
  }
  return { ok: true, dir, bin: (tool) => path.join(dir, tool) };
}

/**
 * Runs a load generator and returns the JSON object it printed last. `abortIf` is polled: when it returns a reason
 * (the system under test died), the generator is killed at once instead of retrying until its timeout.
 */
export function runTool(
  bin: string,
  args: Array<string | number>,
  abortIf: () => string | null = () => null,
  timeoutMs = 120_000,
): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      bin,
      args.map((a) => String(a)),
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    let aborted: string | null = null;
    const poll = setInterval(() => {
      aborted = abortIf();
      if (aborted) child.kill('SIGKILL');
    }, 250);
    child.on('error', (e) => {
      clearTimeout(timer);
      clearInterval(poll);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearInterval(poll);
      if (aborted) {
        reject(new Error(`${path.basename(bin)} stopped: the system under test died`));
        return;
      }
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as Record<string, number>);
      } catch {
        const why = signal ? `killed by ${signal}` : `exit ${code}`;
        reject(new Error(`${path.basename(bin)} ${args.join(' ')}: ${why}: ${err.trim().slice(-300)}`));
      }
    });
  });
}

let clockTicks = 0;

/** User + system CPU seconds of a process so far (all its threads), from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  if (clockTicks === 0) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    clockTicks = Number(r.stdout?.trim()) || 100;
  }
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

export interface SystemUnderTest {
  readonly name: string;
  readonly bootstrap: string;
  readonly pid: number;
  /**
   * Creates `topic` with one partition before a timed run, so that neither side pays for creating it inside the
   * run (the mock's topics are made through its API; Berth's with CreateTopics rather than auto-creation on the
   * producer's first Metadata request, which put a partition's directory, files and fsyncs into Berth's time).
   */
  createTopic(topic: string): Promise<void>;
  /**
   * Deletes `topic` and its files (Berth only), so that a run's data leaves the page cache as a reference's unlinked
   * file does (the next run can then be given memory freed a moment before it: bench/produce-limit.ts freshPages).
   * Resolves once the files are gone (Berth removes them in the background), unless `wait` is false.
   */
  deleteTopic?(topic: string, wait?: boolean): Promise<void>;
  /**
   * The broker's garbage collections so far, from its own /metrics (Berth only): a run's figures are the difference
   * of two readings. Null when the metrics cannot be read.
   */
  gcStats?(): Promise<GcStats | null>;
  /** Why the process ended on its own (exit code and the tail of its output), or null while it runs. */
  died(): string | null;
  stop(): Promise<void>;
}

/** Garbage collections by kind, as prom-client's nodejs_gc_duration_seconds counts them: how many, seconds in all. */
export interface GcStats {
  major: { count: number; seconds: number };
  minor: { count: number; seconds: number };
  incremental: { count: number; seconds: number };
}

/** Runs `run` and returns its result with the broker's collections meanwhile (null when they cannot be read). */
export async function withGc<T>(
  sut: SystemUnderTest,
  run: () => Promise<T>,
): Promise<{ result: T; gc: GcStats | null }> {
  const before = (await sut.gcStats?.()) ?? null;
  const result = await run();
  const after = before && ((await sut.gcStats?.()) ?? null);
  return { result, gc: before && after ? gcBetween(before, after) : null };
}

/** Collections between two readings of gcStats. */
export function gcBetween(before: GcStats, after: GcStats): GcStats {
  const d = (k: keyof GcStats) => ({
    count: after[k].count - before[k].count,
    seconds: after[k].seconds - before[k].seconds,
  });
  return { major: d('major'), minor: d('minor'), incremental: d('incremental') };
}

/**
 * For a row's note: what the broker's garbage collector did in each run, full collections (each stops the event
 * loop for its final pause) with their milliseconds, and scavenges. Before session 9's frame pool fix, V8 ran a full
 * collection every ~100 ms in some paced runs, and every request slower than the p99 overlapped one
 * (bench/results-broker.md, session 9).
 */
export function gcNote(runs: Array<GcStats | null>): string {
  const gcs = runs.filter((g): g is GcStats => g !== null);
  if (gcs.length === 0) return '';
  const full = gcs.map((g) => `${g.major.count}/${(g.major.seconds * 1000).toFixed(0)}`).join(', ');
  return `; broker GC per run, full collections / their ms: ${full}; scavenges ${gcs.map((g) => g.minor.count).join(', ')}`;
}

/** Parses the GC histogram's _count and _sum lines out of a /metrics body. */
export function parseGcStats(metrics: string): GcStats {
  const stats: GcStats = {
    major: { count: 0, seconds: 0 },
    minor: { count: 0, seconds: 0 },
    incremental: { count: 0, seconds: 0 },
  };
  const re = /^\w*nodejs_gc_duration_seconds_(count|sum)\{kind="(major|minor|incremental)"\} ([0-9.e+-]+)$/gm;
  for (const m of metrics.matchAll(re)) {
    const entry = stats[m[2] as keyof GcStats];
    if (m[1] === 'count') entry.count = Number(m[3]);
    else entry.seconds = Number(m[3]);
  }
  return stats;
}

function waitExit(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** librdkafka's in-memory mock cluster (one broker) in its own process. */
export async function startMockCluster(bin: string): Promise<SystemUnderTest> {
  const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const r = await lines.next();
    if (r.done) throw new Error('mock cluster exited');
    return r.value;
  };
  const bootstrap = await next();
  return {
    name: 'librdkafka mock cluster',
    bootstrap,
    pid: child.pid!,
    died: () =>
      child.exitCode !== null || child.signalCode !== null ? `exited (${child.exitCode ?? child.signalCode})` : null,
    async createTopic(topic) {
      child.stdin!.write(`${topic}\n`);
      const answer = await next();
      if (answer !== 'ok') throw new Error(`mock cluster: creating ${topic}: ${answer}`);
    },
    async stop() {
      child.stdin!.end();
      await waitExit(child, 5000);
    },
  };
}

/** Waits until no partition directory of dataDir is waiting for removal (`<topic>-<partition>.<uuid>-delete`). */
export async function untilRemoved(dataDir: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (fs.readdirSync(dataDir).some((n) => n.endsWith('-delete'))) {
    if (Date.now() > deadline) throw new Error(`berth: deleted partitions still on disk after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Berth through its CLI (`nodeArgs` go to node, e.g. --cpu-prof; `settings` are `name=value` pairs for --set), with
 * the given fetch send path; its port is read from the "broker listening" log line.
 */
export async function startBerth(
  dataDir: string,
  fetchPath: 'zerocopy' | 'copy',
  nodeArgs: string[] = [],
  settings: string[] = [],
): Promise<SystemUnderTest> {
  // The admin API (port 0: any free port) serves the broker's own /metrics, where gcStats reads its collections.
  const args = [...nodeArgs, berthCli, 'start', '--data-dir', dataDir, '--port', '0', '--admin-port', '0'];
  for (const s of [`fetch.path=${fetchPath}`, ...settings]) args.push('--set', s);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  // The last lines of stdout, for the report when the broker dies.
  const tail: string[] = [];
  let stopping = false;
  let adminPort: number | null = null;
  const port = await new Promise<number>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`berth did not start in 20 s: ${stderr.slice(-300)}`)), 20_000);
    rl.on('line', (line) => {
      tail.push(line.slice(0, 500));
      if (tail.length > 5) tail.shift();
      try {
        const rec = JSON.parse(line) as { msg?: string; port?: number };
        // Logged before the Kafka listener: the admin API comes up first.
        if (rec.msg === 'admin API listening' && typeof rec.port === 'number') adminPort = rec.port;
        if (rec.msg === 'broker listening' && typeof rec.port === 'number') {
          clearTimeout(timer);
          resolve(rec.port);
        }
      } catch {
        // not a JSON log line
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`berth exited (${code}) before listening: ${stderr.slice(-300)}`));
    });
  });
  // readline keeps draining stdout, so the broker never blocks on a full pipe.
  let admin: KafkaClient | null = null;
  return {
    name: `Berth (${fetchPath})`,
    bootstrap: `127.0.0.1:${port}`,
    pid: child.pid!,
    async createTopic(topic) {
      admin ??= await KafkaClient.connect({ host: '127.0.0.1', port, clientId: 'bench-admin' });
      const res = await admin.request(CreateTopics, {
        topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 10_000,
        validateOnly: false,
      });
      const code = res.topics[0]?.errorCode;
      if (code !== ErrorCode.NONE && code !== ErrorCode.TOPIC_ALREADY_EXISTS) {
        throw new Error(`berth: creating ${topic}: error code ${code}`);
      }
    },
    async deleteTopic(topic, wait = true) {
      admin ??= await KafkaClient.connect({ host: '127.0.0.1', port, clientId: 'bench-admin' });
      const [res] = await deleteTopics(admin, [topic]);
      if (res?.errorCode !== ErrorCode.NONE) throw new Error(`berth: deleting ${topic}: error code ${res?.errorCode}`);
      if (wait) await untilRemoved(dataDir);
    },
    async gcStats() {
      if (adminPort === null) return null;
      try {
        const res = await fetch(`http://127.0.0.1:${adminPort}/metrics`);
        return res.ok ? parseGcStats(await res.text()) : null;
      } catch {
        return null;
      }
    },
    died() {
      if (stopping || (child.exitCode === null && child.signalCode === null)) return null;
      return `broker exited (${child.exitCode ?? child.signalCode}): ${stderr.slice(-600)} ${tail.join(' ')}`;
    },
    async stop() {
      stopping = true;
      admin?.close();
      child.kill('SIGTERM');
      await waitExit(child, 10_000);
    },
  };
}
