/**
 * Broker at scale (issue 8): memory and start-up with many partitions and a large data directory.
 * (a) resident size of the broker with 1,000 partitions and 100 connections doing light produce and fetch (target
 *     under 300 MB);
 * (b) a clean restart with 1,000 partitions and BERTH_BENCH_SCALE_GB (default 10) GB of data: time from spawning the
 *     process until the port answers Metadata (target under 2 s), and the bytes the process read meanwhile;
 * (c) after SIGKILL, the same with a short unflushed tail on every partition: recovery should read only the tails
 *     after the recovery points. The reference is the same unclean start with the recovery-point checkpoint removed,
 *     which makes recovery scan every segment from its start.
 * The broker runs as a child process (`dist/cli/berth.js start`), so that its resident size and the bytes it read
 * (`rchar` of /proc/<pid>/io, page cache included) are its own. The data is written through the broker in 1 MB
 * batches (about 1,000 records of 1,000 bytes), several requests in flight, and removed at the end.
 * Run directly: `node dist/bench/broker-scale.js`; BERTH_BENCH_SCALE_GB and BERTH_BENCH_SCALE_PARTITIONS scale it;
 * BERTH_BENCH_SCALE_CPU_PROF=<dir> writes a `--cpu-prof` profile of each clean restart there.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { KafkaClient } from '../cli/kafka-client.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { CreateTopics } from '../protocol/generated/create-topics.js';
import { Fetch } from '../protocol/generated/fetch.js';
import { Metadata } from '../protocol/generated/metadata.js';
import { Produce } from '../protocol/generated/produce.js';
import { encodeRecordBatch } from '../protocol/records/encode-batch.js';
import { RECOVERY_POINT_CHECKPOINT_FILE } from '../storage/file-names.js';
import { type BenchRow, renderTable } from './bench-row.js';
import { cpuSeconds } from './broker-load-tools.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const berthCli = path.resolve(here, '../cli/berth.js');

const GB = 1e9;
const DATA_GB = Number(process.env.BERTH_BENCH_SCALE_GB ?? 10);
const PARTITIONS = Number(process.env.BERTH_BENCH_SCALE_PARTITIONS ?? 1000);
const TOPICS = Math.max(1, Math.min(10, Math.floor(PARTITIONS / 100)));
const PER_TOPIC = Math.ceil(PARTITIONS / TOPICS);
const CONNECTIONS = 100;
const LIGHT_LOAD_S = 15;
const RESTARTS = 3;
/** Unflushed bytes appended to every partition before the SIGKILL. */
const TAIL_BYTES = 64 * 1024;
const MEMORY_TARGET_MB = 300;
const START_TARGET_MS = 2000;
/** A directory for `--cpu-prof` profiles of the clean restarts (BERTH_BENCH_SCALE_CPU_PROF), or none. */
const PROFILE_DIR = process.env.BERTH_BENCH_SCALE_CPU_PROF;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const topicName = (t: number) => `scale-${t}`;
const partitionsOf = () =>
  Array.from({ length: TOPICS * PER_TOPIC }, (_, i) => ({
    topic: topicName(Math.floor(i / PER_TOPIC)),
    p: i % PER_TOPIC,
  }));

function batchOf(records: number, valueBytes: number): Buffer {
  const value = Buffer.alloc(valueBytes, 0x61);
  return encodeRecordBatch({ records: Array.from({ length: records }, () => ({ value })) });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function procIo(pid: number): { rchar: number; readBytes: number } {
  const io = fs.readFileSync(`/proc/${pid}/io`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(io)?.[1] ?? NaN);
  return { rchar: field('rchar'), readBytes: field('read_bytes') };
}

function rssMB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
}

interface Started {
  child: ChildProcess;
  pid: number;
  port: number;
  /** Spawn to the first answered Metadata request. */
  readyMs: number;
  /** Bytes the process had read (rchar) when it first answered. */
  rcharAtReady: number;
  /** CPU seconds (user + system) the process had used when it first answered: less noisy than wall time here. */
  cpuAtReady: number;
  exited: Promise<void>;
}

/** Spawns the broker and polls its port until a Metadata request is answered. */
async function startChild(dataDir: string, port: number, profile = false): Promise<Started> {
  const node = profile && PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : [];
  const args = [...node, berthCli, 'start', '--data-dir', dataDir, '--port', String(port), '--host', '127.0.0.1'];
  args.push('--admin-port', '-1', '--log-level', 'warn');
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (;;) {
    if (child.exitCode !== null) throw new Error(`broker exited (${child.exitCode}): ${stderr}`);
    if (performance.now() - t0 > 600_000) throw new Error('broker not ready in 10 minutes');
    try {
      const c = await KafkaClient.connect({ host: '127.0.0.1', port, requestTimeoutMs: 600_000 });
      await c.request(Metadata, { topics: null, allowAutoTopicCreation: false });
      const readyMs = performance.now() - t0;
      const rcharAtReady = procIo(child.pid!).rchar;
      const cpuAtReady = cpuSeconds(child.pid!);
      c.close();
      return { child, pid: child.pid!, port, readyMs, rcharAtReady, cpuAtReady, exited };
    } catch {
      await sleep(5);
    }
  }
}

async function stopChild(s: Started, signal: 'SIGTERM' | 'SIGKILL'): Promise<number> {
  const t0 = performance.now();
  s.child.kill(signal);
  await s.exited;
  return performance.now() - t0;
}

async function createTopics(client: KafkaClient): Promise<void> {
  const res = await client.request(CreateTopics, {
    topics: Array.from({ length: TOPICS }, (_, t) => ({
      name: topicName(t),
      numPartitions: PER_TOPIC,
      replicationFactor: 1,
      assignments: [],
      configs: [],
    })),
    timeoutMs: 600_000,
    validateOnly: false,
  });
  for (const t of res.topics) {
    if (t.errorCode !== ErrorCode.NONE) throw new Error(`creating ${t.name}: error ${t.errorCode}`);
  }
}

/**
 * Appends `bytesPerPartition` to every partition in batches of `batch`, `perRequest` partitions a request,
 * `inFlight` requests at a time over a few connections. Returns MB/s.
 */
async function fill(port: number, batch: Buffer, bytesPerPartition: number, perRequest: number, inFlight: number) {
  const parts = partitionsOf();
  const rounds = Math.max(1, Math.round(bytesPerPartition / batch.length));
  const jobs: Array<Array<{ topic: string; p: number }>> = [];
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < parts.length; i += perRequest) jobs.push(parts.slice(i, i + perRequest));
  }
  const clients = await Promise.all(
    Array.from({ length: Math.min(4, inFlight) }, () =>
      KafkaClient.connect({ host: '127.0.0.1', port, requestTimeoutMs: 120_000 }),
    ),
  );
  const t0 = performance.now();
  let next = 0;
  const worker = async (w: number) => {
    const client = clients[w % clients.length];
    while (next < jobs.length) {
      const job = jobs[next++];
      const byTopic = new Map<string, number[]>();
      for (const { topic, p } of job) byTopic.set(topic, [...(byTopic.get(topic) ?? []), p]);
      const res = await client.send(Produce, 9, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 60_000,
        topicData: [...byTopic].map(([name, ps]) => ({
          name,
          partitionData: ps.map((index) => ({ index, records: batch })),
        })),
      });
      for (const t of res.responses) {
        for (const p of t.partitionResponses) {
          if (p.errorCode !== ErrorCode.NONE) throw new Error(`produce ${t.name}-${p.index}: error ${p.errorCode}`);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, (_, w) => worker(w)));
  const seconds = (performance.now() - t0) / 1000;
  for (const c of clients) c.close();
  return (jobs.length * perRequest * batch.length) / 1e6 / seconds;
}

/** CONNECTIONS clients, each producing a small batch to and fetching from a few partitions of its own in a loop. */
async function lightLoad(s: Started, seconds: number): Promise<{ maxMB: number; lastMB: number; requests: number }> {
  const parts = partitionsOf();
  const small = batchOf(1, 100);
  const clients: KafkaClient[] = [];
  for (let i = 0; i < CONNECTIONS; i++) clients.push(await KafkaClient.connect({ host: '127.0.0.1', port: s.port }));
  let running = true;
  let requests = 0;
  const loop = async (i: number) => {
    const c = clients[i];
    for (let n = 0; running; n++) {
      const { topic, p } = parts[(i + n * CONNECTIONS) % parts.length];
      await c.send(Produce, 9, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 10_000,
        topicData: [{ name: topic, partitionData: [{ index: p, records: small }] }],
      });
      await c.send(Fetch, 11, {
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 64 * 1024,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic, partitions: [{ partition: p, fetchOffset: 0n, partitionMaxBytes: 16 * 1024 }] }],
        forgottenTopicsData: [],
        rackId: '',
      });
      requests += 2;
      await sleep(100);
    }
  };
  const loops = clients.map((_, i) => loop(i));
  let maxMB = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    await sleep(500);
    maxMB = Math.max(maxMB, rssMB(s.pid));
  }
  const lastMB = rssMB(s.pid);
  running = false;
  await Promise.all(loops);
  for (const c of clients) c.close();
  return { maxMB: Math.max(maxMB, lastMB), lastMB, requests };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-scale-'));
  const port = await freePort();
  let current: Started | null = null;
  const partitions = TOPICS * PER_TOPIC;
  try {
    // Topics, then the data, then a clean stop.
    current = await startChild(dataDir, port);
    const setup = await KafkaClient.connect({ host: '127.0.0.1', port, requestTimeoutMs: 600_000 });
    await createTopics(setup);
    setup.close();
    const idleEmptyMB = rssMB(current.pid);
    const big = batchOf(1000, 1000);
    const perPartition = (DATA_GB * GB) / partitions;
    const fillMBps = await fill(port, big, perPartition, 8, 6);
    const cleanStopMs = await stopChild(current, 'SIGTERM');
    current = null;
    const onDisk = dirBytes(dataDir);

    // (b) clean restarts.
    const ready: number[] = [];
    const read: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < RESTARTS; i++) {
      current = await startChild(dataDir, port, true);
      ready.push(current.readyMs);
      read.push(current.rcharAtReady);
      cpu.push(current.cpuAtReady);
      if (i < RESTARTS - 1) {
        await stopChild(current, 'SIGTERM');
        current = null;
      }
    }
    const s = current!;
    // A broker's own start-up reads (its JavaScript, metadata) without any partition: the floor for rchar.
    const emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-scale-empty-'));
    const emptyPort = await freePort();
    const empty = await startChild(emptyDir, emptyPort);
    const emptyRead = empty.rcharAtReady;
    const emptyReady = empty.readyMs;
    const emptyCpu = empty.cpuAtReady;
    await stopChild(empty, 'SIGTERM');
    fs.rmSync(emptyDir, { recursive: true, force: true });

    // (a) memory: idle after start, then 100 connections of light produce/fetch.
    const idleMB = rssMB(s.pid);
    const load = await lightLoad(s, LIGHT_LOAD_S);

    // (c) an unflushed tail on every partition, then SIGKILL; recovery with the checkpoints as they are.
    await fill(port, batchOf(64, 1000), TAIL_BYTES, 50, 4);
    await stopChild(s, 'SIGKILL');
    current = await startChild(dataDir, port);
    const tailReady = current.readyMs;
    const tailRead = current.rcharAtReady;
    const tailCpu = current.cpuAtReady;
    await fill(port, batchOf(64, 1000), TAIL_BYTES, 50, 4);
    await stopChild(current, 'SIGKILL');
    current = null;
    // Reference: no recovery points, so every segment is scanned from its start.
    fs.rmSync(path.join(dataDir, RECOVERY_POINT_CHECKPOINT_FILE), { force: true });
    current = await startChild(dataDir, port);
    const fullReady = current.readyMs;
    const fullRead = current.rcharAtReady;
    const fullCpu = current.cpuAtReady;
    await stopChild(current, 'SIGTERM');
    current = null;

    const dataNote = `${partitions} partitions (${TOPICS} topics), ${(onDisk / GB).toFixed(2)} GB on disk`;
    rows.push({
      name: `resident size, ${partitions} partitions, ${CONNECTIONS} connections of light produce/fetch`,
      value: load.maxMB,
      unit: 'MB',
      reference: { name: 'target', value: MEMORY_TARGET_MB },
      note:
        `max over ${LIGHT_LOAD_S} s (last ${load.lastMB.toFixed(0)} MB; ${load.requests} requests); ` +
        `idle after restart ${idleMB.toFixed(0)} MB; ${dataNote}`,
    });
    rows.push({
      name: `resident size, ${partitions} empty partitions, idle`,
      value: idleEmptyMB,
      unit: 'MB',
      reference: { name: 'target', value: MEMORY_TARGET_MB },
      note: 'just after creating the topics',
    });
    rows.push({
      name: `clean restart to Metadata answered, ${dataNote}`,
      value: median(ready),
      unit: 'ms',
      reference: { name: 'target', value: START_TARGET_MS },
      note:
        `median of ${RESTARTS} (${ready.map((r) => r.toFixed(0)).join(', ')} ms); an empty broker: ` +
        `${emptyReady.toFixed(0)} ms; clean stop took ${cleanStopMs.toFixed(0)} ms`,
    });
    rows.push({
      name: 'clean restart: broker CPU until ready',
      value: median(cpu),
      unit: 's',
      reference: { name: 'an empty broker', value: emptyCpu },
      note: `user + system, median of ${RESTARTS} (${cpu.map((c) => c.toFixed(2)).join(', ')} s)`,
    });
    rows.push({
      name: 'clean restart: bytes read by the broker until ready',
      value: (median(read) - emptyRead) / 1e6,
      unit: 'MB',
      note: `rchar less an empty broker's start-up (${(emptyRead / 1e6).toFixed(1)} MB)`,
    });
    rows.push({
      name: `restart after SIGKILL (a ${TAIL_BYTES / 1024} KiB unflushed tail per partition) to ready`,
      value: tailReady,
      unit: 'ms',
      reference: { name: 'no recovery points (full scan)', value: fullReady },
      note: `broker CPU until ready ${tailCpu.toFixed(2)} s (full scan ${fullCpu.toFixed(2)} s)`,
    });
    rows.push({
      name: 'restart after SIGKILL: bytes read until ready',
      value: (tailRead - emptyRead) / 1e6,
      unit: 'MB',
      reference: { name: 'no recovery points (full scan)', value: (fullRead - emptyRead) / 1e6 },
      note: `tails written: ${((TAIL_BYTES * partitions) / 1e6).toFixed(0)} MB; rchar less an empty broker's start-up`,
    });
    rows.push({
      name: 'data written through the broker (1 MB batches, acks=1)',
      value: fillMBps,
      unit: 'MB/s',
      note: 'set-up speed, not a target',
    });
  } finally {
    if (current) await stopChild(current, 'SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return rows;
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) n += dirBytes(full);
    else if (e.isFile()) n += fs.statSync(full).size;
  }
  return n;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(renderTable('broker-scale', await run()));
}
