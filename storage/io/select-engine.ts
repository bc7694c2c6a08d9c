/**
 * Chooses the I/O engine at start-up: io_uring when asked for (or 'auto') and it can be created, otherwise the
 * libuv pool engine. The choice and its reason are logged once and returned so the broker can export them.
 *
 * The uring module (`./uring-engine.js`, written against the native addon) is imported dynamically and may export
 * `createUringEngine(opts)` / `openUringEngine(opts)` (sync or async) or a `UringEngine` class.
 */
import { FAULT_INJECTION_ENV, FaultyEngine } from './faulty-engine.js';
import type { IoEngine, IoEngineName } from './io-engine.js';
import { openSyncEngine } from './sync-engine.js';

export interface EngineLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface SelectedEngine {
  engine: IoEngine;
  name: IoEngineName;
  /** Why this engine: 'requested', or why io_uring was not used. */
  reason: string;
}

export interface OpenIoEngineOptions {
  engine?: 'uring' | 'sync' | 'auto';
  logger?: EngineLogger;
  /** Passed to the uring engine's factory (ring entries, buffer pool sizes). */
  uring?: Record<string, unknown>;
}

type UringModule = {
  createUringEngine?: (opts?: Record<string, unknown>) => IoEngine | Promise<IoEngine>;
  openUringEngine?: (opts?: Record<string, unknown>) => IoEngine | Promise<IoEngine>;
  UringEngine?: new (opts?: Record<string, unknown>) => IoEngine;
};

/** Creates the io_uring engine, or throws why it cannot be. */
export async function createUringEngine(opts: Record<string, unknown> = {}): Promise<IoEngine> {
  const spec = './uring-engine.js';
  const mod = (await import(spec)) as UringModule;
  const factory = mod.createUringEngine ?? mod.openUringEngine;
  if (factory) return await factory(opts);
  if (mod.UringEngine) return new mod.UringEngine(opts);
  throw new Error('uring-engine.js exports no createUringEngine, openUringEngine or UringEngine');
}

let logged = false;

export async function openIoEngine(opts: OpenIoEngineOptions = {}): Promise<SelectedEngine> {
  const wanted = opts.engine ?? 'auto';
  let selected: SelectedEngine;
  if (wanted === 'sync') {
    selected = { engine: await openSyncEngine(), name: 'sync', reason: 'requested' };
  } else {
    try {
      const engine = await createUringEngine(opts.uring);
      selected = { engine, name: engine.name, reason: wanted === 'uring' ? 'requested' : 'available' };
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      selected = { engine: await openSyncEngine(), name: 'sync', reason: `io_uring unavailable: ${why}` };
    }
  }
  if (process.env[FAULT_INJECTION_ENV] === '1') {
    // Test-only: a pass-through wrapper whose plan tests set (faulty-engine.ts). Never reachable from a client.
    selected = { ...selected, engine: new FaultyEngine(selected.engine) };
    opts.logger?.warn(`storage fault injection is enabled (${FAULT_INJECTION_ENV}=1): for tests only`);
  }
  if (opts.logger && !logged) {
    logged = true;
    const line = `storage I/O engine: ${selected.name} (${selected.reason})`;
    if (wanted === 'uring' && selected.name !== 'uring') opts.logger.warn(line);
    else opts.logger.info(line);
  }
  return selected;
}
