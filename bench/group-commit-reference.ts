/**
 * The machine's own acks=-1 latency at a pace, for the storage benchmark's paced rows: bench/c/group-commit.c (a
 * writer thread pwrite()s each append at its scheduled time, an fdatasync thread acknowledges everything written
 * before each fdatasync). The same group commit Berth does, with one hand-off and no event loop; what Berth adds
 * over it at the same pace is the cost of getting there from JavaScript.
 */
import path from 'node:path';
import { compileTool, runTool } from './broker-load-tools.js';

export interface GroupCommitRun {
  appends: number;
  fdatasyncs: number;
  /** From the pwrite call to the end of the fdatasync covering it, ms. */
  callP50: number;
  callP99: number;
  /** From the scheduled time, ms. */
  scheduledP50: number;
  scheduledP99: number;
}

/** Compiles the tool once per directory; null (with the reason logged by the caller) when there is no C compiler. */
export function compileGroupCommit(dir: string): { bin: string } | { reason: string } {
  try {
    return { bin: compileTool(dir, 'group-commit') };
  } catch (err) {
    return { reason: (err as Error).message.split('\n')[0] };
  }
}

/** How the reference's file is preallocated: as Berth's logs are ('chunks' when they preallocate, else 'none'). */
export type GroupCommitPrealloc = 'full' | 'chunks' | 'none';

/** One run of `seconds` at `mibps` in `size`-byte appends, into a scratch file in `dir` (removed after). */
export async function groupCommitRun(
  bin: string,
  dir: string,
  size: number,
  mibps: number,
  seconds: number,
  prealloc: GroupCommitPrealloc,
): Promise<GroupCommitRun> {
  const file = path.join(dir, 'group-commit-reference');
  const r = await runTool(bin, [file, size, mibps.toFixed(3), seconds, prealloc]);
  return r as unknown as GroupCommitRun;
}
