/**
 * Resolves what `berth segments` was pointed at: a single segment file (.log, or its .index/.timeindex), a partition
 * directory (`<topic>-<partition>/` holding `<20 digits>.log` files), or a data directory holding partition
 * directories. Directories being deleted (`...-delete`) are skipped.
 */
import fs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { segmentBaseOffset } from './segment-file.js';

export interface PartitionSegments {
  dir: string;
  /** .log paths sorted by base offset. */
  logs: string[];
}

export class UsageError extends Error {}

function logsIn(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.log') && segmentBaseOffset(n) !== null)
    .sort()
    .map((n) => join(dir, n));
}

export function findSegments(path: string): PartitionSegments[] {
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch {
    throw new UsageError(`${path}: no such file or directory`);
  }
  if (st.isFile()) {
    const base = segmentBaseOffset(path);
    if (base === null) throw new UsageError(`${path}: not a segment file (expected <20 digits>.log/.index/.timeindex)`);
    const log = join(dirname(path), `${basename(path).slice(0, 20)}.log`);
    if (!fs.existsSync(log)) throw new UsageError(`${log}: no such segment`);
    return [{ dir: dirname(path), logs: [log] }];
  }
  const own = logsIn(path);
  if (own.length > 0) return [{ dir: path, logs: own }];
  const out: PartitionSegments[] = [];
  for (const name of fs.readdirSync(path).sort()) {
    if (name.endsWith('-delete')) continue;
    const sub = join(path, name);
    if (!fs.statSync(sub).isDirectory()) continue;
    const logs = logsIn(sub);
    if (logs.length > 0) out.push({ dir: sub, logs });
  }
  return out;
}

/** Total bytes of the .log files (for progress). */
export function totalLogBytes(parts: readonly PartitionSegments[]): number {
  let total = 0;
  for (const p of parts) for (const l of p.logs) total += fs.statSync(l).size;
  return total;
}
