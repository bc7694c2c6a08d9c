/** Helpers shared by the CLI commands. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** `berth segments verify` found corruption. */
export const EXIT_CORRUPT = 3;

/** An error the CLI reports as `berth: <message>` and exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Parses an integer option, or throws a usage error naming the option. */
export function parseIntOption(name: string, value: string, min = Number.MIN_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(value.trim())) throw new CliError(`${name} expects an integer, got "${value}"`, EXIT_USAGE);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min)
    throw new CliError(`${name} must be an integer >= ${min}, got "${value}"`, EXIT_USAGE);
  return n;
}

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
  if (eq <= 0) throw new CliError(`expected key=value, got "${value}"`, EXIT_USAGE);
  previous.set(value.slice(0, eq).trim(), value.slice(eq + 1));
  return previous;
}

/** A time as epoch milliseconds or an ISO 8601 date (`2026-11-25T10:00:00Z`); throws a usage error naming the option. */
export function parseTime(name: string, value: string): bigint {
  if (/^\d+$/.test(value.trim())) return BigInt(value.trim());
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new CliError(`${name} expects epoch milliseconds or an ISO 8601 time, got "${value}"`, EXIT_USAGE);
  return BigInt(ms);
}
