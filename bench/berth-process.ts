/**
 * `node dist/cli/berth.js start` in a child process, for benchmarks and tests that must kill or restart a real
 * broker process. Resolves once its "broker listening" log line says which port it bound.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The compiled CLI, whether this module runs compiled (dist/bench/) or from source under vitest (bench/). */
export const BERTH_CLI = fileURLToPath(
  new URL(import.meta.url.includes('/dist/bench/') ? '../cli/berth.js' : '../dist/cli/berth.js', import.meta.url),
);

/** What a long-running broker's output is kept up to: the start-up lines, never an unbounded log. */
const MAX_OUTPUT = 1 << 20;

export interface BerthProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** Resolves with the exit code or signal once the process is gone. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What the broker logged so far (JSON lines, the first MiB). */
  output(): string;
}

export function spawnBerth(
  dataDir: string,
  settings: Record<string, string> = {},
  timeoutMs = 20_000,
): Promise<BerthProcess> {
  if (!existsSync(BERTH_CLI)) throw new Error(`${BERTH_CLI} is missing: run npx tsc -p tsconfig.json first`);
  const args = [BERTH_CLI, 'start', '--data-dir', dataDir, '--port', '0', '--host', '127.0.0.1', '--admin-port', '-1'];
  for (const [k, v] of Object.entries(settings)) args.push('--set', `${k}=${v}`);
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BERTH_LOG_PRETTY: '0' },
  });
  let out = '';
  const keep = (chunk: Buffer) => {
    if (out.length < MAX_OUTPUT) out += chunk.toString();
  };
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`berth did not start within ${timeoutMs} ms:\n${out.slice(-4000)}`));
    }, timeoutMs);
    let listening = false;
    // Keeps draining stdout after start-up, so a chatty broker never blocks on a full pipe.
    child.stdout!.on('data', (chunk: Buffer) => {
      keep(chunk);
      if (listening) return;
      for (const line of out.split('\n')) {
        if (!line.includes('"broker listening"')) continue;
        listening = true;
        clearTimeout(timer);
        resolve({ child, port: (JSON.parse(line) as { port: number }).port, exited, output: () => out });
        return;
      }
    });
    child.stderr!.on('data', keep);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      if (!listening) reject(new Error(`berth exited (${code ?? signal}) before listening:\n${out.slice(-4000)}`));
    });
  });
}
