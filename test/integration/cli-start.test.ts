/**
 * `berth start` spawned as a user runs it: settings from --config FILE, then BERTH_* environment variables, then
 * flags, in that order of precedence; invalid settings exit 2 with a message naming the setting; JSON log lines
 * with context; the admin API up and ready; SIGTERM shuts down cleanly with exit 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ext4DiscardMount } from '../../storage/mount-info.js';
import { BERTH, runBerth } from './cli-harness.js';

interface LogLine {
  level: number;
  name: string;
  msg: string;
  [k: string]: unknown;
}

/** Starts `berth start`, resolves with the parsed log lines once the broker listens. */
function startBerth(args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; lines: LogLine[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BERTH, 'start', ...args], {
      env: { ...process.env, BERTH_LOG_PRETTY: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: LogLine[] = [];
    let buffered = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`berth start did not come up: ${stderr}`));
    }, 45_000);
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        const line = JSON.parse(buffered.slice(0, nl)) as LogLine;
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        if (line.msg === 'broker listening') {
          clearTimeout(timer);
          resolve({ child, lines });
        }
        nl = buffered.indexOf('\n');
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`berth start exited with ${code}: ${stderr}`));
    });
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

describe('berth start (spawned)', () => {
  let root: string;
  let configFile: string;

  beforeAll(() => {
    root = fs.mkdtempSync(join(tmpdir(), 'ops-cli-start-'));
    configFile = join(root, 'berth.properties');
    fs.writeFileSync(
      configFile,
      `# from the file\nlog.dirs=${join(root, 'from-file')}\nport=0\nhost=127.0.0.1\nadmin.port=-1\nnode.id=7\n`,
    );
  });

  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('takes the file, then the environment, then flags', async () => {
    const fileOnly = await startBerth(['--config', configFile], {});
    const listening = fileOnly.lines.find((l) => l.msg === 'broker listening')!;
    expect(listening.dataDir).toBe(join(root, 'from-file'));
    expect(listening.name).toBe('berth');
    expect(listening.host).toBe('127.0.0.1');
    expect(listening.port).toBeTypeOf('number');
    expect(fileOnly.lines.some((l) => l.msg.startsWith('storage engine:') && typeof l.engine === 'string')).toBe(true);
    const crcLine = fileOnly.lines.find((l) => l.msg.startsWith('crc32c:'));
    expect(['clmul512', 'clmul256', 'sse42', 'software', 'js']).toContain(crcLine?.crc32c);
    // Preallocation is off by default only where the data directory is on ext4 mounted with discard (CI's disks are).
    const preallocLine = fileOnly.lines.some((l) => l.msg.startsWith('log.preallocate: false by default here'));
    expect(preallocLine).toBe(ext4DiscardMount(join(root, 'from-file')) !== null);
    // V8's allocation-site pretenuring is off unless asked for (broker/v8-flags.ts says why).
    const v8Line = fileOnly.lines.find((l) => l.msg === 'V8 flags set');
    expect(v8Line?.v8Flags).toEqual(['--no-allocation-site-pretenuring']);
    expect(await stop(fileOnly.child)).toBe(0);

    const withEnv = await startBerth(['--config', configFile], {
      BERTH_LOG_DIRS: join(root, 'from-env'),
      BERTH_V8_ALLOCATION_SITE_PRETENURING: 'true',
    });
    expect(withEnv.lines.find((l) => l.msg === 'broker listening')!.dataDir).toBe(join(root, 'from-env'));
    expect(withEnv.lines.some((l) => l.msg === 'V8 flags set')).toBe(false);
    expect(await stop(withEnv.child)).toBe(0);

    const withFlags = await startBerth(
      ['--config', configFile, '--data-dir', join(root, 'from-flag'), '--admin-port', '0'],
      { BERTH_LOG_DIRS: join(root, 'from-env'), BERTH_NODE_ID: '9' },
    );
    expect(withFlags.lines.find((l) => l.msg === 'broker listening')!.dataDir).toBe(join(root, 'from-flag'));
    const admin = withFlags.lines.find((l) => l.msg === 'admin API listening')!;
    expect(admin.component).toBe('admin');
    const base = `http://127.0.0.1:${admin.port}`;
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: 'ok' });
    const info = (await (await fetch(`${base}/v1/broker`)).json()) as { nodeId: number; dataDir: string };
    expect(info.nodeId).toBe(9); // env over file
    expect(info.dataDir).toBe(join(root, 'from-flag'));
    expect(await stop(withFlags.child)).toBe(0);
  });

  it('exits 2 naming the bad setting, wherever it comes from', async () => {
    const cases: Array<[string[], Record<string, string>, string]> = [
      [['--config', configFile], { BERTH_PORT: 'abc' }, 'invalid setting port: expected an integer, got "abc"'],
      [
        ['--config', configFile, '--admin-port', '70000'],
        {},
        'invalid setting admin.port: 70000 is above the maximum 65535',
      ],
      [['--set', 'io.engine=fast'], {}, 'invalid setting io.engine: expected one of auto, uring, sync, got "fast"'],
      [['--config', join(root, 'missing.properties')], {}, 'invalid setting --config: cannot read'],
    ];
    for (const [args, env, message] of cases) {
      const r = await runBerth(['start', ...args], { env });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(message);
    }
    const unknown = join(root, 'unknown.properties');
    fs.writeFileSync(unknown, 'log.segmnet.bytes=100\n');
    const r = await runBerth(['start', '--config', unknown]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid setting log.segmnet.bytes: unknown setting');
  });
});
