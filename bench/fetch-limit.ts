/**
 * Fetch against this machine's own limit (issue 8): Berth serving one partition to a minimal C consumer
 * (bench/c/fetch-drain.c, which only reads batch headers), beside a C program that sendfile()s a page-cached file to
 * a loopback socket (bench/c/sendfile-limit.c), measured in the same run. Both send paths are measured, with the
 * broker's CPU per GiB read from /proc, so the zero-copy path's CPU stands as a ratio of the copying path's.
 * Targets: zero-copy throughput >= 0.9x the sendfile limit; zero-copy CPU per GiB <= 0.5x the copying path's.
 * Knobs: BERTH_BENCH_FETCH_MB (data per partition, default 256), BERTH_BENCH_FETCH_SECONDS (per run, default 3).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { KafkaClient } from '../cli/kafka-client.js';
import { CreateTopics } from '../protocol/generated/create-topics.js';
import { Produce } from '../protocol/generated/produce.js';
import { encodeRecordBatch } from '../protocol/records/encode-batch.js';
import { type BenchRow, median, renderTable } from './bench-row.js';
import { compileTool, cpuSeconds, runTool, type SystemUnderTest, startBerth } from './broker-load-tools.js';

const MB = Number(process.env.BERTH_BENCH_FETCH_MB ?? 256);
const SECONDS = Number(process.env.BERTH_BENCH_FETCH_SECONDS ?? 3);
const REPEATS = 3;
const TOPIC = 'bench-fetch-limit';
const GiB = 2 ** 30;

/** Writes `mb` MiB of 64 KiB records in batches of 15 records (under 1 MiB) to partition 0 of `topic`, acks=1. */
export async function fill(sut: SystemUnderTest, topic = TOPIC, mb = MB): Promise<void> {
  const [host, port] = sut.bootstrap.split(':');
  const client = await KafkaClient.connect({ host: host!, port: Number(port), clientId: 'bench-fetch-limit' });
  try {
    const created = await client.request(CreateTopics, {
      topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    if (created.topics[0]?.errorCode !== 0) throw new Error(`CreateTopics answered ${created.topics[0]?.errorCode}`);
    const value = Buffer.alloc(64 * 1024, 0x5a);
    const records = Array.from({ length: 15 }, () => ({ value })); // under message.max.bytes;
    for (let i = 0; i < Math.ceil((mb * 16) / 15); i++) {
      const res = await client.request(
        Produce,
        {
          transactionalId: null,
          acks: 1,
          timeoutMs: 30_000,
          topicData: [{ name: topic, partitionData: [{ index: 0, records: encodeRecordBatch({ records }) }] }],
        },
        12, // by topic name (v13 addresses topics by id)
      );
      const code = res.responses[0]?.partitionResponses[0]?.errorCode;
      if (code !== 0) throw new Error(`produce answered error ${code}`);
    }
  } finally {
    client.close();
  }
}

interface Figure {
  mbps: number;
  cpuPerGiB: number;
}

/** Starts a broker with the given send path, fills it, warms it, then drains it REPEATS times. */
async function measureBerth(drain: string, fetchPath: 'zerocopy' | 'copy'): Promise<Figure[]> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `berth-bench-fetch-${fetchPath}-`));
  const sut = await startBerth(dataDir, fetchPath);
  try {
    await fill(sut);
    const [host, port] = sut.bootstrap.split(':');
    const args = [host!, port!, TOPIC];
    await runTool(drain, [...args, 1], sut.died); // warm: page cache, JIT
    const figures: Figure[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const before = cpuSeconds(sut.pid);
      const r = await runTool(drain, [...args, SECONDS], sut.died);
      figures.push({ mbps: r.mbps!, cpuPerGiB: (cpuSeconds(sut.pid) - before) / (r.bytes! / GiB) });
    }
    return figures;
  } finally {
    await sut.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function measureLimit(sendfile: string): Promise<Figure[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-sendfile-'));
  const file = path.join(dir, 'data');
  try {
    const chunk = Buffer.alloc(1 << 20, 0x5a);
    const fd = fs.openSync(file, 'w');
    for (let i = 0; i < MB; i++) fs.writeSync(fd, chunk);
    fs.closeSync(fd);
    fs.readFileSync(file); // into the page cache, as the broker's segments are
    const figures: Figure[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const r = await runTool(sendfile, [file, SECONDS]);
      figures.push({ mbps: r.mbps!, cpuPerGiB: r.cpuSecPerGiB! });
    }
    return figures;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-fetch-tools-'));
  try {
    const sendfile = compileTool(dir, 'sendfile-limit');
    const drain = compileTool(dir, 'fetch-drain');
    const limitBefore = await measureLimit(sendfile);
    const zerocopy = await measureBerth(drain, 'zerocopy');
    const copy = await measureBerth(drain, 'copy');
    const limitAfter = await measureLimit(sendfile);
    const limit = median([...limitBefore, ...limitAfter].map((f) => f.mbps));
    const limitCpu = median([...limitBefore, ...limitAfter].map((f) => f.cpuPerGiB));
    const zc = { mbps: median(zerocopy.map((f) => f.mbps)), cpu: median(zerocopy.map((f) => f.cpuPerGiB)) };
    const cp = { mbps: median(copy.map((f) => f.mbps)), cpu: median(copy.map((f) => f.cpuPerGiB)) };
    const ref = { name: 'C sendfile, page cache to loopback socket', value: limit };
    const note = `median of ${REPEATS} x ${SECONDS} s; one partition of ${MB} MiB, 64 KiB records; Fetch v4, one in flight`;
    return [
      { name: 'fetch, zero-copy path', value: zc.mbps, unit: 'MB/s', reference: ref, note: `target >= 0.9x; ${note}` },
      { name: 'fetch, copying path', value: cp.mbps, unit: 'MB/s', reference: ref, note },
      {
        name: 'broker CPU per GiB fetched, zero-copy',
        value: zc.cpu,
        unit: 'CPU s/GiB',
        reference: { name: 'copying path', value: cp.cpu },
        note: `target <= 0.5x; the C sender spends ${limitCpu.toFixed(2)} CPU s/GiB`,
      },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(renderTable('broker-fetch-limit', await run()));
}
