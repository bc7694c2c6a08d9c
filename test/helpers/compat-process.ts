/**
 * Runs an external client (kcat, python) to completion with a hard timeout, feeding stdin and collecting stdout and
 * stderr as Buffers. A run that hits the timeout is killed and reported as such, so a hung client fails its test
 * instead of the whole suite.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export function run(command: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 20_000);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString(), timedOut });
    });
    // A client that exits before reading all of stdin must not crash the test with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Like run(), but throws with the client's stderr unless it exited 0. */
export async function runOk(command: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const res = await run(command, args, opts);
  if (res.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} ${res.timedOut ? 'timed out' : `exited ${res.code ?? res.signal}`}:\n${res.stderr}`,
    );
  }
  return res;
}

/** True when `command` can be started (used to fail clearly, not skip, when a compat client is missing). */
export function commandWorks(command: string, args: string[]): boolean {
  const res = spawnSync(command, args, { stdio: 'ignore', timeout: 10_000 });
  return res.status === 0;
}

export interface BerthProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** Resolves with the exit code or signal once the process is gone. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything the broker logged so far (JSON lines). */
  output(): string;
}

const BERTH_CLI = fileURLToPath(new URL('../../dist/cli/berth.js', import.meta.url));

/**
 * Starts `node dist/cli/berth.js start` on port 0 and resolves once its "broker listening" log line says which port
 * it bound. Needs a compiled dist/ (`npx tsc -p tsconfig.json`, which `npm test` runs first).
 */
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
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`berth did not start within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    let listening = false;
    // Keeps draining stdout after start-up, so a chatty broker never blocks on a full pipe.
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (listening) return;
      for (const line of out.split('\n')) {
        if (!line.includes('"broker listening"')) continue;
        const port = (JSON.parse(line) as { port: number }).port;
        listening = true;
        clearTimeout(timer);
        resolve({ child, port, exited, output: () => out });
        return;
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`berth exited (${code ?? signal}) before listening:\n${out}`));
    });
  });
}
