import type { PartitionLog } from '../../../../storage/partition-log.js';

/**
 * Waits until every rolled segment of `log` is sealed. Seals run in the background (fdatasync, index trim, read-only
 * mode) once a segment's writes complete; a fixed sleep was not always long enough on a loaded machine.
 */
export async function untilRolledSealed(log: PartitionLog): Promise<void> {
  await log.drain();
  while (!log.segments.slice(0, -1).every((s) => s.sealed)) await new Promise((r) => setTimeout(r, 5));
}
