/**
 * The Kafka TCP listener: accepts connections within the configured limits (in total and per client address)
 * and, on shutdown, stops accepting, lets in-flight requests finish, then closes every connection.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { Connection, type ConnectionLimits, type Dispatch } from './connection.js';
import type { SendCounters, ZeroCopySend } from './response-writer.js';

export interface ServerOptions {
  host: string;
  port: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  limits: ConnectionLimits;
  dispatch: Dispatch;
  zeroCopySend: ZeroCopySend | null;
  counters: SendCounters;
  log: Logger;
}

export class KafkaServer {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private readonly perIp = new Map<string, number>();
  /** Connections refused for being over a limit, for metrics. */
  refused = 0;

  constructor(private readonly opts: ServerOptions) {
    this.server = createServer({ noDelay: true }, (socket) => this.onConnection(socket));
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: this.opts.host, port: this.opts.port }, () => {
        this.server.off('error', reject);
        const addr = this.server.address();
        if (addr === null || typeof addr === 'string') return reject(new Error('listener has no TCP address'));
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  /** Stops accepting, waits (up to timeoutMs) for in-flight requests to be answered, then closes everything. */
  async close(timeoutMs = 10_000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.connections) c.stopReading();
    await Promise.race([
      Promise.all([...this.connections].map((c) => c.drain())),
      new Promise((r) => setTimeout(r, timeoutMs).unref()),
    ]);
    for (const c of this.connections) c.close('broker shutting down');
    await Promise.all([...this.connections].map((c) => c.closedPromise));
    await closed;
  }

  private onConnection(socket: Socket): void {
    const ip = socket.remoteAddress ?? '';
    const fromIp = this.perIp.get(ip) ?? 0;
    if (this.connections.size >= this.opts.maxConnections || fromIp >= this.opts.maxConnectionsPerIp) {
      this.refused++;
      this.opts.log.warn({ remote: ip, total: this.connections.size, fromIp }, 'connection refused: limit reached');
      socket.destroy();
      return;
    }
    this.perIp.set(ip, fromIp + 1);
    const conn = new Connection(
      socket,
      this.opts.dispatch,
      this.opts.limits,
      this.opts.log,
      this.opts.zeroCopySend,
      this.opts.counters,
    );
    this.connections.add(conn);
    void conn.closedPromise.then(() => {
      this.connections.delete(conn);
      const n = (this.perIp.get(ip) ?? 1) - 1;
      if (n <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, n);
    });
  }
}
