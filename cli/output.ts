/**
 * Output for people and for scripts: aligned tables (a small formatter of our own: cli-table3 is not installed),
 * and JSON (bigints as strings, Buffers as base64) when --json is given.
 */

export type Cell = string | number | bigint | boolean | null | undefined;

function cellText(c: Cell): string {
  if (c === null || c === undefined) return '-';
  return String(c);
}

/** Columns padded to their widest cell; numbers right-aligned. */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<Cell>>): string {
  const text = rows.map((r) => headers.map((_, i) => cellText(r[i])));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => r[i].length)));
  const numeric = headers.map((_, i) =>
    rows.every((r) => typeof r[i] === 'number' || typeof r[i] === 'bigint' || r[i] == null),
  );
  const line = (cells: readonly string[], header: boolean) =>
    cells
      .map((c, i) => (numeric[i] && !header ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers, true), ...text.map((r) => line(r, false))].join('\n');
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
