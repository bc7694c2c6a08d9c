/**
 * Structured logs with pino: JSON lines by default (for collectors), readable lines when stdout is a terminal
 * or BERTH_LOG_PRETTY=1.
 */
import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

export function createLogger(
  level: string,
  opts: { pretty?: boolean; destination?: NodeJS.WritableStream } = {},
): Logger {
  const pretty = opts.pretty ?? (process.env.BERTH_LOG_PRETTY === '1' || (process.stdout.isTTY && !opts.destination));
  const base = { level, base: { name: 'berth' } };
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
