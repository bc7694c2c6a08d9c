/**
 * Long-poll support for Fetch: a fetch that found fewer than min_bytes waits here until an append to one of its
 * partitions (notify) or its deadline, whichever comes first, then re-reads. Waiters are indexed by partition so
 * an append wakes only the fetches that asked for that partition.
 */
interface Waiter {
  keys: readonly string[];
  resolve: () => void;
  timer: NodeJS.Timeout;
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** Where a fetch naming no partition it can wait on waits: nothing notifies it, only its deadline or close(). */
const NO_PARTITION = '\u0000none';

export class FetchWaiters {
  private readonly byKey = new Map<string, Set<Waiter>>();
  private closed = false;

  /** Resolves at the first notify() of any key, after `ms`, or at close(). */
  wait(keys: readonly string[], ms: number): Promise<void> {
    if (this.closed || ms <= 0) return Promise.resolve();
    // A fetch of no known partition still waits out its time (as Kafka does): answering at once would make its
    // re-read loop spin without ever yielding to the event loop.
    if (keys.length === 0) keys = [NO_PARTITION];
    return new Promise((resolve) => {
      const waiter: Waiter = {
        keys,
        resolve: () => {
          clearTimeout(waiter.timer);
          this.remove(waiter);
          resolve();
        },
        // Whole milliseconds: Node keeps one timer list per distinct duration, so fractional remainders (each
        // fetch's max_wait_ms less the time already spent) would create and drop a list for every wait.
        timer: setTimeout(() => waiter.resolve(), Math.ceil(ms)),
      };
      for (const k of keys) {
        let set = this.byKey.get(k);
        if (!set) {
          set = new Set();
          this.byKey.set(k, set);
        }
        set.add(waiter);
      }
    });
  }

  notifyPartition(topic: string, partition: number): void {
    this.notify(partitionKey(topic, partition));
  }

  notify(key: string): void {
    const set = this.byKey.get(key);
    if (!set) return;
    // resolve() deletes the waiter from this set: a Set's iteration allows deleting the current entry.
    for (const w of set) w.resolve();
  }

  get waiting(): number {
    const all = new Set<Waiter>();
    for (const set of this.byKey.values()) for (const w of set) all.add(w);
    return all.size;
  }

  /** Fetches parked on one partition (tests and diagnostics: "is a consumer long-polling here now?"). */
  waitingOn(topic: string, partition: number): number {
    return this.byKey.get(partitionKey(topic, partition))?.size ?? 0;
  }

  /** Wakes every waiter (shutdown). */
  close(): void {
    this.closed = true;
    for (const set of [...this.byKey.values()]) for (const w of [...set]) w.resolve();
  }

  private remove(waiter: Waiter): void {
    for (const k of waiter.keys) {
      const set = this.byKey.get(k);
      if (!set) continue;
      set.delete(waiter);
      if (set.size === 0) this.byKey.delete(k);
    }
  }
}
