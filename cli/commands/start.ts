/**
 * `berth start`: runs a broker in the foreground until SIGTERM or SIGINT, then shuts down gracefully.
 * Settings, lowest precedence first: embedded defaults, --config FILE, BERTH_* environment variables, flags.
 */
import type { Command } from 'commander';
import type { Broker as BrokerInstance } from '../../broker/broker.js';
import { BrokerConfig, ConfigError, configFromEnv, readConfigFile } from '../../broker/config.js';
import { collectSetting, EXIT_USAGE } from '../cli-util.js';

interface StartOptions {
  config?: string;
  dataDir?: string;
  port?: string;
  host?: string;
  adminPort?: string;
  logLevel?: string;
  set?: Map<string, string>;
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run a broker (data in ./berth-data, Kafka port 9092, admin port 9644 unless configured)')
    .option('-c, --config <file>', 'a properties file with Kafka setting names (e.g. log.segment.bytes=1073741824)')
    .option('-d, --data-dir <dir>', 'data directory (log.dirs)')
    .option('-p, --port <port>', 'Kafka listener port')
    .option('--host <host>', 'address to listen on')
    .option('--admin-port <port>', 'HTTP admin port (-1 disables it)')
    .option('--log-level <level>', 'trace, debug, info, warn, error or silent')
    .option('-s, --set <key=value>', 'any setting by its Kafka name; repeatable', collectSetting)
    .action(async (opts: StartOptions) => {
      let config: BrokerConfig;
      try {
        const flags = new Map<string, string>(opts.set ?? []);
        if (opts.dataDir !== undefined) flags.set('log.dirs', opts.dataDir);
        if (opts.port !== undefined) flags.set('port', opts.port);
        if (opts.host !== undefined) flags.set('host', opts.host);
        if (opts.adminPort !== undefined) flags.set('admin.port', opts.adminPort);
        if (opts.logLevel !== undefined) flags.set('log.level', opts.logLevel);
        config = new BrokerConfig([
          { source: 'file', values: opts.config ? readConfigFile(opts.config) : new Map() },
          { source: 'env', values: configFromEnv(process.env) },
          { source: 'override', values: flags },
        ]);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        console.error(`berth start: ${err.message}`);
        process.exitCode = EXIT_USAGE;
        return;
      }
      // Loaded here, not at the top: every other command starts faster without storage, native code and fastify.
      // V8's settings go in before the broker's code first runs.
      const { applyV8Flags } = await import('../../broker/v8-flags.js');
      const v8Flags = applyV8Flags(config);
      const { createLogger } = await import('../../broker/logger.js');
      const { Broker } = await import('../../broker/broker.js');
      const log = createLogger(config.string('log.level'));
      if (v8Flags.length > 0) log.info({ v8Flags }, 'V8 flags set');
      // Signals are taken from the start: one that arrives while storage recovers or the listener opens must still
      // end in a graceful stop (the broker stops as soon as it has started), never in the default kill.
      let requested: string | null = null;
      let broker: BrokerInstance | null = null;
      const shutdown = (signal: string) => {
        if (requested) return;
        requested = signal;
        log.info({ signal }, 'shutting down');
        if (broker) stopAndExit(broker);
      };
      const stopAndExit = (b: BrokerInstance) =>
        b.stop().then(
          () => process.exit(0),
          (err) => {
            log.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
      broker = await Broker.start(config, log);
      if (requested) stopAndExit(broker);
    });
}
