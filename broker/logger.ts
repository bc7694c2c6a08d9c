/**
 * Structured logs with pino: JSON lines by default (for collectors), readable lines when stdout is a terminal
 * or BERTH_LOG_PRETTY=1 (BERTH_LOG_PRETTY=0 forces JSON). Every line carries `name: "berth"`, the pid and the
 * host name; modules add their context with child loggers or fields (`{component: 'admin'}`, `{conn, remote}`),
 * and errors go under `err` so that pino serializes their message, type and stack.
 */
import { hostname } from 'node:os';
import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

export function createLogger(
  level: string,
  opts: { pretty?: boolean; destination?: NodeJS.WritableStream } = {},
): Logger {
  const env = process.env.BERTH_LOG_PRETTY;
  const pretty = opts.pretty ?? (env === '1' || (env !== '0' && process.stdout.isTTY === true && !opts.destination));
  const base = { level, base: { name: 'berth', pid: process.pid, hostname: hostname() } };
  if (pretty) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  return opts.destination ? pino(base, opts.destination as pino.DestinationStream) : pino(base);
}

/** A logger that drops everything (tests, embedded brokers that do not want output). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
