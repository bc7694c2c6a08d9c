/**
 * Runs the built `berth` command as a user would (`node dist/cli/berth.js ...`). Build first:
 * `npx tsc -p tsconfig.json` (npm test does).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const BERTH = resolve('dist/cli/berth.js');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runBerth(
  args: string[],
  opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RunResult> {
  if (!existsSync(BERTH)) throw new Error(`${BERTH} is missing: run npx tsc -p tsconfig.json first`);
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BERTH, ...args], {
      env: { ...process.env, BERTH_BOOTSTRAP: '', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}
