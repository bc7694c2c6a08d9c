import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProducerIdManager } from '../../../broker/producer-ids.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'admin-helper-pids-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('ProducerIdManager', () => {
  it('hands out consecutive ids and reserves a new block when one runs out', async () => {
    const ids = new ProducerIdManager(join(dir, 'producer-ids.log'), 3);
    const got = await Promise.all(Array.from({ length: 7 }, () => ids.generate()));
    expect(got).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n]);
  });

  it('never reuses an id after a restart, even one of a block only partly used', async () => {
    const file = join(dir, 'producer-ids.log');
    const first = new ProducerIdManager(file, 10);
    expect(await first.generate()).toBe(0n);
    expect(await first.generate()).toBe(1n);
    // A "crash": the first manager is dropped; the reservation of [0, 10) is on disk.
    const second = new ProducerIdManager(file, 10);
    expect(await second.generate()).toBe(10n);
    const third = new ProducerIdManager(file, 10);
    expect(await third.generate()).toBe(20n);
    expect(readFileSync(file).length).toBeLessThan(64); // compacted to the last reservation
  });

  it('puts its file under the data directory metadata', async () => {
    const ids = ProducerIdManager.forDataDir(dir);
    expect(ids.file).toBe(join(dir, '__berth_metadata', 'producer-ids.log'));
    expect(await ids.generate()).toBe(0n);
    expect(await ProducerIdManager.forDataDir(dir).generate()).toBe(1000n);
  });

  it('knows which ids may have been handed out', async () => {
    const file = join(dir, 'producer-ids.log');
    const ids = new ProducerIdManager(file, 10);
    expect(ids.wasIssued(0n)).toBe(false);
    await ids.generate();
    await ids.generate();
    expect([ids.wasIssued(1n), ids.wasIssued(2n), ids.wasIssued(-1n)]).toEqual([true, false, false]);
    // After a restart only the reservation is known: the whole block counts as handed out.
    const later = new ProducerIdManager(file, 10);
    expect([later.wasIssued(9n), later.wasIssued(10n)]).toEqual([true, false]);
  });
});
