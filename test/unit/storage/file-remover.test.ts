// FileRemover: deleted segments and partition directories removed off the event loop, a large file cut a chunk at a
// time, one removal at a time over the whole data root, and a stop that leaves the rest for the next start.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FileRemover } from '../../../storage/file-remover.js';
import { removeDir, tempDir } from './helpers/engines.js';

const MiB = 1024 * 1024;

/** A file of `size` bytes with real blocks (not sparse), so each cut frees something. */
function writeFile(file: string, size: number): void {
  fs.writeFileSync(file, Buffer.alloc(size, 0x61));
}

describe('FileRemover', () => {
  let dir = '';
  afterEach(() => {
    if (dir) removeDir(dir);
    dir = '';
  });

  it('cuts a file larger than a chunk down one chunk per step, then unlinks it', async () => {
    dir = tempDir();
    const file = path.join(dir, '00000000000000000000.log.deleted');
    writeFile(file, 5 * MiB + 1000);
    const remover = new FileRemover({ chunkBytes: MiB, intervalMs: 25 });
    const sizes = new Set<number>();
    const watching = setInterval(() => {
      if (fs.existsSync(file)) sizes.add(fs.statSync(file).size);
    }, 5);
    try {
      expect(await remover.remove(file)).toBe(true);
    } finally {
      clearInterval(watching);
    }
    expect(fs.existsSync(file)).toBe(false);
    expect(remover.steps).toBe(5);
    expect(remover.bytesRemoved).toBe(5 * MiB + 1000);
    // Sizes seen on the way are the original less whole chunks, never anything else.
    for (const s of sizes) expect((5 * MiB + 1000 - s) % MiB).toBe(0);
    expect([...sizes].filter((s) => s < 5 * MiB + 1000).length).toBeGreaterThanOrEqual(2);
  });

  it('removes read-only (sealed) segments, small files at once, and whole directories', async () => {
    dir = tempDir();
    const partition = path.join(dir, 't-0.0123456789abcdef0123456789abcdef-delete');
    fs.mkdirSync(path.join(partition, 'nested'), { recursive: true });
    writeFile(path.join(partition, '00000000000000000000.log'), 3 * MiB);
    fs.chmodSync(path.join(partition, '00000000000000000000.log'), 0o444);
    writeFile(path.join(partition, '00000000000000000000.index'), 100);
    writeFile(path.join(partition, 'nested', 'x'), 10);
    const remover = new FileRemover({ chunkBytes: MiB, intervalMs: 0 });
    expect(await remover.remove(partition)).toBe(true);
    expect(fs.existsSync(partition)).toBe(false);
    expect(remover.steps).toBe(2);
    expect(remover.bytesRemoved).toBe(3 * MiB + 110);
    // Nothing there is nothing to do.
    expect(await remover.remove(partition)).toBe(true);
  });

  it('with chunkBytes 0 removes whole files without steps', async () => {
    dir = tempDir();
    const file = path.join(dir, 'big');
    writeFile(file, 3 * MiB);
    const remover = new FileRemover({ chunkBytes: 0 });
    expect(await remover.remove(file)).toBe(true);
    expect(fs.existsSync(file)).toBe(false);
    expect(remover.steps).toBe(0);
  });

  it('removes one thing at a time, in the order asked, and idle() waits for all of them', async () => {
    dir = tempDir();
    const [a, b] = ['a', 'b'].map((n) => path.join(dir, n));
    writeFile(a, 4 * MiB);
    writeFile(b, 4 * MiB);
    const remover = new FileRemover({ chunkBytes: MiB, intervalMs: 30 });
    const order: string[] = [];
    const ra = remover.remove(a).then(() => order.push('a'));
    const rb = remover.remove(b).then(() => order.push('b'));
    // While the first is being cut, the second is untouched.
    await vi.waitFor(() => expect(fs.statSync(a).size).toBeLessThan(4 * MiB), { interval: 2 });
    expect(fs.statSync(b).size).toBe(4 * MiB);
    await remover.idle();
    expect(fs.existsSync(a) || fs.existsSync(b)).toBe(false);
    await Promise.all([ra, rb]);
    expect(order).toEqual(['a', 'b']);
  });

  it('stop() ends after the current step and leaves the rest on disk', async () => {
    dir = tempDir();
    const [a, b] = ['a', 'b'].map((n) => path.join(dir, n));
    writeFile(a, 8 * MiB);
    writeFile(b, 2 * MiB);
    const remover = new FileRemover({ chunkBytes: MiB, intervalMs: 30 });
    const ra = remover.remove(a);
    const rb = remover.remove(b);
    await vi.waitFor(() => expect(fs.statSync(a).size).toBeLessThan(8 * MiB), { interval: 2 });
    await remover.stop();
    expect(await ra).toBe(false);
    expect(await rb).toBe(false);
    const left = fs.statSync(a).size;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(8 * MiB);
    expect(fs.statSync(b).size).toBe(2 * MiB);
    // Nothing more happens, and new asks are refused.
    await new Promise((r) => setTimeout(r, 60));
    expect(fs.statSync(a).size).toBe(left);
    expect(await remover.remove(b)).toBe(false);
    expect(fs.existsSync(b)).toBe(true);
  });

  it('reports a removal that fails, and goes on with the next', async () => {
    dir = tempDir();
    const file = path.join(dir, 'plain');
    writeFile(file, 10);
    const other = path.join(dir, 'other');
    writeFile(other, 10);
    const warnings: string[] = [];
    const remover = new FileRemover({ warn: (m) => warnings.push(m) });
    // A path under a regular file: lstat fails with ENOTDIR.
    expect(await remover.remove(path.join(file, 'child'))).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(path.join(file, 'child'));
    expect(warnings[0]).toContain('ENOTDIR');
    expect(await remover.remove(other)).toBe(true);
    expect(fs.existsSync(other)).toBe(false);
  });
});
