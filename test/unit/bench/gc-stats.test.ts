/**
 * The benchmarks read the broker's garbage collections from its /metrics (bench/broker-load-tools.ts gcStats):
 * parseGcStats must understand what prom-client actually writes, so it is fed a real registry's output after real
 * collections, not a hand-written sample.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { gcBetween, gcNote, parseGcStats } from '../../../bench/broker-load-tools.js';

describe('parseGcStats', () => {
  it("reads the scavenges that prom-client's default metrics counted, and the difference between two readings", async () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'berth_process_' });
    const before = parseGcStats(await registry.metrics());
    let keep: number[][] = [];
    for (let round = 0; round < 50; round++) {
      // Short-lived arrays: the young generation fills and is scavenged.
      for (let i = 0; i < 20_000; i++) keep = [[i, round]];
      await new Promise((r) => setTimeout(r, 1)); // GC entries reach observers asynchronously
      if (parseGcStats(await registry.metrics()).minor.count > before.minor.count) break;
    }
    expect(keep.length).toBe(1);
    const after = parseGcStats(await registry.metrics());
    const d = gcBetween(before, after);
    expect(d.minor.count).toBeGreaterThan(0);
    expect(d.minor.seconds).toBeGreaterThan(0);
    expect(d.major.count).toBeGreaterThanOrEqual(0);
    expect(gcNote([d, null])).toMatch(/^; broker GC per run, full collections \/ their ms: \d+\/\d+; scavenges \d+$/);
    expect(gcNote([null])).toBe('');
  });
});
