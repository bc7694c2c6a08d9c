/**
 * Output for people and for scripts: aligned tables (cli-table3, without borders so that they paste and grep
 * well), and JSON (bigints as strings, Buffers as base64) when --json is given.
 */
import Table from 'cli-table3';

/** Two spaces between columns and no rules: tables that read like `kafka-topics --describe`. */
const BORDERLESS = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '  ',
};

export type Cell = string | number | bigint | boolean | null | undefined;

function cellText(c: Cell): string {
  if (c === null || c === undefined) return '-';
  return String(c);
}

/** A borderless cli-table3 table: columns padded to their widest cell, numbers right-aligned. */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<Cell>>): string {
  const numeric = headers.map((_, i) =>
    rows.every((r) => typeof r[i] === 'number' || typeof r[i] === 'bigint' || r[i] == null),
  );
  const table = new Table({
    head: [...headers],
    chars: BORDERLESS,
    style: { head: [], border: [], compact: true, 'padding-left': 0, 'padding-right': 0 },
    colAligns: numeric.map((n) => (n ? 'right' : 'left')),
  });
  for (const r of rows) table.push(headers.map((_, i) => cellText(r[i])));
  return table
    .toString()
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n');
}

export function printTable(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<Cell>>): void {
  process.stdout.write(`${formatTable(headers, rows)}\n`);
}

/** JSON with bigints as strings and Buffers as base64. */
export function toJson(value: unknown, pretty = true): string {
  return JSON.stringify(
    value,
    function (this: unknown, key: string, v: unknown) {
      if (typeof v === 'bigint') return v.toString();
      const raw = (this as Record<string, unknown>)[key];
      if (Buffer.isBuffer(raw)) return raw.toString('base64');
      return v;
    },
    pretty ? 2 : undefined,
  );
}

export function printJson(value: unknown): void {
  process.stdout.write(`${toJson(value)}\n`);
}

export type BytesEncoding = 'utf8' | 'hex' | 'base64';

/** A key, value or header value for display; null stays null. */
export function renderBytes(b: Buffer | null, encoding: BytesEncoding): string | null {
  if (b === null) return null;
  return b.toString(encoding);
}

export function formatTimestamp(ms: number | bigint | null): string | null {
  if (ms === null) return null;
  const n = Number(ms);
  if (n < 0 || !Number.isFinite(n)) return String(ms);
  const d = new Date(n);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}
