import { execFileSync } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { isNativeError, loadNative, nativeLoadError } from '../../../native/index.js';
import { crc32cSoftware } from '../../../protocol/records/crc32c.js';
import { prng, seededBytes, tempDir } from './helpers.js';

const native = loadNative();
const linux = process.platform === 'linux';

describe('loadNative', () => {
  // One test for every platform, so that none is reported skipped: the addon is Linux-only.
  it('loads the addon on Linux and returns null elsewhere', () => {
    if (linux) {
      expect(nativeLoadError()).toBeNull();
      expect(native).not.toBeNull();
    } else {
      expect(native).toBeNull();
    }
  });
});

describe.runIf(native)('native addon', () => {
  const n = native!;
  const tmp = tempDir('addon');
  afterAll(() => tmp.remove());

  it('probe reports capabilities with the documented types', () => {
    const caps = n.probe();
    expect(typeof caps.ioUring).toBe('boolean');
    expect(typeof caps.registeredBuffers).toBe('boolean');
    expect(typeof caps.splice).toBe('boolean');
    expect(typeof caps.sendfile).toBe('boolean');
    expect(typeof caps.hardwareCrc32c).toBe('boolean');
    expect(caps.kernel).toMatch(/^\d+\.\d+/);
    if (caps.ioUring) expect(caps.reason).toBeUndefined();
    else expect(caps.reason).toMatch(/\w/);
    // sendfile has been in Linux since 2.2; only a seccomp filter could hide it.
    expect(caps.sendfile).toBe(true);
  });

  describe('crc32c', () => {
    it('matches the published check value', () => {
      expect(n.crc32c(Buffer.from('123456789'), 0, 9, 0)).toBe(0xe3069283);
    });

    it('equals crc32cSoftware for every alignment and length 0..100', () => {
      const data = seededBytes(256, 7);
      for (let start = 0; start < 16; start++) {
        for (let len = 0; len <= 100; len++) {
          expect(n.crc32c(data, start, start + len, 0)).toBe(crc32cSoftware(data, start, start + len, 0));
        }
      }
    });

    it('equals crc32cSoftware on random buffers, sub-arrays and continued checksums', () => {
      const rnd = prng(42);
      for (let i = 0; i < 200; i++) {
        const len = Math.floor(rnd() * 70_000);
        const buf = seededBytes(len, i);
        const start = Math.floor(rnd() * (len + 1));
        const end = start + Math.floor(rnd() * (len - start + 1));
        const seed = Math.floor(rnd() * 0xffffffff) >>> 0;
        expect(n.crc32c(buf, start, end, seed)).toBe(crc32cSoftware(buf, start, end, seed));
        // A view that does not start at its ArrayBuffer's first byte.
        const view = buf.subarray(start, end);
        expect(n.crc32c(view, 0, view.length, 0)).toBe(crc32cSoftware(buf, start, end, 0));
        // Checksumming in two parts continues the first part's value.
        const mid = start + Math.floor((end - start) / 2);
        expect(n.crc32c(buf, mid, end, n.crc32c(buf, start, mid, 0))).toBe(crc32cSoftware(buf, start, end, 0));
      }
    });

    it('equals crc32cSoftware around the three-stripe block size (3 x 1024 bytes) at every alignment', () => {
      const data = seededBytes(4 * 3072 + 64, 8);
      for (const base of [3072, 2 * 3072, 3 * 3072]) {
        for (let len = base - 9; len <= base + 9; len++) {
          for (let start = 0; start < 8; start++) {
            expect(n.crc32c(data, start, start + len, 0x1234)).toBe(crc32cSoftware(data, start, start + len, 0x1234));
          }
        }
      }
    });

    it('rejects a range outside the buffer', () => {
      expect(() => n.crc32c(Buffer.alloc(4), 0, 5, 0)).toThrow(RangeError);
      expect(() => n.crc32c(Buffer.alloc(4), 3, 2, 0)).toThrow(RangeError);
    });
  });

  describe('fallocateSync', () => {
    it('extends a file (mode 0) and preallocates without growing it (KEEP_SIZE)', () => {
      const fd = openSync(tmp.file('falloc'), 'w+');
      try {
        n.fallocateSync(fd, 0, 0, 1 << 20);
        expect(fstatSync(fd).size).toBe(1 << 20);
        n.fallocateSync(fd, 1, 1 << 20, 1 << 20);
        const st = fstatSync(fd);
        expect(st.size).toBe(1 << 20);
        expect(st.blocks * 512).toBeGreaterThanOrEqual(2 << 20);
      } finally {
        closeSync(fd);
      }
    });

    it('throws a NativeError with EBADF for a bad fd', () => {
      let caught: unknown;
      try {
        n.fallocateSync(1_000_000, 0, 0, 4096);
      } catch (e) {
        caught = e;
      }
      expect(isNativeError(caught)).toBe(true);
      expect(caught).toMatchObject({ code: 'EBADF', errno: constants.errno.EBADF, syscall: 'fallocate' });
    });
  });

  describe('mmapReadOnly', () => {
    const content = seededBytes(3 * 4096 + 123, 3);
    const path = join(tmp.dir, 'mapped');
    writeFileSync(path, content);

    it('maps a file range, aligned or not', () => {
      const fd = openSync(path, 'r');
      try {
        expect(n.mmapReadOnly(fd, 0, content.length).equals(content)).toBe(true);
        expect(n.mmapReadOnly(fd, 4096, 100).equals(content.subarray(4096, 4196))).toBe(true);
        expect(n.mmapReadOnly(fd, 5000, 7000).equals(content.subarray(5000, 12000))).toBe(true);
        expect(n.mmapReadOnly(fd, 10, 0).length).toBe(0);
      } finally {
        closeSync(fd);
      }
    });

    it('stays valid after the fd is closed and sees later writes (shared mapping)', () => {
      const fd = openSync(path, 'r');
      const view = n.mmapReadOnly(fd, 0, 4096);
      closeSync(fd);
      const w = openSync(path, 'r+');
      writeFileSync(w, Buffer.from('berth'));
      closeSync(w);
      expect(view.subarray(0, 5).toString()).toBe('berth');
      expect(readFileSync(path).subarray(0, 5).toString()).toBe('berth');
    });

    it('throws EBADF for a bad fd', () => {
      expect(() => n.mmapReadOnly(1_000_000, 0, 4096)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    });
  });

  it('BERTH_DISABLE_IO_URING=1 makes probe say no and createRing fail with ENOSYS (child process)', () => {
    const addonPath = fileURLToPath(new URL('../../../build/Release/berth_native.node', import.meta.url));
    const script = `
      const addon = require(${JSON.stringify(addonPath)});
      const caps = addon.probe();
      let error = null;
      try { addon.createRing({ entries: 8, bufferCount: 1, bufferSize: 4096 }); }
      catch (e) { error = { code: e.code, errno: e.errno, syscall: e.syscall }; }
      process.stdout.write(JSON.stringify({ caps, error }));`;
    const run = (disable: string | undefined) => {
      const env = { ...process.env };
      if (disable === undefined) delete env.BERTH_DISABLE_IO_URING;
      else env.BERTH_DISABLE_IO_URING = disable;
      return JSON.parse(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' }));
    };
    const disabled = run('1');
    expect(disabled.caps.ioUring).toBe(false);
    expect(disabled.caps.registeredBuffers).toBe(false);
    expect(disabled.caps.reason).toMatch(/BERTH_DISABLE_IO_URING/);
    expect(disabled.error).toEqual({ code: 'ENOSYS', errno: constants.errno.ENOSYS, syscall: 'io_uring_setup' });
    // The same child without the variable gets a ring wherever probe in this process says io_uring works.
    if (n.probe().ioUring) {
      const enabled = run(undefined);
      expect(enabled.caps.ioUring).toBe(true);
      expect(enabled.error).toBeNull();
    }
  });

  describe.runIf(n.probe().ioUring)('writes accepted before the process or a worker goes away', () => {
    const addonPath = fileURLToPath(new URL('../../../build/Release/berth_native.node', import.meta.url));
    // 50 writes of 65636 bytes through 2 buffers: most are still queued in the ring when exit is called.
    const body = (file: string) => `
      const addon = require(${JSON.stringify(addonPath)});
      const fs = require('fs');
      const ring = addon.createRing({ entries: 16, bufferCount: 2, bufferSize: 65536 });
      const fd = fs.openSync(${JSON.stringify(file)}, 'w+');
      for (let i = 0; i < 50; i++) ring.writeFixed(fd, Buffer.alloc(65636, i), i * 65636, () => {});
      process.exit(0);`;

    it('are completed by the kernel when the main thread calls process.exit()', () => {
      const file = tmp.file('exit-main.bin');
      execFileSync(process.execPath, ['-e', body(file)]);
      const got = readFileSync(file);
      expect(got.length).toBe(50 * 65636);
      for (let i = 0; i < 50; i++) expect(got[i * 65636 + 65635]).toBe(i);
    });

    it('are completed, and the addon unloads cleanly, when a worker thread exits', () => {
      const file = tmp.file('exit-worker.bin');
      const script = `
        const { Worker } = require('worker_threads');
        new Worker(${JSON.stringify(body(file))}, { eval: true }).on('exit', (code) => process.stdout.write(String(code)));`;
      expect(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })).toBe('0');
      expect(readFileSync(file).length).toBe(50 * 65636);
    });
  });
});
