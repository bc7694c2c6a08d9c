// CheckpointWriter: checkpoint files written off the event loop, one write of a file at a time, the newest text
// winning, every caller told once its text (or a newer one) is durable, failures reported to the callers they hit.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointWriter } from '../../../storage/checkpoint-writer.js';
import { StorageError } from '../../../storage/storage-error.js';
import { removeDir, tempDir } from './helpers/engines.js';

describe('CheckpointWriter', () => {
  let dir = '';
  afterEach(() => {
    if (dir) removeDir(dir);
    dir = '';
  });

  it('collapses writes asked for during a write into one write of the newest text', async () => {
    dir = tempDir();
    const file = path.join(dir, 'recovery-point-offset-checkpoint');
    const writer = new CheckpointWriter();
    // Each caller, once told, must find its own text or a newer one in the file, never an older one.
    const seen: string[] = [];
    const asks = ['0\n1\nt 0 1\n', '0\n1\nt 0 2\n', '0\n1\nt 0 3\n', '0\n1\nt 0 4\n'].map((body, i) =>
      writer.write(file, body).then(() => {
        seen[i] = fs.readFileSync(file, 'utf8');
      }),
    );
    await Promise.all(asks);
    expect(seen[0]).toMatch(/t 0 [1-4]\n$/);
    // The three asked for while the first was in flight share one write: the newest.
    expect(seen.slice(1)).toEqual(['0\n1\nt 0 4\n', '0\n1\nt 0 4\n', '0\n1\nt 0 4\n']);
    expect(fs.readFileSync(file, 'utf8')).toBe('0\n1\nt 0 4\n');
    expect(fs.existsSync(`${file}.tmp`)).toBe(false);
  });

  it('never lets two writes of one file overlap, however the asks interleave', async () => {
    dir = tempDir();
    const file = path.join(dir, 'log-start-offset-checkpoint');
    const writer = new CheckpointWriter();
    const done: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      done.push(writer.write(file, `0\n1\nt 0 ${i}\n`));
      // Some asks from later turns and microtasks, landing between one write's end and the next one's start.
      if (i % 7 === 0) await Promise.resolve();
      if (i % 11 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(done);
    await writer.settled();
    expect(fs.readFileSync(file, 'utf8')).toBe('0\n1\nt 0 49\n');
    expect(fs.existsSync(`${file}.tmp`)).toBe(false);
  });

  it('rejects the callers of a failed write with a StorageError and writes again when asked', async () => {
    dir = tempDir();
    const sub = path.join(dir, 'gone');
    const file = path.join(sub, 'recovery-point-offset-checkpoint');
    const writer = new CheckpointWriter();
    const failed = writer.write(file, '0\n0\n');
    await expect(failed).rejects.toBeInstanceOf(StorageError);
    await expect(failed).rejects.toMatchObject({ path: file });
    fs.mkdirSync(sub);
    await writer.write(file, '0\n1\nt 0 7\n');
    expect(fs.readFileSync(file, 'utf8')).toBe('0\n1\nt 0 7\n');
  });

  it('keeps the event loop turning while the fsyncs wait for the disk', async () => {
    dir = tempDir();
    const writer = new CheckpointWriter();
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    const body = `0\n1000\n${Array.from({ length: 1000 }, (_, i) => `topic-${i % 10} ${i} ${i * 1000}`).join('\n')}\n`;
    const started = turns;
    const write = writer.write(path.join(dir, 'recovery-point-offset-checkpoint'), body);
    // Synchronously nothing was written: the promise is pending and the file absent until the thread pool is done.
    expect(fs.existsSync(path.join(dir, 'recovery-point-offset-checkpoint'))).toBe(false);
    await write;
    clearInterval(ticker);
    expect(turns).toBeGreaterThan(started);
  });
});
