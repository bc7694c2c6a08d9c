import { appendFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OffsetStore } from '../../../../broker/groups/offset-store.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'groups-helper-offsets-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const entry = (topic: string, partition: number, offset: bigint, metadata: string | null = 'm') => ({
  topic,
  partition,
  offset,
  leaderEpoch: 3,
  metadata,
  commitTimestamp: 1000,
});

describe('OffsetStore', () => {
  it('replays commits, deletions and group metadata after reopening, and compacts the log', async () => {
    const dir = tempDir();
    let store = await OffsetStore.open(dir);
    await store.commit('g1', [entry('t', 0, 5n), entry('t', 1, 2n ** 40n, null)]);
    await store.commit('g1', [entry('t', 0, 7n, 'later')]);
    await store.commit('g2', [entry('u', 0, 1n)]);
    await store.writeGroup({ groupId: 'g1', protocolType: 'consumer', generationId: 4 });
    await store.deleteOffsets('g2', [['u', 0]]);
    await store.writeGroup({ groupId: 'g3', protocolType: 'consumer', generationId: 1 });
    await store.deleteGroup('g3');
    await store.close();
    store = await OffsetStore.open(dir);
    expect(store.get('g1', 't', 0)).toEqual(entry('t', 0, 7n, 'later'));
    expect(store.get('g1', 't', 1)?.offset).toBe(2n ** 40n);
    expect(store.get('g1', 't', 1)?.metadata).toBeNull();
    expect(store.hasOffsets('g2')).toBe(false);
    expect(store.knownGroups()).toEqual([{ groupId: 'g1', protocolType: 'consumer', generationId: 4 }]);
    await store.close();
  });

  it('drops a torn tail record and keeps everything acknowledged before it', async () => {
    const dir = tempDir();
    const store = await OffsetStore.open(dir);
    await store.commit('g', [entry('t', 0, 11n)]);
    await store.close();
    const path = join(dir, 'groups.log');
    const size = statSync(path).size;
    appendFileSync(path, Buffer.from([0, 0, 0, 40, 1, 2, 3, 4, 5, 6]));
    const reopened = await OffsetStore.open(dir);
    expect(reopened.get('g', 't', 0)?.offset).toBe(11n);
    expect(statSync(path).size).toBe(size);
    await reopened.close();
  });

  it('compacts at run time once the log outgrows its live size, without losing commits made meanwhile', async () => {
    const dir = tempDir();
    const store = await OffsetStore.open(dir, { compactMinBytes: 8192, compactRatio: 2 });
    const latest = new Map<string, bigint>();
    // Rounds of concurrent commits to 16 partitions of 4 groups: the log grows, the live set does not.
    for (let round = 0; round < 60; round++) {
      await Promise.all(
        Array.from({ length: 16 }, (_, i) => {
          const group = `g${i % 4}`;
          const offset = BigInt(round * 100 + i);
          return store.commit(group, [entry('t', i, offset, `r${round}`)]).then(() => {
            latest.set(`${group}/${i}`, offset);
          });
        }),
      );
    }
    await store.deleteOffsets('g3', [['t', 3]]);
    latest.delete('g3/3');
    expect(store.compactions).toBeGreaterThan(0);
    expect(store.logBytes).toBeLessThan(3 * 8192);
    await store.close();
    expect(statSync(join(dir, 'groups.log')).size).toBeLessThan(3 * 8192);

    const reopened = await OffsetStore.open(dir);
    const found = new Map<string, bigint>();
    for (let g = 0; g < 4; g++) for (const o of reopened.all(`g${g}`)) found.set(`g${g}/${o.partition}`, o.offset);
    expect(found).toEqual(latest);
    expect(reopened.get('g1', 't', 5)?.metadata).toBe('r59');
    await reopened.close();
  });
});
