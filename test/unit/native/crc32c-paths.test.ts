// Every CRC32C path of the addon this CPU can run (crc32cWith), and the default crc32c(), against the portable JS
// implementation: all lengths 0..600, lengths around the folding threshold and register/block sizes, every start
// offset 0..63, large random buffers, chained calls, known vectors.
import { describe, expect, it } from 'vitest';
import { type Crc32cPath, loadNative } from '../../../native/index.js';
import { crc32cSoftware } from '../../../protocol/records/crc32c.js';
import { prng, seededBytes } from './helpers.js';

const native = loadNative();
const ALL: Crc32cPath[] = ['clmul512', 'clmul256', 'sse42', 'software'];

/** The paths a CPU with `best` also runs: each one falls back to the next. */
function pathsFrom(best: Crc32cPath): Crc32cPath[] {
  return ALL.slice(ALL.indexOf(best));
}

describe.runIf(native)('native crc32c paths', () => {
  const n = native!;
  const best = n.probe().crc32cPath;
  const paths = pathsFrom(best);
  type Fn = (buf: Uint8Array, start: number, end: number, crc: number) => number;
  const impls: Array<[string, Fn]> = [
    ['crc32c (default)', (buf, start, end, crc) => n.crc32c(buf, start, end, crc)],
    ...paths.map((p): [string, Fn] => [p, n.crc32cWith(p)]),
  ];

  it('probe names a path, and exactly the paths at and below it run here', () => {
    expect(ALL).toContain(best);
    expect(n.probe().hardwareCrc32c).toBe(best !== 'software');
    for (const p of ALL) {
      if (paths.includes(p)) expect(n.crc32cWith(p)(Buffer.from('a'), 0, 1, 0)).toBe(crc32cSoftware(Buffer.from('a')));
      else expect(() => n.crc32cWith(p)).toThrow(/not supported/);
    }
    expect(() => n.crc32cWith('avx9' as Crc32cPath)).toThrow(/unknown/);
    expect(() => (n.crc32cWith as (...a: unknown[]) => unknown)(3)).toThrow(TypeError);
  });

  it('checks its arguments on every path', () => {
    for (const p of paths) {
      const crc = n.crc32cWith(p);
      expect(() => crc(Buffer.alloc(4), 0, 5, 0)).toThrow(RangeError);
      expect(() => crc(Buffer.alloc(4), 3, 2, 0)).toThrow(RangeError);
      expect(() => (crc as (...a: unknown[]) => number)('abc', 0, 1, 0)).toThrow(TypeError);
    }
  });

  describe.each(impls)('%s', (_name, crc) => {
    it('gives the known test vectors', () => {
      expect(crc(Buffer.from('123456789'), 0, 9, 0)).toBe(0xe3069283);
      expect(crc(Buffer.alloc(0), 0, 0, 0)).toBe(0);
      // RFC 3720 (iSCSI) B.4: 32 bytes of zeros, of 0xff, ascending, descending.
      expect(crc(Buffer.alloc(32), 0, 32, 0)).toBe(0x8a9136aa);
      expect(crc(Buffer.alloc(32, 0xff), 0, 32, 0)).toBe(0x62a8ab43);
      const up = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
      expect(crc(up, 0, 32, 0)).toBe(0x46dd794e);
      expect(crc(Buffer.from(up).reverse(), 0, 32, 0)).toBe(0x113fdb5c);
    });

    it('equals crc32cSoftware for every length 0..600 at start offsets 0..63', () => {
      const data = seededBytes(600 + 64, 11);
      for (let start = 0; start < 64; start++) {
        for (let len = 0; len <= 600; len++) {
          const end = start + len;
          const want = crc32cSoftware(data, start, end, start * 0x01010101);
          if (crc(data, start, end, start * 0x01010101) !== want) {
            expect({ start, len, got: crc(data, start, end, start * 0x01010101) }).toEqual({ start, len, got: want });
          }
        }
      }
    });

    it('equals crc32cSoftware around register, block, stripe and threshold sizes at every offset 0..63', () => {
      const sizes = [256, 320, 512, 1024, 2048, 3 * 1024, 4096, 16384, 65536];
      const data = seededBytes(65536 + 64 + 70, 12);
      const rnd = prng(12);
      for (const size of sizes) {
        for (let delta = -65; delta <= 65; delta++) {
          const len = size + delta;
          const start = Math.floor(rnd() * 64);
          const seed = Math.floor(rnd() * 2 ** 32);
          expect(crc(data, start, start + len, seed)).toBe(crc32cSoftware(data, start, start + len, seed));
        }
        for (let start = 0; start < 64; start++) {
          expect(crc(data, start, start + size, 7)).toBe(crc32cSoftware(data, start, start + size, 7));
        }
      }
    });

    it('equals crc32cSoftware on large random buffers (1 MiB and odd lengths)', () => {
      const rnd = prng(13);
      for (const len of [1 << 20, (1 << 20) + 1, (1 << 20) + 63, 3 * (1 << 20) + 777]) {
        const buf = seededBytes(len + 64, len);
        const start = Math.floor(rnd() * 64);
        expect(crc(buf, start, start + len, 0)).toBe(crc32cSoftware(buf, start, start + len, 0));
      }
    });

    it('chains: crc(crc(a), b) equals crc(a || b) for split points around the threshold', () => {
      const buf = seededBytes(5000, 14);
      const rnd = prng(14);
      const whole = crc32cSoftware(buf, 0, buf.length, 0);
      for (const mid of [0, 1, 63, 64, 255, 256, 257, 1000, 2048, 4744, 4745, 4999, 5000]) {
        expect(crc(buf, mid, buf.length, crc(buf, 0, mid, 0))).toBe(whole);
      }
      for (let i = 0; i < 50; i++) {
        const a = Math.floor(rnd() * 5000);
        const b = a + Math.floor(rnd() * (5000 - a));
        expect(crc(buf, b, 5000, crc(buf, a, b, crc(buf, 0, a, 0)))).toBe(whole);
      }
    });

    it('reads only its range: sub-array views and bytes around the range do not matter', () => {
      const buf = seededBytes(4096, 15);
      const view = new Uint8Array(buf.buffer, buf.byteOffset + 37, 3000);
      const want = crc32cSoftware(buf, 37, 3037, 0);
      expect(crc(view, 0, view.length, 0)).toBe(want);
      const other = Buffer.from(buf);
      other.fill(0xa5, 0, 37);
      other.fill(0x5a, 3037);
      expect(crc(other, 37, 3037, 0)).toBe(want);
    });
  });
});
