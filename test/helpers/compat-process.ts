/**
 * Runs an external client (kcat, python) to completion with a hard timeout, feeding stdin and collecting stdout and
 * stderr as Buffers. A run that hits the timeout is killed and reported as such, so a hung client fails its test
 * instead of the whole suite.
 */
import { spawn, spawnSync } from 'node:child_process';

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

// A broker in a child process: shared with the benchmarks (the kill rounds), so it lives in bench/.
export { type BerthProcess, spawnBerth } from '../../bench/berth-process.js';
