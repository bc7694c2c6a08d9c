/**
 * Storage append benchmark: PartitionLog.append throughput for 1 KiB, 16 KiB and 1 MiB batches on every I/O engine
 * available, acks=1 and acks=-1 (8 concurrent appenders, so group commit matters), and acks=-1 append latency,
 * each beside this machine's own limit measured in the same run. Run directly to print a table:
 * `node dist/bench/storage-append.js`; `npm run bench -- storage` prints it with the others.
 *
 * Method (why the figures can be compared):
 * - Same volume: every repetition of a case is paired with a run of its reference that writes the same number of
 *   bytes: sequential 1 MiB fs.writeSync calls to a fresh file (acks=1), or 1 MiB writeSync + fdatasyncSync each
 *   (acks=-1).
 * - Same page-cache state: before every timed run, the previous run's files are fdatasynced (untimed) and unlinked,
 *   which drops their pages, so no run pays for another's writeback and every run starts with no dirty data of ours.
 *   The volumes stay far below this VM's dirty thresholds (see RESULTS.md), so both sides write into the page cache
 *   without throttling; the disk only enters through the fdatasyncs.
 * - Interleaved: reference and case alternate (which goes first alternates too), BERTH_BENCH_REPS times (default 5),
 *   so the VM's slow first-touch phases and the other load on the machine hit both alike. Reported: the median of
 *   the case, the median of its references, and the median of the per-pair ratios (the ratio column uses the two
 *   medians; the note gives the paired median). CPU seconds per GiB come from process.cpuUsage() (the whole process,
 *   including the engine's completions).
 * - Steady state: record batches are built before the clock starts and written once to a scratch file (the kernel's
 *   first read of fresh memory is slow on this VM: see warmBuffers), each log is opened and warmed with one append
 *   first (segment creation, the first preallocation and the ring's kernel workers are not part of the figure).
 * - Latency: acks=-1 appends paced (open loop, bench/pacer.ts) at half the bandwidth of the write + fdatasync every
 *   1 MiB reference measured in this run, beside one pwrite + fdatasync of the same size at a time on the same
 *   pacer (the machine's own latency for one synced write, in the same run). Both sides are reported two ways:
 *   from the append() call (the pwrite) to its acknowledgement, and from the scheduled time (open loop: the pacer's
 *   lateness and any queue count, so a stall delays the appends behind it in the figures, too), with the pacer's
 *   own lateness beside them. Also p50/p99 at saturation (8 appenders back to back). And beside group commit in C
 *   at the same pace (bench/c/group-commit.c: a writer thread and an fdatasync thread, its file preallocated as
 *   Berth's logs are here), the machine's own latency for this load rather than for one write at a time.
 * BERTH_BENCH_MB scales the volumes (default 256 MiB per acks=1 run of 1 MiB batches; the others are fractions of it);
 * BERTH_BENCH_SIZES (batch sizes in bytes, comma-separated) and BERTH_BENCH_ENGINES narrow the cases,
 * BERTH_BENCH_ACKS=-1 skips the acks=1 cases, BERTH_BENCH_PACED_RUNS (default min(reps, 3)) sets the paced runs,
 * BERTH_BENCH_PACER (worker or timer) the pacer, BERTH_BENCH_PACE_MIBPS fixed paces (A/B runs: only the paced rows),
 * BERTH_BENCH_PREALLOCATE=true|false the logs' preallocation (default: the broker's default for this disk),
 * BERTH_BENCH_URING_LINKED_SYNC=0 and BERTH_BENCH_URING_COALESCE=0 turn off the ring's linked fdatasync and write
 * coalescing, BERTH_BENCH_HOLD_DURABLE=0 the log's holding of small durable writes during an fdatasync (A/B runs).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { crc32c } from '../protocol/records/crc32c.js';
import type { IoEngine } from '../storage/io/io-engine.js';
import { createUringEngine } from '../storage/io/select-engine.js';
import { openSyncEngine } from '../storage/io/sync-engine.js';
import { ext4DiscardMount } from '../storage/mount-info.js';
import { PartitionLog } from '../storage/partition-log.js';
import type { BenchRow } from './bench-row.js';
import { compileGroupCommit, type GroupCommitRun, groupCommitRun } from './group-commit-reference.js';
import { openPacer, type Pacer } from './pacer.js';

export type { BenchRow } from './bench-row.js';

const MiB = 1 << 20;
const GiB = 1 << 30;
const SCALE = Number(process.env.BERTH_BENCH_MB ?? 256) / 256;
const REPS = Math.max(1, Number(process.env.BERTH_BENCH_REPS ?? 5));
const APPENDERS = 8;
const SIZES = (process.env.BERTH_BENCH_SIZES ?? `1024,${16 * 1024},${MiB}`).split(',').map(Number);
/** BERTH_BENCH_ENGINES=uring (or sync) limits the engines measured. */
const ENGINES = (process.env.BERTH_BENCH_ENGINES ?? 'sync,uring').split(',');
const ACKS1 = process.env.BERTH_BENCH_ACKS !== '-1';
const PACED_RUNS = Math.max(1, Number(process.env.BERTH_BENCH_PACED_RUNS ?? Math.min(REPS, 3)));
/** BERTH_BENCH_PACE_MIBPS="1048576:60,16384:8": fixed paces per batch size (A/B runs), and only the paced rows. */
const FIXED_PACES = new Map(
  (process.env.BERTH_BENCH_PACE_MIBPS ?? '')
    .split(',')
    .filter((x) => x !== '')
    .map((x) => x.split(':').map(Number) as [number, number]),
);

/** Bytes per timed run: enough appends to reach a steady state, little enough to stay fast on a shared VM. */
function volumeFor(batchSize: number, acks: 1 | -1): number {
  const base = acks === 1 ? 256 * MiB : 64 * MiB;
  const bySize = batchSize <= 1024 ? base / 16 : batchSize <= 16 * 1024 ? base / 4 : base;
  return Math.max(4 * MiB, Math.round((bySize * SCALE) / MiB) * MiB);
}

/** One uncompressed batch holding a single record of about `size` bytes. */
export function makeBatch(size: number): Buffer {
  const value = size - 61 - 16;
  const varint = (n: number) => {
    let v = n * 2;
    const out: number[] = [];
    do {
      let b = v % 128;
      v = Math.floor(v / 128);
      if (v > 0) b |= 0x80;
      out.push(b);
    } while (v > 0);
    return out;
  };
  const bodyHead = Buffer.from([0, ...varint(0), ...varint(0), 1, ...varint(value)]);
  const body = Buffer.concat([bodyHead, Buffer.alloc(value, 0x61), Buffer.from([0])]);
  const rec = Buffer.concat([Buffer.from(varint(body.length)), body]);
  const b = Buffer.alloc(61 + rec.length);
  b.writeInt32BE(b.length - 12, 8);
  b.writeInt8(2, 16);
  b.writeBigInt64BE(BigInt(Date.now()), 27);
  b.writeBigInt64BE(BigInt(Date.now()), 35);
  b.writeBigInt64BE(-1n, 43);
  b.writeInt16BE(-1, 51);
  b.writeInt32BE(-1, 53);
  b.writeInt32BE(1, 57);
  rec.copy(b, 61);
  b.writeUInt32BE(crc32c(b, 21, b.length), 17);
  return b;
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface Timed {
  mibps: number;
  cpuPerGiB: number;
}

async function timed(bytes: number, fn: () => Promise<void> | void): Promise<Timed> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await fn();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { mibps: bytes / MiB / seconds, cpuPerGiB: (cpu.user + cpu.system) / 1e6 / (bytes / GiB) };
}

/** The machine's limit for `volume` bytes: 1 MiB sequential writes, with an fdatasync after each when `synced`. */
async function reference(dir: string, volume: number, synced: boolean): Promise<Timed> {
  const chunk = Buffer.alloc(MiB, 0x62);
  const f = path.join(dir, `reference-${synced ? 'synced' : 'buffered'}`);
  const fd = fs.openSync(f, 'w');
  try {
    return await timed(volume, () => {
      for (let done = 0; done < volume; done += MiB) {
        fs.writeSync(fd, chunk, 0, MiB, done);
        if (synced) fs.fdatasyncSync(fd);
      }
    });
  } finally {
    fs.fdatasyncSync(fd); // untimed: leave no dirty pages behind for the next run
    fs.closeSync(fd);
    fs.unlinkSync(f);
  }
}

/** Counts the fdatasyncs a log issues (group commit's work per MiB), passing everything else through. */
class CountingEngine implements IoEngine {
  readonly name;
  fdatasyncs = 0;
  readonly writeAndSync?: IoEngine['writeAndSync'];
  /** Passed through uncounted: a write that joins shares the fdatasync of the writeAndSync it joins. */
  readonly joinLinkedSync?: IoEngine['joinLinkedSync'];
  constructor(private readonly inner: IoEngine) {
    this.name = inner.name;
    const ws = inner.writeAndSync?.bind(inner);
    if (ws) {
      this.writeAndSync = (fd, data, position) => {
        this.fdatasyncs++;
        return ws(fd, data, position);
      };
    }
    this.joinLinkedSync = inner.joinLinkedSync?.bind(inner);
  }
  write(fd: number, data: Buffer, position: number): Promise<void> {
    return this.inner.write(fd, data, position);
  }
  fdatasync(fd: number, opts?: { completedOnly?: boolean }): Promise<void> {
    this.fdatasyncs++;
    return this.inner.fdatasync(fd, opts);
  }
  fallocate(fd: number, offset: number, length: number, keepSize: boolean): Promise<void> {
    return this.inner.fallocate(fd, offset, length, keepSize);
  }
  stats() {
    return this.inner.stats();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

let logSeq = 0;

/**
 * The broker's default for this disk: no preallocation on ext4 mounted with discard (broker/preallocation-default.ts),
 * so that these figures are what a broker on this machine gets. BERTH_BENCH_PREALLOCATE=true|false overrides it.
 */
const LOG_CONFIG = (dir: string) => ({
  preallocate: process.env.BERTH_BENCH_PREALLOCATE
    ? process.env.BERTH_BENCH_PREALLOCATE === 'true'
    : ext4DiscardMount(dir) === null,
});

/** BERTH_BENCH_HOLD_DURABLE=0: the logs do not hold small durable writes while an fdatasync is in flight. */
const HOLD_DURABLE = process.env.BERTH_BENCH_HOLD_DURABLE !== '0';

/** Opens a fresh partition log, warmed with one append. */
async function openLog(
  engine: IoEngine,
  dir: string,
  batchSize: number,
  holdDurableWrites = HOLD_DURABLE,
): Promise<{ log: PartitionLog; dir: string }> {
  const logDir = path.join(dir, `bench-${engine.name}-${logSeq++}`);
  const log = await PartitionLog.open({
    dir: logDir,
    topic: 'bench',
    partition: 0,
    engine,
    config: LOG_CONFIG(dir),
    holdDurableWrites,
  });
  await log.append(makeBatch(batchSize), { acks: -1 });
  return { log, dir: logDir };
}

/** Untimed: flushes and closes the log, then removes it (dropping its pages). */
async function dropLog(o: { log: PartitionLog; dir: string }): Promise<void> {
  await o.log.close();
  fs.rmSync(o.dir, { recursive: true, force: true });
}

interface CaseRun extends Timed {
  latencies: number[];
  fdatasyncs: number;
}

/** APPENDERS concurrent appenders, back to back, `volume` bytes in all. */
async function saturatedCase(
  engine: IoEngine,
  dir: string,
  batches: Buffer[],
  volume: number,
  acks: 1 | -1,
): Promise<CaseRun> {
  const counting = new CountingEngine(engine);
  const opened = await openLog(counting, dir, batches[0].length);
  const size = batches[0].length;
  const perAppender = Math.max(1, Math.floor(volume / size / APPENDERS));
  const latencies: number[] = [];
  counting.fdatasyncs = 0;
  try {
    const t = await timed(perAppender * APPENDERS * size, () =>
      Promise.all(
        batches.map(async (batch) => {
          for (let i = 0; i < perAppender; i++) {
            const t0 = process.hrtime.bigint();
            await opened.log.append(batch, { acks });
            if (acks === -1) latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          }
        }),
      ).then(() => {}),
    );
    return { ...t, latencies: latencies.sort((a, b) => a - b), fdatasyncs: counting.fdatasyncs };
  } finally {
    await dropLog(opened);
  }
}

/**
 * Writes each buffer once to a scratch file (untimed). On this VM the kernel's first read of freshly allocated
 * memory costs about 2 ms per MiB, the second 0.13 ms (measured: 1 MiB fs.writeSync from 64 new Buffers, twice).
 * The references write from one buffer over and over, and the broker's produce frames come from a pool, so fresh
 * source buffers would charge the case alone for a cost neither pays.
 */
function warmBuffers(dir: string, buffers: Buffer[]): void {
  const f = path.join(dir, 'warm-buffers');
  const fd = fs.openSync(f, 'w');
  try {
    for (const b of buffers) fs.writeSync(fd, b, 0, b.length, 0);
  } finally {
    fs.closeSync(fd);
    fs.unlinkSync(f);
  }
}

/**
 * One paced run's figures, each sorted ascending, in milliseconds:
 * - `call`: from the append() call (or the reference's pwrite) to its acknowledgement (issue 3's "append latency");
 * - `scheduled`: from its scheduled time (open loop: the pacer's lateness and any queue count);
 * - `lateness`: the pacer's own, from the scheduled time to the call.
 */
export interface PacedRun {
  call: number[];
  scheduled: number[];
  lateness: number[];
}

function pacedRun(sched: bigint[], issued: bigint[], acked: bigint[]): PacedRun {
  const ms = (a: bigint, b: bigint) => Number(b - a) / 1e6;
  const sorted = (xs: number[]) => xs.sort((a, b) => a - b);
  return {
    call: sorted(issued.map((t, i) => ms(t, acked[i]))),
    scheduled: sorted(sched.map((t, i) => ms(t, acked[i]))),
    lateness: sorted(sched.map((t, i) => ms(t, issued[i]))),
  };
}

/** acks=-1 appends of `batch` at `mibps`, open loop (each goes out when the pacer wakes at its scheduled time). */
export async function pacedCase(
  engine: IoEngine,
  pacer: Pacer,
  dir: string,
  batch: Buffer,
  mibps: number,
  seconds: number,
  holdDurableWrites = HOLD_DURABLE,
): Promise<PacedRun> {
  const opened = await openLog(engine, dir, batch.length, holdDurableWrites);
  const interval = batch.length / MiB / mibps; // seconds between appends
  const total = Math.max(50, Math.floor(seconds / interval));
  const sched: bigint[] = [];
  const issued: bigint[] = [];
  const acked: bigint[] = new Array(total);
  const pending: Promise<void>[] = [];
  // A Buffer per in-flight append (offsets are patched into it), made before the clock starts.
  const copies = Array.from({ length: Math.min(64, Math.ceil((32 * MiB) / batch.length)) }, () => Buffer.from(batch));
  warmBuffers(dir, copies);
  const inUse = new Set<Buffer>();
  const start = process.hrtime.bigint() + 1_000_000n;
  const at = (i: number) => start + BigInt(Math.round(i * interval * 1e9));
  try {
    while (sched.length < total) {
      await pacer.until(at(sched.length));
      const now = process.hrtime.bigint();
      while (sched.length < total && at(sched.length) <= now) {
        const i = sched.length;
        sched.push(at(i));
        const b = copies.find((c) => !inUse.has(c)) ?? Buffer.from(batch);
        inUse.add(b);
        issued.push(process.hrtime.bigint());
        pending.push(
          opened.log.append(b, { acks: -1 }).then(() => {
            acked[i] = process.hrtime.bigint();
            inUse.delete(b);
          }),
        );
      }
    }
    await Promise.all(pending);
  } finally {
    await dropLog(opened);
  }
  return pacedRun(sched, issued, acked);
}

/**
 * The latency reference: one pwrite of `size` bytes + fdatasync, one at a time, paced by the same pacer and
 * measured the same three ways as the case. The next write is scheduled `interval` after the previous one's
 * schedule, or at the previous one's end if that is later (at small sizes it cannot keep the case's pace, one
 * fdatasync per write: `achieved` says what it did, and its open-loop figure then counts no queue).
 */
export async function syncedWriteReference(pacer: Pacer, dir: string, size: number, mibps: number, seconds: number) {
  const chunk = Buffer.alloc(size, 0x62);
  warmBuffers(dir, [chunk]);
  const f = path.join(dir, 'reference-paced');
  const fd = fs.openSync(f, 'w');
  const interval = BigInt(Math.round((size / MiB / mibps) * 1e9));
  const begin = process.hrtime.bigint();
  const deadline = begin + BigInt(Math.round(seconds * 1e9));
  const sched: bigint[] = [];
  const issued: bigint[] = [];
  const acked: bigint[] = [];
  let next = begin + 1_000_000n;
  try {
    while (next < deadline || sched.length < 20) {
      await pacer.until(next);
      const t0 = process.hrtime.bigint();
      fs.writeSync(fd, chunk, 0, size, sched.length * size);
      fs.fdatasyncSync(fd);
      acked.push(process.hrtime.bigint());
      sched.push(next);
      issued.push(t0);
      next += interval;
      if (next < acked[acked.length - 1]) next = acked[acked.length - 1];
    }
  } finally {
    fs.closeSync(fd);
    fs.unlinkSync(f);
  }
  return { ...pacedRun(sched, issued, acked), achieved: (sched.length * size) / MiB / seconds };
}

function label(size: number): string {
  return size >= MiB ? `${size / MiB} MiB` : `${size / 1024} KiB`;
}

interface Pairs {
  cases: Timed[];
  refs: Timed[];
  latencies: number[][];
  fdatasyncs: number[];
}

/** REPS interleaved pairs of (reference, case), alternating which runs first. */
async function pairs(engine: IoEngine, dir: string, size: number, acks: 1 | -1): Promise<Pairs> {
  const volume = volumeFor(size, acks);
  const batches = Array.from({ length: APPENDERS }, () => makeBatch(size));
  warmBuffers(dir, batches);
  const out: Pairs = { cases: [], refs: [], latencies: [], fdatasyncs: [] };
  for (let r = 0; r < REPS; r++) {
    const runRef = async () => out.refs.push(await reference(dir, volume, acks === -1));
    const runCase = async () => {
      const c = await saturatedCase(engine, dir, batches, volume, acks);
      out.cases.push(c);
      out.latencies.push(c.latencies);
      out.fdatasyncs.push(c.fdatasyncs / (volume / MiB));
    };
    if (r % 2 === 0) {
      await runRef();
      await runCase();
    } else {
      await runCase();
      await runRef();
    }
  }
  return out;
}

function throughputRow(name: string, p: Pairs, refName: string, extra = ''): BenchRow {
  const ratios = p.cases.map((c, i) => c.mibps / p.refs[i].mibps);
  const cpu = median(p.cases.map((c) => c.cpuPerGiB));
  const refCpu = median(p.refs.map((c) => c.cpuPerGiB));
  return {
    name,
    value: median(p.cases.map((c) => c.mibps)),
    unit: 'MiB/s',
    reference: { name: refName, value: median(p.refs.map((c) => c.mibps)) },
    note:
      `paired ratio ${median(ratios).toFixed(2)}x ` +
      `(${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}), ` +
      `${REPS} reps; CPU ${cpu.toFixed(2)} s/GiB (reference ${refCpu.toFixed(2)})${extra}`,
  };
}

export async function run(): Promise<BenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-storage-'));
  const rows: BenchRow[] = [];
  const engines: IoEngine[] = ENGINES.includes('sync') ? [await openSyncEngine()] : [];
  const pacer = await openPacer();
  const groupCommit = compileGroupCommit(dir);
  // The C group commit preallocates its file as Berth's logs are here: in chunks, or not at all.
  const cPrealloc = LOG_CONFIG(dir).preallocate ? 'chunks' : 'none';
  try {
    // BERTH_BENCH_URING_LINKED_SYNC=0: the ring issues a durable write's fdatasync from the write's completion
    // instead of linking it behind the write in the kernel (for A/B runs).
    const linkedSync = process.env.BERTH_BENCH_URING_LINKED_SYNC !== '0';
    // BERTH_BENCH_URING_COALESCE=0: every write takes its own SQE (for A/B runs of write coalescing).
    const coalesceWrites = process.env.BERTH_BENCH_URING_COALESCE !== '0';
    if (ENGINES.includes('uring')) engines.push(await createUringEngine({ linkedSync, coalesceWrites }));
  } catch (err) {
    rows.push({ name: 'uring engine', value: 0, unit: 'n/a', note: `not available: ${(err as Error).message}` });
  }
  try {
    for (const engine of engines) {
      for (const size of SIZES) {
        let pace = FIXED_PACES.get(size) ?? 0;
        let refMibps = 0;
        if (pace === 0) {
          if (ACKS1) {
            const a1 = await pairs(engine, dir, size, 1);
            rows.push(
              throughputRow(
                `append ${label(size)} batches, acks=1, ${engine.name}`,
                a1,
                `buffered 1 MiB writes, ${volumeFor(size, 1) / MiB} MiB`,
              ),
            );
          }
          const all = await pairs(engine, dir, size, -1);
          const syncs = median(all.fdatasyncs);
          rows.push(
            throughputRow(
              `append ${label(size)} batches, acks=-1, ${engine.name}`,
              all,
              `write + fdatasync every 1 MiB, ${volumeFor(size, -1) / MiB} MiB`,
              `; ${syncs.toFixed(2)} fdatasyncs per MiB`,
            ),
          );
          const lat = all.latencies;
          rows.push({
            name: `latency p50 / p99 ${label(size)}, acks=-1, ${engine.name}, saturated`,
            value: median(lat.map((l) => percentile(l, 99))),
            unit: 'ms p99',
            note: `p50 ${median(lat.map((l) => percentile(l, 50))).toFixed(2)} ms; ${APPENDERS} appenders back to back`,
          });
          // Half the synced reference's bandwidth, or half this case's own saturated throughput when the appender
          // cannot reach that (1 KiB batches are CPU-bound): pacing above capacity would measure a queue, not latency.
          refMibps = median(all.refs.map((c) => c.mibps));
          const ownMibps = median(all.cases.map((c) => c.mibps));
          pace = Math.min(refMibps, ownMibps) / 2;
        }
        const runs: PacedRun[] = [];
        const refs: PacedRun[] = [];
        const refRates: number[] = [];
        const inC: GroupCommitRun[] = [];
        for (let r = 0; r < PACED_RUNS; r++) {
          runs.push(await pacedCase(engine, pacer, dir, makeBatch(size), pace, 1));
          const ref = await syncedWriteReference(pacer, dir, size, pace, 1);
          refs.push(ref);
          refRates.push(ref.achieved);
          if ('bin' in groupCommit) inC.push(await groupCommitRun(groupCommit.bin, dir, size, pace, 1, cPrealloc));
        }
        const pct = (xs: PacedRun[], k: keyof PacedRun, p: number) => median(xs.map((x) => percentile(x[k], p)));
        const pair = (xs: PacedRun[], k: keyof PacedRun) =>
          `${pct(xs, k, 50).toFixed(2)} / ${pct(xs, k, 99).toFixed(2)}`;
        const paceNote =
          `paced at ${pace.toFixed(1)} MiB/s = ` +
          (refMibps === 0
            ? 'fixed (BERTH_BENCH_PACE_MIBPS)'
            : pace * 2 === refMibps
              ? 'half the write + fdatasync every 1 MiB reference'
              : 'half the saturated throughput of this case') +
          ` (reference one at a time at ${median(refRates).toFixed(1)} MiB/s), ${pacer.kind} pacer; ` +
          `median of ${runs.length} runs of 1 s each`;
        rows.push({
          name: `latency p99 ${label(size)}, acks=-1, ${engine.name}, paced, from append()`,
          value: pct(runs, 'call', 99),
          unit: 'ms',
          reference: {
            name: `pwrite ${label(size)} + fdatasync, one at a time, from pwrite`,
            value: pct(refs, 'call', 99),
          },
          note: `p50 ${pct(runs, 'call', 50).toFixed(2)} ms (reference ${pct(refs, 'call', 50).toFixed(2)}); ${paceNote}`,
        });
        rows.push({
          name: `latency p99 ${label(size)}, acks=-1, ${engine.name}, paced, from scheduled time`,
          value: pct(runs, 'scheduled', 99),
          unit: 'ms',
          reference: { name: 'the same reference, from its scheduled time', value: pct(refs, 'scheduled', 99) },
          note:
            `open loop: p50 ${pct(runs, 'scheduled', 50).toFixed(2)} ms (reference ` +
            `${pct(refs, 'scheduled', 50).toFixed(2)}); pacer lateness p50 / p99 ${pair(runs, 'lateness')} ms ` +
            `(in the reference's turns ${pair(refs, 'lateness')} ms)`,
        });
        const c = (k: keyof GroupCommitRun) => median(inC.map((x) => x[k]));
        rows.push(
          inC.length === 0
            ? {
                name: `latency p99 ${label(size)}, acks=-1, group commit in C`,
                value: 0,
                unit: 'n/a',
                note: `not measured: ${'reason' in groupCommit ? groupCommit.reason : 'no runs'}`,
              }
            : {
                name: `latency p99 ${label(size)}, acks=-1, ${engine.name}, paced, against group commit in C`,
                value: pct(runs, 'call', 99),
                unit: 'ms',
                reference: {
                  name: `a writer thread and an fdatasync thread in C at the same pace, preallocation ${cPrealloc}, from pwrite`,
                  value: c('callP99'),
                },
                note:
                  `p50 ${pct(runs, 'call', 50).toFixed(2)} ms (C ${c('callP50').toFixed(2)}); from scheduled time ` +
                  `p99 ${pct(runs, 'scheduled', 99).toFixed(2)} ms (C ${c('scheduledP99').toFixed(2)}); C ` +
                  `${(c('fdatasyncs') / c('appends')).toFixed(2)} fdatasyncs per append; median of ${inC.length} runs`,
              },
        );
      }
    }
  } finally {
    for (const e of engines) await e.close();
    await pacer.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { renderTable } = await import('./bench-row.js');
  console.log(renderTable('storage-append', await run()));
}
