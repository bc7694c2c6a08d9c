/**
 * What writing into the page cache costs on this machine depending on how recently its memory was freed. It shapes
 * every benchmark that writes new data (bench/RESULTS.md, session 6): on the development VM, memory freed more than
 * a second or two ago is written 3-10x slower than memory freed a moment ago (the VM gives freed memory back to its
 * host, and takes it back on first use). A machine without that behaviour shows ratios near 1.0x here.
 *
 * Rows: 1 MiB fs.writeSync calls of BERTH_BENCH_PAGE_MB (default 1024) MiB into a fresh file, started right after
 * the same volume was written and unlinked (the reference), and after pauses of 1 s and 3 s.
 * Run directly: `node dist/bench/page-cache-state.js`; `npm run bench -- page-cache`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BenchRow, median, renderTable } from './bench-row.js';

const MiB = 2 ** 20;
const VOLUME = Number(process.env.BERTH_BENCH_PAGE_MB ?? 1024) * MiB;
const REPEATS = 3;
const PAUSES_MS = [1000, 3000];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes `bytes` to a fresh file in 1 MiB writes; MB/s of the writes. The file is removed (untimed) afterwards. */
export function writeAndUnlink(dir: string, bytes: number): number {
  const f = path.join(dir, 'pages');
  const chunk = Buffer.alloc(MiB, 0x70);
  const fd = fs.openSync(f, 'w');
  try {
    const t0 = process.hrtime.bigint();
    for (let done = 0; done < bytes; done += MiB) fs.writeSync(fd, chunk, 0, MiB, done);
    return bytes / (Number(process.hrtime.bigint() - t0) / 1e9) / 1e6;
  } finally {
    fs.closeSync(fd);
    fs.unlinkSync(f);
  }
}

export async function run(): Promise<BenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-pages-'));
  try {
    const justFreed: number[] = [];
    const afterPause = new Map<number, number[]>(PAUSES_MS.map((p) => [p, []]));
    for (let i = 0; i < REPEATS; i++) {
      writeAndUnlink(dir, VOLUME);
      justFreed.push(writeAndUnlink(dir, VOLUME));
      for (const pause of PAUSES_MS) {
        writeAndUnlink(dir, VOLUME);
        await sleep(pause);
        afterPause.get(pause)!.push(writeAndUnlink(dir, VOLUME));
      }
    }
    const mib = VOLUME / MiB;
    const reference = { name: 'into memory freed just before', value: median(justFreed) };
    return [
      ...PAUSES_MS.map((pause) => ({
        name: `buffered write into memory freed ${pause / 1000} s before`,
        value: median(afterPause.get(pause)!),
        unit: 'MB/s',
        reference,
        note: `${mib} MiB in 1 MiB writeSync calls to a fresh file; median of ${REPEATS}`,
      })),
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(renderTable('page-cache-state', await run()));
}
