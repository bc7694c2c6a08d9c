// Shared by the native tests: a seeded PRNG, temp-file helpers, and a child process with the addon loaded.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** mulberry32: small, fast and deterministic. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `length` pseudo-random bytes from `seed`, filled four at a time. */
export function seededBytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let a = seed >>> 0;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    out.writeUInt32LE(a, i);
  }
  for (; i < length; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    out[i] = a >>> 24;
  }
  return out;
}

export function tempDir(prefix: string): { dir: string; file: (name: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `berth-${prefix}-`));
  return { dir, file: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Runs `body` (CommonJS, with `addon` and `fs` in scope) in a child Node process after `shellPrefix` (ulimits, for
 * instance) and returns the JSON it writes to stdout: a ring of its own, so its counters start at zero.
 */
export function inChild(body: string, shellPrefix = ''): Record<string, unknown> {
  const addonPath = fileURLToPath(new URL('../../../build/Release/berth_native.node', import.meta.url));
  const script = `const addon = require(${JSON.stringify(addonPath)}); const fs = require('fs'); ${body}`;
  const out = execFileSync('/bin/sh', ['-c', `${shellPrefix}exec "$0" -e "$1"`, process.execPath, script], {
    encoding: 'utf8',
  });
  return JSON.parse(out);
}
