/**
 * Produce against this machine's own limits (issue 8): Berth taking 1 MB record batches (1,000 records of 1 KiB)
 * from a minimal C client (bench/c/produce-blast.c: one connection, one ready-made Produce request sent over and
 * over with up to INFLIGHT outstanding, so the client costs close to nothing), beside, in the same run, the
 * machine's single-stream loopback TCP bandwidth (bench/c/loopback.c) and its buffered sequential write bandwidth
 * (1 MiB fs.writeSync calls to a fresh file), and for acks=-1 its write + fdatasync every 1 MiB bandwidth.
 * Targets: acks=1 at >= 1 GB/s and >= 0.8x the lower of the two limits; acks=-1 at >= 0.7x write + fdatasync.
 * librdkafka's own producer tops out below that on this machine (bench/broker-produce-fetch.ts: its mock cluster
 * takes 811 MB/s), which is why this benchmark has its own client.
 * Latency (issue 8: acks=-1 p99 under 3 ms at half the write + fdatasync every 1 MiB bandwidth): the same client in
 * its paced mode sends acks=-1 Produce requests open loop (each at its scheduled time, pipelined, however many are
 * outstanding) at half the write + fdatasync bandwidth measured in the same run, with 1 MB batches and with 16 KB
 * batches (16 x 1 KiB records), and reports each request's latency from its scheduled send time (open loop), from
 * the start of its send, and the sender's lateness; beside the machine's own latency at the same load: group commit
 * in C (bench/c/group-commit.c, a writer thread and an fdatasync thread) writing the same bytes at the same pace
 * right before each Berth run, into a file preallocated as Berth's logs are (the p99 of one 1 MiB write + fdatasync
 * back to back is in the note).
 * Small requests: 16 KB batches with 64 requests in flight, acks=1 and acks=-1, say what per-request work costs
 * (no target; the acks=-1 figure also sets the small paced runs' pace).
 * Same page-cache state: every throughput run (reference or Berth) starts right after an untimed write and unlink
 * of as many bytes as it will write (freshPages), and Berth's topic is deleted after each of its runs, as the
 * references unlink their files. On this VM, writing into the page cache costs 3-10x more in memory freed a few
 * seconds ago than in memory freed just before (bench/page-cache-state.ts). The paced runs instead start 3 s after
 * the last free (settleFreedMemory): started right after one, every 1 MB paced run had one 80-150 ms stall about
 * 2 s in (RESULTS.md, session 6).
 * Knobs: BERTH_BENCH_PRODUCE_MB (per run, default 1024), BERTH_BENCH_PRODUCE_INFLIGHT (default 5, the Java client's
 * max.in.flight.requests.per.connection), BERTH_BENCH_PRODUCE_PACED_SECONDS (per paced run, default 2),
 * BERTH_BENCH_PRODUCE_ONLY=paced (the paced rows and the fdatasync limit only), BERTH_BENCH_PACED_DUMP=FILE (every
 * paced request's latency and send time, appended to FILE by produce-blast, to see when the slow ones happened).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { encodeRequestFrame } from '../protocol/frames.js';
import { encodeRecordBatch } from '../protocol/records/encode-batch.js';
import { ext4DiscardMount } from '../storage/mount-info.js';
import { type BenchRow, median, renderTable } from './bench-row.js';
import {
  compileTool,
  cpuSeconds,
  type GcStats,
  gcNote,
  runTool,
  type SystemUnderTest,
  startBerth,
  withGc,
} from './broker-load-tools.js';
import { compileGroupCommit, type GroupCommitRun, groupCommitRun } from './group-commit-reference.js';
import { writeAndUnlink } from './page-cache-state.js';

const MB = Number(process.env.BERTH_BENCH_PRODUCE_MB ?? 1024);
const INFLIGHT = Number(process.env.BERTH_BENCH_PRODUCE_INFLIGHT ?? 5);
const REPEATS = 3;
const RECORDS_PER_BATCH = 1000; // 1000 x 1 KiB: under Kafka's default message.max.bytes (1048588)
const MiB = 2 ** 20;
const GiB = 2 ** 30;
const PRODUCE_VERSION = 7;
const PACED_SECONDS = Number(process.env.BERTH_BENCH_PRODUCE_PACED_SECONDS ?? 2);
const ONLY_PACED = process.env.BERTH_BENCH_PRODUCE_ONLY === 'paced';
/** Records of 1 KiB per batch in the paced runs: 1 MB and 16 KB batches. */
const PACED_BATCHES = [RECORDS_PER_BATCH, 16];
/** Requests outstanding when measuring what Berth takes of small batches at saturation. */
const SMALL_INFLIGHT = 64;
/** Records of 1 KiB in a small batch (16 KB requests): the paced runs' small size. */
const SMALL_RECORDS = PACED_BATCHES[1];
/** Page-cache memory made ready beyond a run's own bytes (Berth's indexes and metadata). */
const PAGE_MARGIN = 64 * MiB;
/** Pause before a latency run (settleFreedMemory). */
const SETTLE_MS = Number(process.env.BERTH_BENCH_SETTLE_MS ?? 3000);

/** A Produce v7 request frame carrying one batch of `count` records of 1 KiB for partition 0 of topic. */
export function produceFrame(topic: string, acks: 1 | -1, count = RECORDS_PER_BATCH): Buffer {
  const value = Buffer.alloc(1024, 0x61);
  const records = Array.from({ length: count }, () => ({ value }));
  return encodeRequestFrame(
    { apiKey: 0, apiVersion: PRODUCE_VERSION, correlationId: 1, clientId: 'produce-blast' },
    {
      transactionalId: null,
      acks,
      timeoutMs: 30_000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records: encodeRecordBatch({ records }) }] }],
    },
  );
}

/**
 * Writes `bytes` to a scratch file and unlinks it, untimed, just before a measured run: the run then writes into
 * page-cache memory freed a moment ago. On this VM, memory freed a few seconds ago is written at 0.7-2 GB/s instead
 * of 6-7 GB/s (bench/page-cache-state.ts); without this, a run's figure depended on how long ago the run before it
 * had freed its pages, which differed between Berth and the references.
 */
function freshPages(dir: string, bytes: number): void {
  // First, the writeback and discards left by the files deleted before this (the disk is mounted with `discard`):
  // a run must not find its fdatasyncs queued behind them.
  spawnSync('sync', ['-f', dir]);
  writeAndUnlink(dir, bytes);
}

/**
 * Before a latency run: pending writeback and discards done, then a 3 s pause after the last free. Started right
 * after freeing a gigabyte, every 1 MB paced run had one 80-150 ms stall about 2 s in, when that memory goes cold
 * (RESULTS.md, session 6); 3 s later, none. The run then writes into memory the VM has to supply, as a broker's
 * growing page cache does.
 */
async function settleFreedMemory(dir: string): Promise<void> {
  spawnSync('sync', ['-f', dir]);
  await new Promise((r) => setTimeout(r, SETTLE_MS));
}

/**
 * MB/s of 1 MiB sequential writes of `volume` bytes to a fresh file, fdatasynced after each when `synced`, and the
 * p99 of one write (+ fdatasync) in milliseconds.
 */
function writeLimitRun(dir: string, volume: number, synced: boolean): { mbps: number; p99: number } {
  const f = path.join(dir, 'limit');
  const chunk = Buffer.alloc(MiB, 0x62);
  freshPages(dir, volume + PAGE_MARGIN);
  const fd = fs.openSync(f, 'w');
  const each: number[] = [];
  try {
    const t0 = process.hrtime.bigint();
    for (let done = 0; done < volume; done += MiB) {
      const w0 = process.hrtime.bigint();
      fs.writeSync(fd, chunk, 0, MiB, done);
      if (synced) fs.fdatasyncSync(fd);
      each.push(Number(process.hrtime.bigint() - w0) / 1e6);
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    each.sort((a, b) => a - b);
    return { mbps: volume / seconds / 1e6, p99: each[Math.min(each.length - 1, Math.floor(each.length * 0.99))]! };
  } finally {
    fs.fdatasyncSync(fd); // untimed: no dirty pages left for the next run
    fs.closeSync(fd);
    fs.unlinkSync(f);
  }
}

function writeLimit(dir: string, volume: number, synced: boolean): number {
  return writeLimitRun(dir, volume, synced).mbps;
}

interface Run {
  mbps: number;
  brokerCpuPerGiB: number;
  frameBytes: number;
}

/** One paced acks=-1 run's figures from produce-blast (milliseconds). */
interface PacedRun {
  fromScheduledP50: number;
  fromScheduledP99: number;
  fromSendP50: number;
  fromSendP99: number;
  latenessP50: number;
  latenessP99: number;
  frameBytes: number;
  pace: number;
  /** The broker's garbage collections during the run (null when its metrics could not be read). */
  gc: GcStats | null;
  /** Group commit in C at the same pace and size, right before (null without a C compiler). */
  inC: GroupCommitRun | null;
}

/** The machine's own acks=-1 latency at a pace (bench/c/group-commit.c), or why it cannot be measured. */
type GroupCommitTool = { bin: string } | { reason: string };

/** acks=-1 Produce requests of `records` x 1 KiB at `mbps` (request bytes), open loop, for PACED_SECONDS. */
async function paced(
  tool: string,
  groupCommit: GroupCommitTool,
  sut: SystemUnderTest,
  dir: string,
  dataDir: string,
  topic: string,
  records: number,
  mbps: number,
): Promise<PacedRun> {
  await sut.createTopic(topic);
  const frame = produceFrame(topic, -1, records);
  const file = path.join(dir, `${topic}.frame`);
  fs.writeFileSync(file, frame);
  const rate = (mbps * 1e6) / frame.length;
  const count = Math.max(50, Math.round(rate * PACED_SECONDS));
  const [host, port] = sut.bootstrap.split(':');
  let inC: GroupCommitRun | null = null;
  if ('bin' in groupCommit) {
    // The C writer's file is preallocated as Berth's logs are by default here (not at all on ext4 with discard).
    const prealloc = ext4DiscardMount(dataDir) === null ? 'chunks' : 'none';
    await settleFreedMemory(dir);
    inC = await groupCommitRun(groupCommit.bin, dir, frame.length, (mbps * 1e6) / MiB, PACED_SECONDS, prealloc);
  }
  await settleFreedMemory(dir);
  const { result: r, gc } = await withGc(sut, () =>
    runTool(tool, [host!, port!, file, count, INFLIGHT, rate.toFixed(3)], () => sut.died()),
  );
  spawnSync('sync', ['-f', dataDir]);
  await sut.deleteTopic?.(topic);
  if (r.errors !== 0 || r.responses !== count) {
    throw new Error(`produce-blast paced: ${r.responses} responses, ${r.errors} errors (first error ${r.firstError})`);
  }
  return { ...(r as unknown as PacedRun), frameBytes: frame.length, pace: mbps, gc, inC };
}

function pacedRows(
  records: number,
  runs: PacedRun[],
  syncedP99: number,
  halfSynced: number,
  saturated: number,
): BenchRow[] {
  const m = (k: Exclude<keyof PacedRun, 'gc' | 'inC'>) => median(runs.map((r) => r[k]));
  const inC = runs.flatMap((r) => (r.inC ? [r.inC] : []));
  // The machine's own latency at this load when it could be measured, else its latency one write at a time.
  const reference =
    inC.length > 0
      ? {
          name: 'group commit in C, same bytes at the same pace, p99 from pwrite',
          value: median(inC.map((c) => c.callP99)),
        }
      : { name: 'one 1 MiB write + fdatasync, back to back, p99', value: syncedP99 };
  const inCNote =
    inC.length > 0
      ? `; group commit in C: p50 ${median(inC.map((c) => c.callP50)).toFixed(2)} ms, runs' p99 ` +
        `${inC.map((c) => c.callP99.toFixed(1)).join(' / ')} ms`
      : '';
  const pace = m('pace');
  const rate = (pace * 1e6) / runs[0]!.frameBytes;
  const size = records === RECORDS_PER_BATCH ? '1 MB' : `${records} KB`;
  const common =
    `paced at ${pace.toFixed(pace < 10 ? 1 : 0)} MB/s (` +
    (pace < halfSynced
      ? `half of Berth's ${saturated.toFixed(0)} MB/s at saturation with ${SMALL_INFLIGHT} requests in flight, ` +
        `below half the write + fdatasync every 1 MiB limit, ${halfSynced.toFixed(0)} MB/s`
      : 'half the write + fdatasync every 1 MiB limit of this run') +
    '), ' +
    `${rate.toFixed(rate < 100 ? 1 : 0)} requests/s of ` +
    `${runs[0]!.frameBytes} bytes, open loop, pipelined; median of ${runs.length} runs of ${PACED_SECONDS} s; target p99 < 3 ms`;
  return [
    {
      name: `produce ${size} batches, acks=-1, paced, p99 from send`,
      value: m('fromSendP99'),
      unit: 'ms',
      reference,
      note:
        `p50 ${m('fromSendP50').toFixed(2)} ms; runs' p99 ${runs.map((r) => r.fromSendP99.toFixed(1)).join(' / ')} ms; ` +
        `${common}${inCNote}; one 1 MiB write + fdatasync back to back: p99 ${syncedP99.toFixed(2)} ms` +
        gcNote(runs.map((r) => r.gc)),
    },
    {
      name: `produce ${size} batches, acks=-1, paced, p99 from scheduled send`,
      value: m('fromScheduledP99'),
      unit: 'ms',
      reference: {
        ...reference,
        name: reference.name.replace('from pwrite', 'from the scheduled time'),
        value: inC.length > 0 ? median(inC.map((c) => c.scheduledP99)) : reference.value,
      },
      note:
        `open loop: p50 ${m('fromScheduledP50').toFixed(2)} ms; sender lateness p50 / p99 ` +
        `${m('latenessP50').toFixed(2)} / ${m('latenessP99').toFixed(2)} ms (clock_nanosleep)`,
    },
  ];
}

async function blast(
  tool: string,
  sut: SystemUnderTest,
  dir: string,
  dataDir: string,
  topic: string,
  acks: 1 | -1,
  records = RECORDS_PER_BATCH,
  inflight = INFLIGHT,
  volume = MB * MiB,
): Promise<Run> {
  await sut.createTopic(topic);
  const frame = produceFrame(topic, acks, records);
  const file = path.join(dir, `${topic}.frame`);
  fs.writeFileSync(file, frame);
  const count = Math.max(16, Math.round(volume / frame.length));
  const [host, port] = sut.bootstrap.split(':');
  freshPages(dir, frame.length * count + PAGE_MARGIN);
  const cpu0 = cpuSeconds(sut.pid);
  const r = await runTool(tool, [host!, port!, file, count, inflight], () => sut.died());
  const cpu = cpuSeconds(sut.pid) - cpu0;
  // Untimed, as the references' own fdatasync after each run: no dirty pages of this run slow down the next one.
  spawnSync('sync', ['-f', dataDir]);
  // The references unlink their files after each run; Berth's data goes the same way, so every run (reference or
  // Berth) writes into page-cache memory freed by the run before it, not into memory the VM has to supply afresh.
  await sut.deleteTopic?.(topic);
  if (r.errors !== 0 || r.responses !== count) {
    throw new Error(`produce-blast: ${r.responses} responses, ${r.errors} errors (first error code ${r.firstError})`);
  }
  return { mbps: r.mbps!, brokerCpuPerGiB: cpu / ((frame.length * count) / GiB), frameBytes: frame.length };
}

export async function run(): Promise<BenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-produce-limit-'));
  let sut: SystemUnderTest | undefined;
  try {
    const tool = compileTool(dir, 'produce-blast');
    const groupCommit = compileGroupCommit(dir);
    const loopbackTool = compileTool(dir, 'loopback');
    const volume = MB * MiB;
    const loopback: number[] = [];
    const buffered: number[] = [];
    const synced: number[] = [];
    const acks1: Run[] = [];
    const acksAll: Run[] = [];
    const small1: Run[] = [];
    const smallAll: Run[] = [];
    const dataDir = path.join(dir, 'data');
    sut = await startBerth(dataDir, 'zerocopy');
    const syncedP99: number[] = [];
    const pacedRuns = new Map<number, PacedRun[]>(PACED_BATCHES.map((n) => [n, []]));
    const saturated = new Map<number, number[]>(PACED_BATCHES.map((n) => [n, []]));
    // Limits and Berth take turns, so load from elsewhere falls on both alike.
    for (let i = 0; i < REPEATS; i++) {
      if (!ONLY_PACED) {
        loopback.push((await runTool(loopbackTool, [Math.round(MB / 2)])).mbPerSec!);
        buffered.push(writeLimit(dir, volume, false));
        acks1.push(await blast(tool, sut, dir, dataDir, `produce-limit-acks1-${i}`, 1));
        const topic = `produce-limit-small-acks1-${i}`;
        small1.push(await blast(tool, sut, dir, dataDir, topic, 1, SMALL_RECORDS, SMALL_INFLIGHT, volume / 4));
      }
      const s = writeLimitRun(dir, volume / 4, true);
      synced.push(s.mbps);
      syncedP99.push(s.p99);
      if (!ONLY_PACED) acksAll.push(await blast(tool, sut, dir, dataDir, `produce-limit-acksall-${i}`, -1));
      for (const records of PACED_BATCHES) {
        // Small batches: half of what Berth takes of them at saturation (SMALL_INFLIGHT requests outstanding) when
        // that is below the disk's figure, since pacing above capacity would measure a queue, not latency.
        let pace = median(synced) / 2;
        if (records !== RECORDS_PER_BATCH) {
          const topic = `produce-limit-saturated-${records}-${i}`;
          const sat = await blast(tool, sut, dir, dataDir, topic, -1, records, SMALL_INFLIGHT, (MB * MiB) / 16);
          saturated.get(records)!.push(sat.mbps);
          if (records === SMALL_RECORDS) smallAll.push(sat);
          pace = Math.min(pace, median(saturated.get(records)!) / 2);
        }
        const topic = `produce-limit-paced-${records}-${i}`;
        pacedRuns.get(records)!.push(await paced(tool, groupCommit, sut, dir, dataDir, topic, records, pace));
      }
    }
    const latencyRows = PACED_BATCHES.flatMap((n) =>
      pacedRows(n, pacedRuns.get(n)!, median(syncedP99), median(synced) / 2, median(saturated.get(n)!)),
    );
    if (ONLY_PACED) return latencyRows;
    const limit = Math.min(median(loopback), median(buffered));
    const limitName = median(loopback) < median(buffered) ? 'loopback TCP, one stream' : 'buffered sequential write';
    const note = (runs: Run[]) =>
      `median of ${REPEATS} x ${MB} MiB; minimal C client, ${INFLIGHT} requests in flight, Produce v${PRODUCE_VERSION} ` +
      `of ${RECORDS_PER_BATCH} x 1 KiB records; broker CPU ${median(runs.map((r) => r.brokerCpuPerGiB)).toFixed(2)} s/GiB`;
    const smallNote = (runs: Run[], bytes: number) =>
      `no target (pipelined small requests: what per-request work costs); ` +
      `${Math.round((median(runs.map((r) => r.mbps)) * 1e6) / runs[0]!.frameBytes)} ` +
      `requests/s; median of ${runs.length} x ${Math.round(bytes / MiB)} MiB; minimal C client, Produce ` +
      `v${PRODUCE_VERSION} of ${SMALL_RECORDS} x 1 KiB records; broker CPU ` +
      `${median(runs.map((r) => r.brokerCpuPerGiB)).toFixed(2)} s/GiB`;
    return [
      {
        name: 'produce 1 MB batches, acks=1',
        value: median(acks1.map((r) => r.mbps)),
        unit: 'MB/s',
        reference: { name: `${limitName} (the lower limit)`, value: limit },
        note:
          `target >= 1000 MB/s and >= 0.8x; loopback ${median(loopback).toFixed(0)} MB/s, buffered write ` +
          `${median(buffered).toFixed(0)} MB/s; ${note(acks1)}`,
      },
      {
        name: 'produce 1 MB batches, acks=-1',
        value: median(acksAll.map((r) => r.mbps)),
        unit: 'MB/s',
        reference: { name: 'write + fdatasync every 1 MiB', value: median(synced) },
        note: `target >= 0.7x; ${note(acksAll)}`,
      },
      {
        name: 'produce 16 KB batches, acks=1, 64 in flight',
        value: median(small1.map((r) => r.mbps)),
        unit: 'MB/s',
        reference: { name: 'loopback TCP, one stream', value: median(loopback) },
        note: smallNote(small1, volume / 4),
      },
      {
        name: 'produce 16 KB batches, acks=-1, 64 in flight',
        value: median(smallAll.map((r) => r.mbps)),
        unit: 'MB/s',
        reference: { name: 'write + fdatasync every 1 MiB', value: median(synced) },
        note: smallNote(smallAll, volume / 16),
      },
      ...latencyRows,
    ];
  } finally {
    await sut?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(renderTable('broker-produce-limit', await run()));
}
