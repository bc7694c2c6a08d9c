/**
 * The clock and timers the group state machine runs on. The broker uses real timers; unit tests drive a
 * ManualTimers clock so that session and rebalance timeouts are exercised without waiting.
 */
export type TimerHandle = { readonly id: number };

export interface GroupTimers {
  now(): number;
  set(fn: () => void, ms: number): TimerHandle;
  clear(handle: TimerHandle | null): void;
}

/** setTimeout-backed timers; unref'd so a forgotten timer never keeps a process alive. */
export function realTimers(): GroupTimers {
  let nextId = 1;
  const live = new Map<number, NodeJS.Timeout>();
  return {
    now: () => Date.now(),
    set(fn, ms) {
      const id = nextId++;
      // Deadlines already past come out negative, which Node 24 warns about; clamp to setTimeout's range.
      const delay = Math.max(0, Math.min(ms, 0x7fffffff));
      const t = setTimeout(() => {
        live.delete(id);
        fn();
      }, delay);
      t.unref();
      live.set(id, t);
      return { id };
    },
    clear(handle) {
      if (!handle) return;
      const t = live.get(handle.id);
      if (t) clearTimeout(t);
      live.delete(handle.id);
    },
  };
}

/** A clock that only moves when told to: advance(ms) fires due timers in deadline order. */
export class ManualTimers implements GroupTimers {
  private time = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.time;
  }

  set(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.pending.set(id, { at: this.time + Math.max(0, ms), fn });
    return { id };
  }

  clear(handle: TimerHandle | null): void {
    if (handle) this.pending.delete(handle.id);
  }

  get activeTimers(): number {
    return this.pending.size;
  }

  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      let dueId = -1;
      let dueAt = Number.POSITIVE_INFINITY;
      for (const [id, t] of this.pending) {
        if (t.at <= until && (t.at < dueAt || (t.at === dueAt && id < dueId))) {
          dueId = id;
          dueAt = t.at;
        }
      }
      if (dueId < 0) break;
      const t = this.pending.get(dueId)!;
      this.pending.delete(dueId);
      this.time = Math.max(this.time, t.at);
      t.fn();
    }
    this.time = until;
  }
}
