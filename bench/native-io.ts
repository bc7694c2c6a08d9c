/**
 * The native data plane against what Node offers without it, each figure beside a reference measured in the same
 * run (MACHINE.md: figures move ±30% between runs, ratios are what to compare).
 *  - Appends of 1 KiB / 16 KiB / 1 MiB: io_uring WRITE_FIXED (64 appends in flight) vs fs.write on the libuv pool
 *    (64 in flight, what the 'sync' engine does) vs fs.writeSync at explicit positions (pwrite), without and with
 *    an fdatasync after every 1 MiB. Note: ext4 cannot do buffered writes without blocking, so io_uring hands
 *    each one to a kernel worker thread, and the copy into the registered buffer is an extra copy next to pwrite
 *    straight from the JS Buffer; registered buffers pay off with O_DIRECT, which Berth does not use yet. Reference: a plain buffered sequential
 *    write loop of 1 MiB writes. CPU seconds per GiB come from process.cpuUsage().
 *  - Fetch-like sends (a 64-byte header and a 1 MiB file range per response) to a loopback socket whose receiver,
 *    in a child process, discards the data: sendRanges (sendfile) vs read into a Buffer + socket.write.
 *    Reference: memcpy throughput (Buffer.copy of 1 MiB), the cost the copying path pays at least twice.
 *  - CRC32C of 1 KiB / 16 KiB / 1 MiB: the addon against the portable JS implementation.
 * Run directly: `node dist/bench/native-io.js`.
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  write,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNative, type NativeAddon, type NativeRing } from '../native/index.js';
import { crc32cSoftware } from '../protocol/records/crc32c.js';

/** Same shape as bench/bench-row.ts on main. */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  reference?: { name: string; value: number };
  note?: string;
}

const GiB = 2 ** 30;
const MiB = 2 ** 20;

interface Measure {
  gibPerSec: number;
  cpuPerGiB: number;
}

/** The median of `runs` timed runs (the first run of anything pays page-cache first-touch costs). */
async function measure(bytes: number, fn: () => Promise<void> | void, runs = 3): Promise<Measure> {
  const results: Measure[] = [];
  for (let i = 0; i < runs; i++) results.push(await measureOnce(bytes, fn));
  results.sort((a, b) => a.gibPerSec - b.gibPerSec);
  return results[Math.floor(runs / 2)];
}

async function measureOnce(bytes: number, fn: () => Promise<void> | void): Promise<Measure> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await fn();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { gibPerSec: bytes / GiB / seconds, cpuPerGiB: cpuSeconds / (bytes / GiB) };
}

function pattern(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

type WriteFn = (fd: number, data: Buffer, position: number, cb: (err: Error | null) => void) => void;
type SyncFn = (fd: number, cb: (err: Error | null) => void) => void;

/**
 * Appends `total` bytes in `size` pieces, keeping up to 64 in flight (a new append starts as soon as one
 * finishes, as with many producers); with `syncEvery`, the appends of each `syncEvery` bytes are followed by
 * one fdatasync once they have completed (group commit).
 */
function appendWindowed(
  path: string,
  size: number,
  total: number,
  syncEvery: number,
  write: WriteFn,
  sync: SyncFn,
): Promise<void> {
  const fd = openSync(path, 'w');
  const data = pattern(size);
  const window = 64;
  return new Promise<void>((resolve, reject) => {
    let position = 0;
    let inFlight = 0;
    let sinceSync = 0;
    let syncing = false;
    const finish = (err: Error | null) => {
      closeSync(fd);
      if (err) reject(err);
      else resolve();
    };
    const pump = () => {
      if (syncing) return;
      while (inFlight < window && position < total && (syncEvery === 0 || sinceSync < syncEvery)) {
        inFlight++;
        sinceSync += size;
        write(fd, data, position, done);
        position += size;
      }
      if (inFlight > 0) return;
      if (syncEvery > 0 && sinceSync > 0) {
        syncing = true;
        sync(fd, (err) => {
          if (err) return finish(err);
          syncing = false;
          sinceSync = 0;
          pump();
        });
        return;
      }
      if (position >= total) finish(null);
    };
    const done = (err: Error | null) => {
      inFlight--;
      if (err) return finish(err);
      pump();
    };
    pump();
  });
}

function appendPwrite(path: string, size: number, total: number, syncEvery = 0): void {
  const fd = openSync(path, 'w');
  const data = pattern(size);
  try {
    let sinceSync = 0;
    for (let position = 0; position < total; position += size) {
      writeSync(fd, data, 0, size, position);
      sinceSync += size;
      if (syncEvery > 0 && sinceSync >= syncEvery) {
        fdatasyncSync(fd);
        sinceSync = 0;
      }
    }
  } finally {
    closeSync(fd);
  }
}

function bufferedLoop(path: string, total: number): void {
  const fd = openSync(path, 'w');
  const data = pattern(MiB);
  try {
    for (let done = 0; done < total; done += MiB) writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
}

async function appendRows(native: NativeAddon, dir: string): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  let ring: NativeRing;
  try {
    ring = native.createRing({ entries: 256, bufferCount: 64, bufferSize: 256 * 1024 });
  } catch (e) {
    return [{ name: 'appends via io_uring', value: 0, unit: 'GiB/s', note: `skipped: ${(e as Error).message}` }];
  }
  try {
    const path = join(dir, 'append.log');
    await measureOnce(64 * MiB, () => bufferedLoop(path, 64 * MiB)); // warm-up: page cache and allocator
    const reference = await measure(32 * MiB, () => bufferedLoop(path, 32 * MiB));
    const ref = { name: 'buffered sequential 1 MiB writes', value: reference.gibPerSec };
    for (const sync of [0, MiB]) {
      const total = sync ? 8 * MiB : 32 * MiB;
      const suffix = sync ? ', fdatasync every 1 MiB' : '';
      for (const size of [1024, 16 * 1024, MiB]) {
        const label = size >= MiB ? `${size / MiB} MiB` : `${size / 1024} KiB`;
        // Smaller totals for 1 KiB pieces: per-append overhead dominates and the figure settles quickly.
        const bytes = size === 1024 ? total / 4 : total;
        const uring = await measure(bytes, () =>
          appendWindowed(path, size, bytes, sync, ring.writeFixed, ring.fdatasync),
        );
        const pool = await measure(bytes, () =>
          appendWindowed(path, size, bytes, sync, (fd, d, p, cb) => write(fd, d, 0, d.length, p, cb), fdatasync),
        );
        const pwrite = await measure(bytes, () => appendPwrite(path, size, bytes, sync));
        const vs = (m: Measure) => (uring.gibPerSec / m.gibPerSec).toFixed(2);
        rows.push({
          name: `append ${label} writeFixed, 64 in flight${suffix}`,
          value: uring.gibPerSec,
          unit: 'GiB/s',
          reference: ref,
          note: `${uring.cpuPerGiB.toFixed(2)} CPU s/GiB; ${vs(pwrite)}x pwrite, ${vs(pool)}x fs.write`,
        });
        rows.push({
          name: `append ${label} fs.write (libuv pool), 64 in flight${suffix}`,
          value: pool.gibPerSec,
          unit: 'GiB/s',
          reference: ref,
          note: `${pool.cpuPerGiB.toFixed(2)} CPU s/GiB`,
        });
        rows.push({
          name: `append ${label} fs.writeSync (pwrite)${suffix}`,
          value: pwrite.gibPerSec,
          unit: 'GiB/s',
          reference: ref,
          note: `${pwrite.cpuPerGiB.toFixed(2)} CPU s/GiB`,
        });
      }
    }
    const s = ring.submitStats();
    rows.push({
      name: 'writeFixed SQEs per io_uring_enter',
      value: s.enters > 0 ? s.sqes / s.enters : 0,
      unit: 'SQEs',
      note: `${s.sqes} SQEs in ${s.enters} submissions`,
    });
  } finally {
    await ring.close();
  }
  return rows;
}

/** A receiver in a child process (so its CPU is not counted) that discards everything. */
async function startSink(): Promise<{ port: number; stop: () => void }> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const s = require('net').createServer((c) => c.on('data', () => {}));
       s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    child.once('error', reject);
  });
  return { port, stop: () => child.kill() };
}

function socketFd(s: Socket): number {
  return (s as unknown as { _handle: { fd: number } })._handle.fd;
}

async function sendRows(native: NativeAddon, dir: string): Promise<BenchRow[]> {
  const fileSize = 128 * MiB;
  const path = join(dir, 'segment.log');
  writeFileSync(path, pattern(fileSize));
  const fileFd = openSync(path, 'r');
  const sink = await startSink();
  const socket = connect(sink.port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const head = Buffer.alloc(64, 1);
  const total = 256 * MiB;
  const responses = total / MiB;
  try {
    // Warm the page cache so both paths read from memory.
    await measureOnce(fileSize, () => {
      const b = Buffer.allocUnsafe(MiB);
      for (let off = 0; off < fileSize; off += MiB) readSync(fileFd, b, 0, MiB, off);
    });
    const fd = socketFd(socket);
    const zeroCopy = await measure(total, async () => {
      for (let i = 0; i < responses; i++) {
        const offset = (i * MiB) % fileSize;
        await new Promise<void>((resolve, reject) =>
          native.sendRanges(fd, head, [{ fd: fileFd, offset, length: MiB }], (e) => (e ? reject(e) : resolve())),
        );
      }
    });
    const copying = await measure(total, async () => {
      for (let i = 0; i < responses; i++) {
        const offset = (i * MiB) % fileSize;
        const body = Buffer.allocUnsafe(MiB);
        readSync(fileFd, body, 0, MiB, offset);
        socket.write(head);
        if (!socket.write(body)) await new Promise<void>((r) => socket.once('drain', () => r()));
      }
    });
    const src = pattern(MiB);
    const dst = Buffer.allocUnsafe(MiB);
    const memcpy = await measure(2 * GiB, () => {
      for (let i = 0; i < 2048; i++) src.copy(dst);
    });
    const ref = { name: 'memcpy (Buffer.copy 1 MiB)', value: memcpy.gibPerSec };
    return [
      {
        name: 'fetch 1 MiB responses: sendRanges (sendfile)',
        value: zeroCopy.gibPerSec,
        unit: 'GiB/s',
        reference: ref,
        note: `${zeroCopy.cpuPerGiB.toFixed(2)} CPU s/GiB`,
      },
      {
        name: 'fetch 1 MiB responses: read + socket.write',
        value: copying.gibPerSec,
        unit: 'GiB/s',
        reference: ref,
        note: `${copying.cpuPerGiB.toFixed(2)} CPU s/GiB`,
      },
      {
        name: 'fetch CPU per GiB: sendRanges / read+write',
        value: zeroCopy.cpuPerGiB / copying.cpuPerGiB,
        unit: 'x',
        note: 'below 1: the zero-copy path spends less broker CPU per byte',
      },
    ];
  } finally {
    socket.destroy();
    sink.stop();
    closeSync(fileFd);
  }
}

/** CRC32C over 1 KiB / 16 KiB / 1 MiB: the addon (its fastest path on this CPU) against the portable JS tables. */
async function crcRows(native: NativeAddon): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const kind = native.probe().crc32cPath;
  for (const size of [1024, 16 * 1024, MiB]) {
    const buf = pattern(size);
    const rounds = Math.max(16, Math.floor((256 * MiB) / size));
    const hw = await measure(rounds * size, () => {
      for (let i = 0; i < rounds; i++) native.crc32c(buf, 0, size, 0);
    });
    // The JS path is an order of magnitude slower: fewer rounds, still three runs so the JIT has warmed up.
    const swRounds = Math.max(4, Math.floor(rounds / 16));
    const sw = await measure(swRounds * size, () => {
      for (let i = 0; i < swRounds; i++) crc32cSoftware(buf, 0, size, 0);
    });
    rows.push({
      name: `crc32c ${size >= MiB ? '1 MiB' : `${size / 1024} KiB`}: addon (${kind})`,
      value: hw.gibPerSec,
      unit: 'GiB/s',
      reference: { name: 'crc32cSoftware (JS tables)', value: sw.gibPerSec },
    });
  }
  return rows;
}

export async function run(): Promise<BenchRow[]> {
  const native = loadNative();
  if (!native) return [{ name: 'native addon', value: 0, unit: '', note: 'not available on this platform or build' }];
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-native-'));
  try {
    const caps = native.probe();
    const rows: BenchRow[] = caps.ioUring
      ? await appendRows(native, dir)
      : [{ name: 'appends via io_uring', value: 0, unit: 'GiB/s', note: `skipped: ${caps.reason}` }];
    rows.push(...(await sendRows(native, dir)));
    rows.push(...(await crcRows(native)));
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await run();
  const fmt = (n: number) => (Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2));
  console.log('| benchmark | value | reference (same run) | note |\n|---|---:|---|---|');
  for (const r of rows) {
    const ref = r.reference ? `${r.reference.name}: ${fmt(r.reference.value)} ${r.unit}` : '';
    console.log(`| ${r.name} | ${fmt(r.value)} ${r.unit} | ${ref} | ${r.note ?? ''} |`);
  }
}
