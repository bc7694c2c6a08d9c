import { describe, expect, it } from 'vitest';
import { forEachLimited } from '../../../storage/for-each-limited.js';

/** A step that stays in flight until the test lets it go, so concurrency can be observed. */
function gatedSteps() {
  let running = 0;
  let peak = 0;
  const done: number[] = [];
  const gates: Array<() => void> = [];
  const step = async (item: number) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise<void>((resolve) => gates.push(resolve));
    running--;
    done.push(item);
    if (item === 3 || item === 7) throw new Error(`step ${item} failed`);
  };
  const releaseAll = async () => {
    while (done.length < 10) {
      for (const g of gates.splice(0)) g();
      await new Promise((r) => setImmediate(r));
    }
  };
  return { step, releaseAll, done, peak: () => peak };
}

describe('forEachLimited', () => {
  it('runs every step, at most `limit` at once, and throws the first failure once all have settled', async () => {
    const s = gatedSteps();
    const all = forEachLimited(
      Array.from({ length: 10 }, (_, i) => i),
      4,
      s.step,
    );
    const settled = all.then(
      () => null,
      (err: Error) => err,
    );
    await s.releaseAll();
    const err = await settled;
    expect(err?.message).toBe('step 3 failed');
    expect([...s.done].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(s.peak()).toBe(4);
  });

  it('resolves at once for no items, and takes any iterable', async () => {
    await expect(forEachLimited([], 8, async () => {})).resolves.toBeUndefined();
    const seen: string[] = [];
    await forEachLimited(
      new Map([
        ['a', 1],
        ['b', 2],
      ]).keys(),
      8,
      async (k) => {
        seen.push(k);
      },
    );
    expect(seen).toEqual(['a', 'b']);
  });
});
