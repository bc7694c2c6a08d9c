/**
 * The I/O engines every storage test runs against: 'sync' always, 'uring' when storage/io/uring-engine.ts can be
 * imported and created on this machine. Which engines ran is logged, never skipped silently.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IoEngine } from '../../../../storage/io/io-engine.js';
import { createUringEngine } from '../../../../storage/io/select-engine.js';
import { SyncEngine } from '../../../../storage/io/sync-engine.js';

export interface TestEngine {
  name: string;
  create: () => Promise<IoEngine>;
}

let cached: Promise<TestEngine[]> | undefined;

export function testEngines(): Promise<TestEngine[]> {
  cached ??= (async () => {
    const list: TestEngine[] = [{ name: 'sync', create: async () => new SyncEngine() }];
    let why = '';
    try {
      const probe = await createUringEngine();
      await probe.close();
      list.push({ name: 'uring', create: () => createUringEngine() });
    } catch (err) {
      why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    }
    console.info(
      `storage tests run on engines: ${list.map((e) => e.name).join(', ')}${why ? ` (uring not available: ${why})` : ''}`,
    );
    return list;
  })();
  return cached;
}

export function tempDir(prefix = 'berth-storage-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  // Sealed files are read-only; rm -rf as root does not care, but make it work for other users too.
  const chmodAll = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) chmodAll(p);
      else fs.chmodSync(p, 0o644);
    }
  };
  try {
    chmodAll(dir);
  } catch {
    // gone already
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
