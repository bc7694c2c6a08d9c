/**
 * Produce against this machine's own limits (issue 8): Berth taking 1 MB record batches (1,000 records of 1 KiB)
 * from a minimal C client (bench/c/produce-blast.c: one connection, one ready-made Produce request sent over and
 * over with up to INFLIGHT outstanding, so the client costs close to nothing), beside, in the same run, the
 * machine's single-stream loopback TCP bandwidth (bench/c/loopback.c) and its buffered sequential write bandwidth
 * (1 MiB fs.writeSync calls to a fresh file), and for acks=-1 its write + fdatasync every 1 MiB bandwidth.
 * Targets: acks=1 at >= 1 GB/s and >= 0.8x the lower of the two limits; acks=-1 at >= 0.7x write + fdatasync.
 * librdkafka's own producer tops out below that on this machine (bench/broker-produce-fetch.ts: its mock cluster
 * takes 811 MB/s), which is why this benchmark has its own client.
 * Knobs: BERTH_BENCH_PRODUCE_MB (per run, default 1024), BERTH_BENCH_PRODUCE_INFLIGHT (default 5, the Java client's
 * max.in.flight.requests.per.connection).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { encodeRequestFrame } from '../protocol/frames.js';
import { encodeRecordBatch } from '../protocol/records/encode-batch.js';
import { type BenchRow, median, renderTable } from './bench-row.js';
import { compileTool, cpuSeconds, runTool, type SystemUnderTest, startBerth } from './broker-load-tools.js';

const MB = Number(process.env.BERTH_BENCH_PRODUCE_MB ?? 1024);
const INFLIGHT = Number(process.env.BERTH_BENCH_PRODUCE_INFLIGHT ?? 5);
const REPEATS = 3;
const RECORDS_PER_BATCH = 1000; // 1000 x 1 KiB: under Kafka's default message.max.bytes (1048588)
const MiB = 2 ** 20;
const GiB = 2 ** 30;
const PRODUCE_VERSION = 7;

/** A Produce v7 request frame carrying one batch of RECORDS_PER_BATCH records of 1 KiB for partition 0 of topic. */
function produceFrame(topic: string, acks: 1 | -1): Buffer {
  const value = Buffer.alloc(1024, 0x61);
  const records = Array.from({ length: RECORDS_PER_BATCH }, () => ({ value }));
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

/** MB/s of 1 MiB sequential writes of `volume` bytes to a fresh file, fdatasynced after each when `synced`. */
function writeLimit(dir: string, volume: number, synced: boolean): number {
  const f = path.join(dir, 'limit');
  const chunk = Buffer.alloc(MiB, 0x62);
  const fd = fs.openSync(f, 'w');
  try {
    const t0 = process.hrtime.bigint();
    for (let done = 0; done < volume; done += MiB) {
      fs.writeSync(fd, chunk, 0, MiB, done);
      if (synced) fs.fdatasyncSync(fd);
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return volume / seconds / 1e6;
  } finally {
    fs.fdatasyncSync(fd); // untimed: no dirty pages left for the next run
    fs.closeSync(fd);
    fs.unlinkSync(f);
  }
}

interface Run {
  mbps: number;
  brokerCpuPerGiB: number;
}

async function blast(
  tool: string,
  sut: SystemUnderTest,
  dir: string,
  dataDir: string,
  topic: string,
  acks: 1 | -1,
): Promise<Run> {
  await sut.createTopic(topic);
  const frame = produceFrame(topic, acks);
  const file = path.join(dir, `${topic}.frame`);
  fs.writeFileSync(file, frame);
  const count = Math.max(16, Math.round((MB * MiB) / frame.length));
  const [host, port] = sut.bootstrap.split(':');
  const cpu0 = cpuSeconds(sut.pid);
  const r = await runTool(tool, [host!, port!, file, count, INFLIGHT], () => sut.died());
  const cpu = cpuSeconds(sut.pid) - cpu0;
  // Untimed, as the references' own fdatasync after each run: no dirty pages of this run slow down the next one.
  spawnSync('sync', ['-f', dataDir]);
  if (r.errors !== 0 || r.responses !== count) {
    throw new Error(`produce-blast: ${r.responses} responses, ${r.errors} errors (first error code ${r.firstError})`);
  }
  return { mbps: r.mbps!, brokerCpuPerGiB: cpu / ((frame.length * count) / GiB) };
}

export async function run(): Promise<BenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-produce-limit-'));
  let sut: SystemUnderTest | undefined;
  try {
    const tool = compileTool(dir, 'produce-blast');
    const loopbackTool = compileTool(dir, 'loopback');
    const volume = MB * MiB;
    const loopback: number[] = [];
    const buffered: number[] = [];
    const synced: number[] = [];
    const acks1: Run[] = [];
    const acksAll: Run[] = [];
    const dataDir = path.join(dir, 'data');
    sut = await startBerth(dataDir, 'zerocopy');
    // Limits and Berth take turns, so load from elsewhere falls on both alike.
    for (let i = 0; i < REPEATS; i++) {
      loopback.push((await runTool(loopbackTool, [Math.round(MB / 2)])).mbPerSec!);
      buffered.push(writeLimit(dir, volume, false));
      acks1.push(await blast(tool, sut, dir, dataDir, `produce-limit-acks1-${i}`, 1));
      synced.push(writeLimit(dir, volume / 4, true));
      acksAll.push(await blast(tool, sut, dir, dataDir, `produce-limit-acksall-${i}`, -1));
    }
    const limit = Math.min(median(loopback), median(buffered));
    const limitName = median(loopback) < median(buffered) ? 'loopback TCP, one stream' : 'buffered sequential write';
    const note = (runs: Run[]) =>
      `median of ${REPEATS} x ${MB} MiB; minimal C client, ${INFLIGHT} requests in flight, Produce v${PRODUCE_VERSION} ` +
      `of ${RECORDS_PER_BATCH} x 1 KiB records; broker CPU ${median(runs.map((r) => r.brokerCpuPerGiB)).toFixed(2)} s/GiB`;
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
    ];
  } finally {
    await sut?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(renderTable('broker-produce-limit', await run()));
}
