/**
 * A broker in a child process, started from dist/ (so `npx tsc -p tsconfig.json` must have run): for tests that
 * kill it with SIGKILL, restart it on the same port, or whose client blocks the test's own event loop (synchronous
 * commits of a native client would deadlock an in-process broker).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export interface ChildBroker {
  readonly port: number;
  readonly bootstrap: string;
  readonly process: ChildProcess;
  /** SIGKILL: no shutdown work at all, as a crash. */
  kill(): Promise<void>;
  /** SIGTERM: the broker stops cleanly (broker.stop()) and the process exits. */
  stop(): Promise<void>;
}

export async function startChildBroker(opts: {
  dataDir: string;
  port?: number;
  config?: Record<string, string | number>;
}): Promise<ChildBroker> {
  const entry = resolve('dist/broker/index.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npx tsc -p tsconfig.json first`);
  const config = Object.fromEntries(Object.entries(opts.config ?? {}).map(([k, v]) => [k, String(v)]));
  const script = [
    `const { startBroker } = await import(${JSON.stringify(entry)});`,
    `const b = await startBroker({ dataDir: ${JSON.stringify(opts.dataDir)}, port: ${opts.port ?? 0},`,
    `  config: ${JSON.stringify(config)} });`,
    'process.on("SIGTERM", () => b.stop().then(() => process.exit(0), () => process.exit(1)));',
    'process.stdout.write("PORT " + b.port + "\\n");',
  ].join('\n');
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const port = await new Promise<number>((res, rej) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) res(Number(m[1]));
    });
    child.once('exit', (code, signal) => rej(new Error(`child broker exited with ${code ?? signal}`)));
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    port,
    bootstrap: `127.0.0.1:${port}`,
    process: child,
    async kill() {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (alive()) child.kill('SIGTERM');
      await exited;
    },
  };
}
