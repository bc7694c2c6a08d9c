/** One line of `npm run bench`: a figure, and the reference it is measured against in the same run. */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  reference?: { name: string; value: number };
  note?: string;
}

/** The middle value (the upper middle of an even count), NaN for none. */
export function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)] ?? Number.NaN;
}

export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/** Renders rows as a Markdown table (readable in a terminal, pasteable into bench/RESULTS.md). */
export function renderTable(title: string, rows: readonly BenchRow[]): string {
  const lines = [
    `### ${title}`,
    '',
    '| benchmark | value | reference (same run) | ratio | note |',
    '|---|---:|---|---:|---|',
  ];
  for (const r of rows) {
    const ref = r.reference ? `${r.reference.name}: ${formatNumber(r.reference.value)} ${r.unit}` : '';
    const ratio = r.reference && r.reference.value !== 0 ? `${(r.value / r.reference.value).toFixed(2)}x` : '';
    lines.push(`| ${r.name} | ${formatNumber(r.value)} ${r.unit} | ${ref} | ${ratio} | ${r.note ?? ''} |`);
  }
  return lines.join('\n');
}

/** Runs `fn` repeatedly for about `ms` milliseconds; returns iterations per second. */
export function opsPerSecond(fn: () => void, ms = 500): number {
  let n = 0;
  const start = process.hrtime.bigint();
  const limit = BigInt(ms) * 1_000_000n;
  let elapsed = 0n;
  while (elapsed < limit) {
    for (let i = 0; i < 16; i++) fn();
    n += 16;
    elapsed = process.hrtime.bigint() - start;
  }
  return n / (Number(elapsed) / 1e9);
}
