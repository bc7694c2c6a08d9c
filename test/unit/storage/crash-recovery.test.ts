/**
 * Crash test: a child process appends with acks=-1 and prints every acknowledged batch; the test kills it with
 * SIGKILL at random moments, recovers, and checks that every acknowledged batch is present and byte-identical and
 * that nothing partial is visible. BERTH_CRASH_ROUNDS raises the number of rounds (default 30).
 * The child runs the compiled code in dist/ (package.json's test script runs tsc first; built here if stale).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { scanBuffer } from '../../../storage/batch-scanner.js';
import { LogManager } from '../../../storage/log-manager.js';
import { rng } from './helpers/batches.js';
import { removeDir, tempDir, testEngines } from './helpers/engines.js';

const engines = await testEngines();
const ROUNDS = Number(process.env.BERTH_CRASH_ROUNDS ?? 30);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const child = path.join(repo, 'test/crash/append-child.mjs');

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

beforeAll(() => {
  const built = path.join(repo, 'dist/storage/log-manager.js');
  const stale =
    !fs.existsSync(built) ||
    fs.statSync(built).mtimeMs <
      Math.max(newestMtime(path.join(repo, 'storage')), newestMtime(path.join(repo, 'protocol')));
  if (stale)
    execFileSync(process.execPath, [path.join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
      cwd: repo,
    });
}, 120_000);

interface Ack {
  base: number;
  last: number;
  sha1: string;
  round?: number;
}

/** Runs the child until it has acknowledged something and `delayMs` more have passed, then SIGKILLs it. */
function runAndKill(dataDir: string, engine: string, seed: number, delayMs: number): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, dataDir, engine, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acks: Ack[] = [];
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      out = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^ack (\d+) (\d+) ([0-9a-f]{40})$/.exec(line);
        if (m) acks.push({ base: Number(m[1]), last: Number(m[2]), sha1: m[3] });
        if ((m || line === 'ready') && !timer) timer = setTimeout(() => p.kill('SIGKILL'), delayMs);
      }
    });
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    p.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acks);
      else reject(new Error(`child exited with ${code}: ${err}`));
    });
  });
}

describe.each(engines)('crash recovery on $name engine', ({ name }) => {
  it(`keeps every acknowledged batch across ${ROUNDS} SIGKILLs`, async () => {
    const root = tempDir('berth-crash-');
    const rand = rng(4242);
    const acked = new Map<number, Ack>();
    let passed = false;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const delay = Math.floor(rand() * 150);
        const acks = await runAndKill(root, name, 1000 + round, delay);
        for (const a of acks) acked.set(a.base, { ...a, round });
        // Recover in this process (sometimes close cleanly so the next child starts from a clean shutdown).
        const mgr = await LogManager.open({ dataDir: root, ioEngine: 'sync', background: false });
        try {
          // The child removed the marker when it started, so every recovery here follows a crash.
          expect(mgr.hadCleanShutdown, `round ${round}`).toBe(false);
          const log = mgr.getPartition('crash', 0);
          if (!log) {
            expect(acked.size).toBe(0);
            continue;
          }
          const ranges = await log.read(0, 1 << 30);
          const all = Buffer.concat(await Promise.all(ranges.map((r) => log.readBytes(r))));
          // Nothing partial: the visible bytes are whole, CRC-valid batches with contiguous offsets.
          const byBase = new Map<number, Buffer>();
          let expectNext = 0;
          const scan = scanBuffer(all, 0, all.length, { verifyCrc: true }, (b) => {
            expect(b.baseOffset, `round ${round}`).toBe(expectNext);
            expectNext = b.lastOffset + 1;
            byBase.set(b.baseOffset, all.subarray(b.position, b.position + b.size));
          });
          expect(scan.stop, `round ${round}`).toBe('end');
          expect(log.logEndOffset, `round ${round}`).toBe(expectNext);
          // Every acknowledged batch is there, byte for byte.
          for (const a of acked.values()) {
            const bytes = byBase.get(a.base);
            expect(
              bytes,
              `round ${round}: acked batch at ${a.base} missing (log end ${log.logEndOffset})`,
            ).toBeDefined();
            expect(bytes!.readInt32BE(23) + a.base, `round ${round}: batch ${a.base} (acked in round ${a.round})`).toBe(
              a.last,
            );
            const stored = Buffer.from(bytes!);
            expect(createHash('sha1').update(stored).digest('hex'), `round ${round}: batch ${a.base}`).toBe(a.sha1);
          }
        } finally {
          if (round % 3 === 0) await mgr.close();
          else await mgr.abandon();
        }
      }
      console.info(`crash test (${name}): ${ROUNDS} rounds, ${acked.size} acknowledged batches verified`);
      expect(acked.size).toBeGreaterThan(0);
      passed = true;
    } finally {
      if (passed || !process.env.BERTH_CRASH_KEEP) removeDir(root);
      else console.info(`crash test data kept in ${root}`);
    }
  }, 600_000);
});
