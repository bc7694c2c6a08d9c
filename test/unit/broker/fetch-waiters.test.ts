import { describe, expect, it } from 'vitest';
import { FetchWaiters } from '../../../broker/fetch-waiters.js';

describe('FetchWaiters', () => {
  it('makes a fetch of no partition wait out its time instead of returning at once (found by the fuzzer)', async () => {
    const waiters = new FetchWaiters();
    let settled = false;
    const waiting = waiters.wait([], 60_000).then(() => {
      settled = true;
    });
    // Several turns of the event loop later it is still waiting: before the fix it resolved at once, and the Fetch
    // handler's re-read loop spun forever on microtasks, starving the whole broker.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    expect(waiters.waiting).toBe(1);
    waiters.close();
    await waiting;
    expect(settled).toBe(true);
    expect(waiters.waiting).toBe(0);
  });

  it('wakes a fetch of no partition at its deadline', async () => {
    const waiters = new FetchWaiters();
    await waiters.wait([], 10);
    expect(waiters.waiting).toBe(0);
  });

  it('wakes partition waiters on notify, and only those', async () => {
    const waiters = new FetchWaiters();
    let a = false;
    let b = false;
    const pa = waiters.wait(['t\u00000'], 60_000).then(() => {
      a = true;
    });
    void waiters.wait(['t\u00001'], 60_000).then(() => {
      b = true;
    });
    waiters.notifyPartition('t', 0);
    await pa;
    expect(a).toBe(true);
    expect(b).toBe(false);
    waiters.close();
  });

  it('wakes every waiter of a partition on one notify, also waiters of several partitions', async () => {
    const waiters = new FetchWaiters();
    const woken: string[] = [];
    const all = [
      waiters.wait(['t\u00000', 't\u00001'], 60_000).then(() => woken.push('both')),
      waiters.wait(['t\u00000'], 60_000).then(() => woken.push('first')),
      waiters.wait(['t\u00000'], 60_000).then(() => woken.push('second')),
    ];
    // Waking removes each waiter from the very set being walked: none may be skipped.
    waiters.notifyPartition('t', 0);
    await Promise.all(all);
    expect(woken.sort()).toEqual(['both', 'first', 'second']);
    expect(waiters.waiting).toBe(0);
    expect(waiters.waitingOn('t', 1)).toBe(0);
  });

  it('wakes a waiter whose remaining time is a fraction of a millisecond', async () => {
    const waiters = new FetchWaiters();
    await waiters.wait(['t\u00000'], 0.3);
    expect(waiters.waiting).toBe(0);
  });
});
