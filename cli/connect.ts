/**
 * Connecting the CLI to a broker: `--bootstrap host:port[,host:port...]` (default BERTH_BOOTSTRAP, else
 * localhost:9092), tried in order until one answers.
 */
import type { Command } from 'commander';
import { CliError, EXIT_FAILURE, EXIT_USAGE } from './cli-util.js';
import { KafkaClient } from './kafka-client.js';

export interface ConnectOptions {
  bootstrap?: string;
  timeoutMs?: string;
}

export const DEFAULT_BOOTSTRAP = 'localhost:9092';

/** Adds --bootstrap, --timeout-ms and --json to a command that talks to a broker. */
export function brokerOptions(cmd: Command): Command {
  return cmd
    .option('-b, --bootstrap <servers>', 'host:port of a broker, comma-separated (env BERTH_BOOTSTRAP)')
    .option('--timeout-ms <ms>', 'request timeout', '30000')
    .option('--json', 'machine-readable output');
}

export function parseBootstrap(value: string): Array<{ host: string; port: number }> {
  return value.split(',').map((s) => {
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(s.trim());
    if (!m || Number(m[2]) > 65535) throw new CliError(`--bootstrap expects host:port, got "${s.trim()}"`, EXIT_USAGE);
    return { host: m[1], port: Number(m[2]) };
  });
}

export async function connectBroker(opts: ConnectOptions): Promise<KafkaClient> {
  const servers = parseBootstrap(opts.bootstrap ?? (process.env.BERTH_BOOTSTRAP || DEFAULT_BOOTSTRAP));
  const requestTimeoutMs = Number(opts.timeoutMs ?? 30000);
  if (!Number.isSafeInteger(requestTimeoutMs) || requestTimeoutMs <= 0)
    throw new CliError(`--timeout-ms expects a positive integer, got "${opts.timeoutMs}"`, EXIT_USAGE);
  const failures: string[] = [];
  for (const s of servers) {
    try {
      return await KafkaClient.connect({ ...s, clientId: 'berth-cli', requestTimeoutMs });
    } catch (err) {
      failures.push(`${s.host}:${s.port}: ${(err as Error).message}`);
    }
  }
  throw new CliError(`cannot connect to the broker (${failures.join('; ')})`, EXIT_FAILURE);
}

/** Runs `fn` with a connected client and closes it afterwards. */
export async function withClient<T>(opts: ConnectOptions, fn: (c: KafkaClient) => Promise<T>): Promise<T> {
  const client = await connectBroker(opts);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}
