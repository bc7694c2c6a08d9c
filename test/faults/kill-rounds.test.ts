/**
 * kill -9 rounds in the test suite: a few rounds through every io engine and fetch path (bench/kill-rounds.ts runs
 * a hundred). A `berth start` child is killed while producers (acks=-1) and consumers are busy; after each restart
 * every acknowledged batch is there once, in order, byte-identical, nothing partial is visible, and
 * `berth segments verify` is clean. Needs a compiled dist/ (npm test runs tsc first).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KILL_MODES, runKillRounds } from '../../bench/kill-rounds.js';

describe('kill -9 rounds', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('loses no acknowledged record over a kill in every engine and fetch path', { timeout: 240_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'faults-kill-'));
    dirs.push(dataDir);
    const totals = await runKillRounds({ dataDir, rounds: KILL_MODES.length, seed: 7, killSpreadMs: 400 });
    expect(totals.problems).toEqual([]);
    expect(totals.rounds).toBe(KILL_MODES.length);
    expect(totals.kills).toBe(KILL_MODES.length);
    // The rounds did real work: batches were acknowledged, and the checks ran over them.
    expect(totals.batchesAcknowledged).toBeGreaterThan(0);
    expect(totals.lost).toBe(0);
    expect(totals.duplicates).toBe(0);
    expect(totals.misplaced).toBe(0);
    expect(totals.consumedLost).toBe(0);
    expect(totals.verifyFailures).toBe(0);
    expect(totals.produceErrors).toBe(0);
  });
});
