import { afterEach, describe, expect, it } from 'vitest';
import {
  crc32c,
  crc32cImplementation,
  crc32cSoftware,
  setCrc32cAccelerator,
} from '../../../../protocol/records/crc32c.js';
import { randomBytes, randomInt, seededRandom } from './helpers.js';

/** The definition, one bit at a time (reflected Castagnoli polynomial), independent of the table code. */
function crc32cBitwise(buf: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe('crc32c', () => {
  afterEach(() => setCrc32cAccelerator(null));

  it('matches the standard check value and the iSCSI (RFC 3720) vectors', () => {
    expect(crc32cSoftware(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32cSoftware(Buffer.alloc(0))).toBe(0);
    expect(crc32cSoftware(Buffer.alloc(32, 0x00))).toBe(0x8a9136aa);
    expect(crc32cSoftware(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32cSoftware(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
    expect(crc32cSoftware(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)))).toBe(0x113fdb5c);
  });

  it('agrees with a bit-by-bit reference on seeded random buffers of every small length and some large ones', () => {
    const rng = seededRandom(3);
    for (let len = 0; len < 80; len++) {
      const buf = randomBytes(rng, len);
      expect(crc32cSoftware(buf)).toBe(crc32cBitwise(buf));
    }
    for (let i = 0; i < 20; i++) {
      const buf = randomBytes(rng, randomInt(rng, 100, 20000));
      expect(crc32cSoftware(buf)).toBe(crc32cBitwise(buf));
    }
  });

  it('covers exactly [start, end) and continues from a previous crc', () => {
    const rng = seededRandom(4);
    const buf = randomBytes(rng, 5000);
    for (let i = 0; i < 50; i++) {
      const start = randomInt(rng, 0, 2500);
      const end = randomInt(rng, start, 5000);
      const split = randomInt(rng, start, end);
      const whole = crc32cBitwise(buf.subarray(start, end));
      expect(crc32cSoftware(buf, start, end)).toBe(whole);
      expect(crc32cSoftware(buf, split, end, crc32cSoftware(buf, start, split))).toBe(whole);
    }
  });

  it('routes through an installed accelerator and back', () => {
    const calls: number[] = [];
    setCrc32cAccelerator((buf, start, end, crc) => {
      calls.push(end - start);
      return crc32cSoftware(buf, start, end, crc);
    });
    expect(crc32cImplementation()).toBe('accelerated');
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(calls).toEqual([9]);
    setCrc32cAccelerator(null);
    expect(crc32cImplementation()).toBe('software');
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(calls).toEqual([9]);
  });
});
