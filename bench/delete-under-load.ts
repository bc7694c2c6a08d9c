/**
 * Deleting a large topic beside a durable write load: the acks=-1 produce latency of one topic while another
 * topic's 2 GiB are removed, with Berth's chunked removal (log.file.delete.chunk.bytes, the default 16 MiB every
 * 20 ms) and with whole files at once (log.file.delete.chunk.bytes=0, what Berth did before), beside the same load
 * with nothing deleted, all in the same run. Run directly to print a table: `node dist/bench/delete-under-load.js`.
 *
 * Why: on ext4 mounted with online discard, the blocks freed by a deletion are discarded (at once without a journal,
 * in the next journal commit with one), and every other file's fdatasync waits behind them (storage/file-remover.ts).
 *
 * Method: two brokers (one per setting) take turns. Each round fills a topic with BERTH_BENCH_DELETE_MB MiB (1 MB
 * batches, acks=1, then `sync`), waits for the machine to settle, and starts a paced acks=-1 load of 1 MB batches on
 * another topic (open loop, the minimal C client); one second in, the full topic is deleted (DeleteTopics, the files
 * then go in the background). The load runs long enough to cover the whole removal. The baseline round is the same
 * without the deletion, after an untimed one on each broker. Rows: p99 from send, median over the rounds.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BenchRow, median, renderTable } from './bench-row.js';
import { compileTool, runTool, type SystemUnderTest, startBerth, untilRemoved } from './broker-load-tools.js';
import { produceFrame } from './produce-limit.js';

const FILL_MIB = Number(process.env.BERTH_BENCH_DELETE_MB ?? 2048);
const ROUNDS = Number(process.env.BERTH_BENCH_DELETE_ROUNDS ?? 3);
/** The paced load: 1 MB requests at this many MB/s, for this long (the removal of 2 GiB in chunks takes ~3 s). */
const PACE_MBPS = Number(process.env.BERTH_BENCH_DELETE_PACE ?? 200);
const LOAD_SECONDS = Number(process.env.BERTH_BENCH_DELETE_SECONDS ?? 6);
const SETTLE_MS = 3000;

type Mode = 'none' | 'chunked' | 'whole';

interface Round {
  p99: number;
  max: number;
  /** From DeleteTopics to the last file gone (ms); 0 in the baseline. */
  removalMs: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function round(
  tool: string,
  sut: SystemUnderTest,
  dir: string,
  dataDir: string,
  mode: Mode,
  i: number,
): Promise<Round> {
  const [host, port] = sut.bootstrap.split(':');
  const full = `delete-full-${mode}-${i}`;
  const loaded = `delete-load-${mode}-${i}`;
  let fullFile = '';
  if (mode !== 'none') {
    await sut.createTopic(full);
    const frame = produceFrame(full, 1);
    fullFile = path.join(dir, `${full}.frame`);
    fs.writeFileSync(fullFile, frame);
    const count = Math.round((FILL_MIB * 2 ** 20) / frame.length);
    const r = await runTool(tool, [host!, port!, fullFile, count, 5], () => sut.died());
    if (r.errors !== 0) throw new Error(`filling ${full}: ${r.errors} errors`);
  }
  spawnSync('sync', ['-f', dataDir]);
  await sleep(SETTLE_MS);
  await sut.createTopic(loaded);
  const frame = produceFrame(loaded, -1);
  const file = path.join(dir, `${loaded}.frame`);
  fs.writeFileSync(file, frame);
  const rate = (PACE_MBPS * 1e6) / frame.length;
  const count = Math.round(rate * LOAD_SECONDS);
  const load = runTool(tool, [host!, port!, file, count, 5, rate.toFixed(3)], () => sut.died());
  let removalMs = 0;
  let removal: Promise<void> = Promise.resolve();
  if (mode !== 'none') {
    await sleep(1000);
    const t0 = performance.now();
    await sut.deleteTopic!(full, false);
    removal = untilRemoved(dataDir).then(() => {
      removalMs = performance.now() - t0;
    });
  }
  const r = await load;
  await removal;
  if (r.errors !== 0 || r.responses !== count)
    throw new Error(`paced load: ${r.responses} of ${count}, ${r.errors} errors`);
  await sut.deleteTopic!(loaded);
  return { p99: r.fromSendP99!, max: r.fromSendMax!, removalMs };
}

export async function run(): Promise<BenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-delete-'));
  const brokers: Partial<Record<'chunked' | 'whole', SystemUnderTest>> = {};
  try {
    const tool = compileTool(dir, 'produce-blast');
    const dataDirs = { chunked: path.join(dir, 'chunked'), whole: path.join(dir, 'whole') };
    brokers.chunked = await startBerth(dataDirs.chunked, 'zerocopy');
    brokers.whole = await startBerth(dataDirs.whole, 'zerocopy', [], ['log.file.delete.chunk.bytes=0']);
    // A fresh broker's first paced run pays V8's compilers and first-touch memory: one untimed round each.
    await round(tool, brokers.chunked, dir, dataDirs.chunked, 'none', -1);
    await round(tool, brokers.whole, dir, dataDirs.whole, 'none', -1);
    const rounds: Record<Mode, Round[]> = { none: [], chunked: [], whole: [] };
    for (let i = 0; i < ROUNDS; i++) {
      // Which deleting broker goes first alternates; the baseline sits between them.
      const order: Mode[] = i % 2 === 0 ? ['chunked', 'none', 'whole'] : ['whole', 'none', 'chunked'];
      for (const mode of order) {
        const b = mode === 'whole' ? 'whole' : 'chunked';
        rounds[mode].push(await round(tool, brokers[b]!, dir, dataDirs[b], mode, i));
      }
    }
    const base = median(rounds.none.map((r) => r.p99));
    const load = `acks=-1 1 MB requests at ${PACE_MBPS} MB/s, open loop, 5 in flight, ${LOAD_SECONDS} s`;
    const row = (mode: 'chunked' | 'whole', how: string): BenchRow => ({
      name: `produce p99 while a ${FILL_MIB / 1024} GiB topic is deleted, ${how}`,
      value: median(rounds[mode].map((r) => r.p99)),
      unit: 'ms',
      reference: { name: 'the same load with nothing deleted', value: base },
      note:
        `runs' p99 ${rounds[mode].map((r) => r.p99.toFixed(1)).join(' / ')} ms, max ` +
        `${rounds[mode].map((r) => r.max.toFixed(1)).join(' / ')} ms; removal took ` +
        `${rounds[mode].map((r) => (r.removalMs / 1000).toFixed(1)).join(' / ')} s; ${load}; ` +
        `nothing deleted: runs' p99 ${rounds.none.map((r) => r.p99.toFixed(1)).join(' / ')}, max ` +
        `${rounds.none.map((r) => r.max.toFixed(1)).join(' / ')} ms`,
    });
    return [
      row('chunked', 'removed 16 MiB every 20 ms (default)'),
      row('whole', 'whole files at once (log.file.delete.chunk.bytes=0)'),
    ];
  } finally {
    await brokers.chunked?.stop();
    await brokers.whole?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(renderTable('broker-delete-under-load', await run()));
}
