/**
 * Open-loop pacing for the latency benchmarks: `until(t)` resolves on the event loop as soon after the
 * process.hrtime.bigint() instant `t` as it can.
 * - 'worker' (the default): a worker thread sleeps in Atomics.wait (a futex with a sub-millisecond timeout) until
 *   `t`, then posts a message, which wakes the event loop through its async handle. Nothing spins: on this 2-vCPU VM
 *   a setImmediate spin took a core from the io_uring workers and the kernel and doubled the tails (session 3).
 * - 'timer': setTimeout, which libuv runs at whole milliseconds of its cached loop time: 0.6-1 ms late at p50 here.
 * The lateness that is left (a busy loop, a slow wake-up) is the caller's to measure and report: it is part of
 * an open-loop figure.
 */
import { Worker } from 'node:worker_threads';

export type PacerKind = 'worker' | 'timer';

export interface Pacer {
  readonly kind: PacerKind;
  /** Resolves at (or after) the hrtime instant `t`, in nanoseconds. */
  until(t: bigint): Promise<void>;
  close(): Promise<void>;
}

/** The worker's whole program: for each target it receives, sleep until then, then answer with the target. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const cell = new Int32Array(new SharedArrayBuffer(4));
parentPort.on('message', (target) => {
  const t = BigInt(target);
  for (;;) {
    const ms = Number(t - process.hrtime.bigint()) / 1e6;
    if (ms <= 0) break;
    Atomics.wait(cell, 0, 0, ms);
  }
  parentPort.postMessage(target);
});
`;

class WorkerPacer implements Pacer {
  readonly kind = 'worker' as const;
  readonly #worker: Worker;
  #waiting: { target: string; resolve: () => void } | null = null;

  constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (target: string) => {
      const w = this.#waiting;
      if (w && w.target === target) {
        this.#waiting = null;
        w.resolve();
      }
    });
  }

  until(t: bigint): Promise<void> {
    if (this.#waiting) throw new Error('one until() at a time');
    if (t <= process.hrtime.bigint()) return Promise.resolve();
    const target = String(t);
    return new Promise<void>((resolve) => {
      this.#waiting = { target, resolve };
      this.#worker.postMessage(target);
    });
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}

class TimerPacer implements Pacer {
  readonly kind = 'timer' as const;
  until(t: bigint): Promise<void> {
    return new Promise<void>((resolve) => {
      const tick = () => {
        const ms = Number(t - process.hrtime.bigint()) / 1e6;
        if (ms <= 0) resolve();
        else setTimeout(tick, Math.max(1, Math.floor(ms)));
      };
      tick();
    });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A pacer of `kind` (BERTH_BENCH_PACER, else 'worker'), its worker started and answering before this resolves. */
export async function openPacer(kind: PacerKind = pacerKindFromEnv()): Promise<Pacer> {
  if (kind === 'timer') return new TimerPacer();
  const worker = new Worker(WORKER_SOURCE, { eval: true });
  const pacer = new WorkerPacer(worker);
  await pacer.until(process.hrtime.bigint() + 1_000_000n); // the worker is up
  return pacer;
}

export function pacerKindFromEnv(): PacerKind {
  const v = process.env.BERTH_BENCH_PACER ?? 'worker';
  if (v !== 'worker' && v !== 'timer') throw new Error(`BERTH_BENCH_PACER must be worker or timer, not ${v}`);
  return v;
}
