/**
 * Sends fuzz cases to a real broker over real sockets and classifies what happens to each:
 * - the case's frames are all complete: an ApiVersions "sentinel" request follows them on the same connection, so
 *   the sentinel's response (answered in order) proves every response before it has arrived. Each response must
 *   carry the correlation id of a request of the case and decode completely with that request's codec. Otherwise
 *   the connection must be closed; neither within the timeout is a stuck connection;
 * - a frame size the broker must refuse (below a header, above socket.request.max.bytes): the connection is closed;
 * - a frame that is never completed: the broker must time it out and close (request.frame.timeout.ms). Such
 *   connections are parked and checked in the background while the next cases run.
 * Cases come from a PRNG seeded per case index, so any case can be replayed from (seed, index).
 */
import { openSync, writeSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { decodeResponse, encodeRequestFrame } from '../../protocol/frames.js';
import { rng } from '../unit/protocol/codec-fixtures.js';
import { type FuzzCase, nextCase } from './mutators.js';
import type { Seed } from './seeds.js';

export interface FuzzOptions {
  host: string;
  port: number;
  seed: number;
  cases: number;
  concurrency: number;
  seeds: readonly Seed[];
  /** The broker's socket.request.max.bytes and request.frame.timeout.ms. */
  maxRequestBytes: number;
  frameTimeoutMs: number;
  /** How long a complete case may take to be answered or closed. */
  responseTimeoutMs: number;
  /** The broker's served versions by api key (decides how an ApiVersions response is decoded). */
  served: ReadonlyMap<number, { min: number; max: number }>;
}

export interface ApiTally {
  cases: number;
  responses: number;
  closes: number;
}

export interface FuzzStats {
  cases: number;
  framesSent: number;
  responses: number;
  /** Cases whose connection the broker closed (bad frames, undecodable requests, bad sizes, timed-out frames). */
  closes: number;
  /** Of those, connections closed for a frame that never completed (the frame timeout). */
  timedOutFrames: number;
  /** Legitimately long requests (Fetch long polls, group joins) that outlasted the response timeout. */
  longWaits: number;
  byApi: Map<string, ApiTally>;
  byMutation: Map<string, number>;
  failureCount: number;
  failures: string[];
  maxRssBytes: number;
  maxHeapUsedBytes: number;
}

const SENTINEL_BASE = 0x5e000000;
/** Requests that may legitimately wait longer than the response timeout. */
const LONG_WAIT_APIS = new Set([1, 11, 14, 68]);

type Split = { kind: 'complete'; frames: Buffer[] } | { kind: 'badSize' | 'partial'; frames: Buffer[] };

/** What the broker's frame decoder makes of these bytes (size below 10 or above the limit closes). */
export function splitWire(wire: Buffer, maxRequestBytes: number): Split {
  const frames: Buffer[] = [];
  let pos = 0;
  while (pos < wire.length) {
    if (wire.length - pos < 4) return { kind: 'partial', frames };
    const size = wire.readInt32BE(pos);
    if (size < 10 || size > maxRequestBytes) return { kind: 'badSize', frames };
    if (wire.length - pos - 4 < size) return { kind: 'partial', frames };
    frames.push(wire.subarray(pos + 4, pos + 4 + size));
    pos += 4 + size;
  }
  return { kind: 'complete', frames };
}

class FuzzSocket {
  private buffered: Buffer = Buffer.alloc(0);
  readonly responses: Buffer[] = [];
  closed = false;
  badFrame: string | null = null;
  private wake: (() => void) | null = null;

  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffered = this.buffered.length === 0 ? d : Buffer.concat([this.buffered, d]);
      while (this.buffered.length >= 4) {
        const size = this.buffered.readInt32BE(0);
        if (size < 4 || size > 64 * 1024 * 1024) {
          this.badFrame = `response frame size ${size}`;
          socket.destroy();
          break;
        }
        if (this.buffered.length < 4 + size) break;
        this.responses.push(this.buffered.subarray(4, 4 + size));
        this.buffered = this.buffered.subarray(4 + size);
      }
      this.notify();
    });
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
    socket.on('error', () => undefined);
  }

  static open(host: string, port: number): Promise<FuzzSocket> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port, noDelay: true });
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new FuzzSocket(s));
      });
      s.once('error', reject);
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Waits until `done()` holds or the socket closes, at most timeoutMs; true unless it timed out. */
  async until(done: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!done() && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    return true;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function sentinel(correlationId: number): Buffer {
  return encodeRequestFrame({ apiKey: 18, apiVersion: 0, correlationId, clientId: 'sentinel' }, {});
}

function tally(stats: FuzzStats, api: string): ApiTally {
  let t = stats.byApi.get(api);
  if (!t) {
    t = { cases: 0, responses: 0, closes: 0 };
    stats.byApi.set(api, t);
  }
  return t;
}

function describeCase(index: number, c: FuzzCase): string {
  const hex = c.wire.subarray(0, 64).toString('hex');
  return `case ${index} (${c.mutation} of ${c.seed.api} v${c.seed.version} ${c.seed.origin}) wire[${c.wire.length}] ${hex}`;
}

export async function runFuzz(opts: FuzzOptions): Promise<FuzzStats> {
  const stats: FuzzStats = {
    cases: 0,
    framesSent: 0,
    responses: 0,
    closes: 0,
    timedOutFrames: 0,
    longWaits: 0,
    byApi: new Map(),
    byMutation: new Map(),
    failureCount: 0,
    failures: [],
    maxRssBytes: 0,
    maxHeapUsedBytes: 0,
  };
  const fail = (msg: string) => {
    stats.failureCount++;
    if (stats.failures.length < 20) stats.failures.push(msg);
  };
  const sample = () => {
    const m = process.memoryUsage();
    stats.maxRssBytes = Math.max(stats.maxRssBytes, m.rss);
    stats.maxHeapUsedBytes = Math.max(stats.maxHeapUsedBytes, m.heapUsed);
  };
  const sampler = setInterval(sample, 100);
  const batchSeeds = opts.seeds.filter((s) => s.batchAt >= 0);
  // BERTH_FUZZ_TRACE=<file>: each case is written (synchronously) before it is sent, to find one that hangs.
  const trace = process.env.BERTH_FUZZ_TRACE ? openSync(process.env.BERTH_FUZZ_TRACE, 'w') : null;
  const parked = new Set<Promise<void>>();
  let next = 0;

  // A connection left with half a frame must be closed by the broker's frame timeout.
  const park = (sock: FuzzSocket, index: number, c: FuzzCase) => {
    const p = sock
      .until(() => false, opts.frameTimeoutMs + opts.responseTimeoutMs)
      .then(() => {
        if (sock.closed) {
          stats.closes++;
          stats.timedOutFrames++;
          tally(stats, c.seed.api).closes++;
        } else fail(`${describeCase(index, c)}: a partial frame was not timed out`);
        sock.destroy();
        parked.delete(p);
      });
    parked.add(p);
  };

  const check = (index: number, c: FuzzCase, frames: Buffer[], responses: Buffer[]) => {
    let cursor = 0;
    for (const res of responses) {
      const correlationId = res.readInt32BE(0);
      while (cursor < frames.length && (frames[cursor].length < 8 || frames[cursor].readInt32BE(4) !== correlationId))
        cursor++;
      if (cursor === frames.length) {
        fail(`${describeCase(index, c)}: response with correlation id ${correlationId} answers no request`);
        return;
      }
      const req = frames[cursor++];
      const apiKey = req.readInt16BE(0);
      let version = req.readInt16BE(2);
      const served = opts.served.get(apiKey);
      if (apiKey === 18 && served && (version < served.min || version > served.max)) version = 0;
      try {
        const decoded = decodeResponse(apiKey, version, res);
        if (decoded.trailingBytes !== 0) throw new Error(`${decoded.trailingBytes} bytes after the body`);
      } catch (err) {
        fail(`${describeCase(index, c)}: malformed response to api ${apiKey} v${version}: ${(err as Error).message}`);
      }
      stats.responses++;
      tally(stats, c.seed.api).responses++;
    }
  };

  const worker = async () => {
    let sock: FuzzSocket | null = null;
    for (;;) {
      const index = next++;
      if (index >= opts.cases) break;
      const rand = rng((Math.imul(opts.seed, 0x9e3779b1) ^ index) >>> 0);
      const c = nextCase(rand, opts.seeds, batchSeeds);
      if (trace !== null) writeSync(trace, `${describeCase(index, c)}\n`);
      stats.cases++;
      tally(stats, c.seed.api).cases++;
      stats.byMutation.set(c.mutation, (stats.byMutation.get(c.mutation) ?? 0) + 1);
      if (!sock || sock.closed) {
        sock?.destroy();
        sock = await FuzzSocket.open(opts.host, opts.port);
      }
      const split = splitWire(c.wire, opts.maxRequestBytes);
      stats.framesSent += split.frames.length;
      if (split.kind === 'partial') {
        sock.socket.write(c.wire);
        park(sock, index, c);
        sock = null;
        continue;
      }
      const s: FuzzSocket = sock;
      const skip = s.responses.length;
      const sentinelId = SENTINEL_BASE + (index & 0xffffff);
      const isSentinel = (f: Buffer) => f.readInt32BE(0) === sentinelId;
      if (split.kind === 'badSize') {
        s.socket.write(c.wire);
      } else {
        s.socket.write(Buffer.concat([c.wire, sentinel(sentinelId)]));
      }
      const settled = await s.until(
        () => split.kind === 'complete' && s.responses.slice(skip).some(isSentinel),
        opts.responseTimeoutMs,
      );
      const got = s.responses.splice(skip);
      const sentinelAt = got.findIndex(isSentinel);
      check(index, c, split.frames, sentinelAt >= 0 ? got.slice(0, sentinelAt) : got);
      if (s.badFrame) fail(`${describeCase(index, c)}: ${s.badFrame}`);
      if (!settled) {
        if (split.frames.some((f) => LONG_WAIT_APIS.has(f.readInt16BE(0)))) stats.longWaits++;
        else fail(`${describeCase(index, c)}: neither answered nor closed within ${opts.responseTimeoutMs} ms`);
        s.destroy();
        sock = null;
      } else if (sentinelAt < 0) {
        stats.closes++;
        tally(stats, c.seed.api).closes++;
        sock = null;
      }
    }
    sock?.destroy();
  };

  try {
    await Promise.all(Array.from({ length: opts.concurrency }, () => worker()));
    while (parked.size > 0) await Promise.all([...parked]);
  } finally {
    clearInterval(sampler);
    sample();
  }
  return stats;
}

/** One line for the lead's report. */
export function summarize(mode: string, seed: number, stats: FuzzStats): string {
  const apis = [...stats.byApi.entries()]
    .sort((a, b) => b[1].cases - a[1].cases)
    .map(([api, t]) => `${api}=${t.cases}/${t.responses}/${t.closes}`)
    .join(' ');
  return (
    `fuzz ${mode} seed=${seed}: ${stats.cases} cases, ${stats.framesSent} frames, ${stats.responses} responses, ` +
    `${stats.closes} closes (${stats.timedOutFrames} frame timeouts), ${stats.longWaits} long waits, ` +
    `${stats.failureCount} failures, max rss ${Math.round(stats.maxRssBytes / 2 ** 20)} MiB, ` +
    `max heap ${Math.round(stats.maxHeapUsedBytes / 2 ** 20)} MiB; by api (cases/responses/closes): ${apis}`
  );
}
