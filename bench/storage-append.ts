/**
 * Storage append benchmark: PartitionLog.append throughput for 1 KiB, 16 KiB and 1 MiB batches on every I/O engine
 * available, acks=1 and acks=-1 (8 concurrent appenders, so group commit matters), and acks=-1 append latency
 * (p50/p99). Beside them, this machine's limits measured in the same run: sequential buffered writes, and writes
 * with an fdatasync every 1 MiB. Run directly to print a table: `node dist/bench/storage-append.js`.
 * BERTH_BENCH_MB sets the data volume per case (default 64).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { crc32c } from '../protocol/records/crc32c.js';
import type { IoEngine } from '../storage/io/io-engine.js';
import { createUringEngine } from '../storage/io/select-engine.js';
import { openSyncEngine } from '../storage/io/sync-engine.js';
import { PartitionLog } from '../storage/partition-log.js';

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  reference?: { name: string; value: number };
  note?: string;
}

const MiB = 1 << 20;
const VOLUME = Number(process.env.BERTH_BENCH_MB ?? 64) * MiB;
const APPENDERS = 8;

/** One uncompressed batch holding a single record of about `size` bytes. */
function makeBatch(size: number): Buffer {
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

function mibPerSec(bytes: number, ns: bigint): number {
  return bytes / MiB / (Number(ns) / 1e9);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** This machine's limits: sequential buffered 1 MiB writes, and the same with fdatasync after each. */
function machineLimits(dir: string): { buffered: number; synced: number } {
  const chunk = Buffer.alloc(MiB, 0x62);
  const f = path.join(dir, 'reference');
  let fd = fs.openSync(f, 'w');
  let t = process.hrtime.bigint();
  for (let done = 0; done < VOLUME; done += MiB) fs.writeSync(fd, chunk);
  const buffered = mibPerSec(VOLUME, process.hrtime.bigint() - t);
  fs.closeSync(fd);
  fs.unlinkSync(f);
  fd = fs.openSync(f, 'w');
  const syncedVolume = Math.min(VOLUME, 32 * MiB);
  t = process.hrtime.bigint();
  for (let done = 0; done < syncedVolume; done += MiB) {
    fs.writeSync(fd, chunk);
    fs.fdatasyncSync(fd);
  }
  const synced = mibPerSec(syncedVolume, process.hrtime.bigint() - t);
  fs.closeSync(fd);
  fs.unlinkSync(f);
  return { buffered, synced };
}

async function appendCase(
  engine: IoEngine,
  dir: string,
  batchSize: number,
  acks: 1 | -1,
): Promise<{ mibps: number; latencies: number[] }> {
  const logDir = path.join(dir, `bench-${engine.name}-${batchSize}-${acks === 1 ? 'a1' : 'aall'}`);
  const log = await PartitionLog.open({ dir: logDir, topic: 'bench', partition: 0, engine });
  const volume = acks === -1 ? Math.min(VOLUME, batchSize <= 1024 ? 8 * MiB : 32 * MiB) : VOLUME;
  const perAppender = Math.max(1, Math.floor(volume / batchSize / APPENDERS));
  const latencies: number[] = [];
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: APPENDERS }, async () => {
      const batch = makeBatch(batchSize);
      for (let i = 0; i < perAppender; i++) {
        const t = process.hrtime.bigint();
        await log.append(batch, { acks });
        if (acks === -1) latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }),
  );
  const elapsed = process.hrtime.bigint() - start;
  await log.close();
  fs.rmSync(logDir, { recursive: true, force: true });
  return { mibps: mibPerSec(perAppender * APPENDERS * batchSize, elapsed), latencies: latencies.sort((a, b) => a - b) };
}

export async function run(): Promise<BenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-storage-'));
  const rows: BenchRow[] = [];
  try {
    const limits = machineLimits(dir);
    rows.push({ name: 'machine: sequential buffered write (1 MiB)', value: limits.buffered, unit: 'MiB/s' });
    rows.push({ name: 'machine: write + fdatasync every 1 MiB', value: limits.synced, unit: 'MiB/s' });
    const engines: IoEngine[] = [await openSyncEngine()];
    try {
      engines.push(await createUringEngine());
    } catch (err) {
      rows.push({ name: 'uring engine', value: 0, unit: 'n/a', note: `not available: ${(err as Error).message}` });
    }
    for (const engine of engines) {
      for (const size of [1024, 16 * 1024, MiB]) {
        const label = size >= MiB ? `${size / MiB} MiB` : `${size / 1024} KiB`;
        const a1 = await appendCase(engine, dir, size, 1);
        rows.push({
          name: `append ${label} batches, acks=1, ${engine.name}`,
          value: a1.mibps,
          unit: 'MiB/s',
          reference: { name: 'sequential buffered write', value: limits.buffered },
          note: `${APPENDERS} concurrent appenders`,
        });
        const all = await appendCase(engine, dir, size, -1);
        rows.push({
          name: `append ${label} batches, acks=-1, ${engine.name}`,
          value: all.mibps,
          unit: 'MiB/s',
          reference: { name: 'write + fdatasync every 1 MiB', value: limits.synced },
          note: `${APPENDERS} concurrent appenders, group commit`,
        });
        rows.push({
          name: `append latency p50 ${label}, acks=-1, ${engine.name}`,
          value: percentile(all.latencies, 50),
          unit: 'ms',
        });
        rows.push({
          name: `append latency p99 ${label}, acks=-1, ${engine.name}`,
          value: percentile(all.latencies, 99),
          unit: 'ms',
        });
      }
      await engine.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await run();
  const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2));
  for (const r of rows) {
    const ref = r.reference
      ? `  (${r.reference.name}: ${fmt(r.reference.value)}, ratio ${(r.value / r.reference.value).toFixed(2)})`
      : '';
    console.log(`${r.name.padEnd(52)} ${fmt(r.value).padStart(9)} ${r.unit}${ref}${r.note ? `  [${r.note}]` : ''}`);
  }
}
