/** Helpers shared by the CLI commands. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function version(): string {
  // dist/cli/cli-util.js and cli/cli-util.ts both sit two levels below the package root.
  const here = dirname(fileURLToPath(import.meta.url));
  for (const root of [join(here, '..'), join(here, '..', '..')]) {
    try {
      return JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string;
    } catch {
      // try the next candidate
    }
  }
  return '0.0.0';
}

/** Collects repeated `--set key=value` options into a Map. */
export function collectSetting(value: string, previous: Map<string, string> = new Map()): Map<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new Error(`--set expects key=value, got "${value}"`);
  previous.set(value.slice(0, eq).trim(), value.slice(eq + 1));
  return previous;
}
