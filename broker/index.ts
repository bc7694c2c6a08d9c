/**
 * Berth as a library: `startBroker()` runs a real broker inside the calling process (no Docker, no JVM), on a free
 * port and a temporary data directory unless told otherwise.
 *
 *   const broker = await startBroker();
 *   // new Kafka({ brokers: [broker.bootstrap] }) ...
 *   await broker.stop();
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Broker } from './broker.js';
import { BrokerConfig } from './config.js';
import { createLogger, silentLogger } from './logger.js';

export interface StartBrokerOptions {
  /** Data directory; a fresh temporary one (removed by stop()) when omitted. */
  dataDir?: string;
  /** Kafka listener port; 0 (the default here) picks a free one. */
  port?: number;
  host?: string;
  /** Any other setting, by its Kafka property name (e.g. 'log.segment.bytes'). */
  config?: Record<string, string | number | boolean>;
  /** A pino logger, or a level for a new one; silent by default. */
  logger?: Logger | string;
}

export interface RunningBroker {
  /** host:port for a client's bootstrap servers. */
  readonly bootstrap: string;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly broker: Broker;
  stop(): Promise<void>;
}

export async function startBroker(opts: StartBrokerOptions = {}): Promise<RunningBroker> {
  const tempDir = opts.dataDir ? null : mkdtempSync(join(tmpdir(), 'berth-'));
  const dataDir = opts.dataDir ?? tempDir!;
  const values = new Map<string, string>([
    ['log.dirs', dataDir],
    ['port', String(opts.port ?? 0)],
    ['host', opts.host ?? '127.0.0.1'],
    // An embedded broker has no admin API unless asked ('admin.port': 0 picks a free port; broker.adminPort).
    ['admin.port', '-1'],
  ]);
  for (const [k, v] of Object.entries(opts.config ?? {})) values.set(k, String(v));
  const config = new BrokerConfig([{ source: 'override', values }]);
  const log = typeof opts.logger === 'object' ? opts.logger : opts.logger ? createLogger(opts.logger) : silentLogger();
  const broker = await Broker.start(config, log);
  const host = broker.advertisedEndpoint(null).host;
  return {
    bootstrap: `${host}:${broker.port}`,
    host,
    port: broker.port,
    dataDir,
    broker,
    async stop() {
      await broker.stop();
      if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    },
  };
}

export { Broker } from './broker.js';
export { BrokerConfig, brokerConfigDefs, ConfigError } from './config.js';
