/**
 * V8 settings the broker process runs with, applied by `berth start` before the broker's modules load (an
 * application that embeds a broker keeps its own).
 *
 * Why pretenuring is off: V8 moves an allocation site's objects straight into the old generation once it sees most
 * of them survive a scavenge. A request's objects survive one when a scavenge lands while many requests wait (a
 * burst, an fdatasync stall), and from then on every request's decoded frame, promises and storage entries are
 * allocated old. They die a few milliseconds later but only a full collection frees them, and while they are dead
 * in the old generation they keep the young objects they point to alive: in paced acks=-1 runs scavenges copied
 * 2 MB each (15% of what was allocated, against 3% without) and took 3-17 ms, with a full collection every
 * 0.5-1 s, and the requests at the p99 were those waiting behind them (bench/results-broker.md, session 10).
 */
import v8 from 'node:v8';
import type { BrokerConfig } from './config.js';

/** Applies the process-wide V8 settings `config` asks for; returns the flags set, for the start-up log. */
export function applyV8Flags(config: BrokerConfig): string[] {
  const flags = config.boolean('v8.allocation.site.pretenuring') ? [] : ['--no-allocation-site-pretenuring'];
  for (const flag of flags) v8.setFlagsFromString(flag);
  return flags;
}
