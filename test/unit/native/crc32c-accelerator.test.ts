import { afterEach, describe, expect, it } from 'vitest';
import { installNativeCrc32c } from '../../../native/crc32c-accelerator.js';
import { loadNative } from '../../../native/index.js';
import {
  crc32c,
  crc32cImplementation,
  crc32cSoftware,
  setCrc32cAccelerator,
} from '../../../protocol/records/crc32c.js';
import { prng, seededBytes } from './helpers.js';

const native = loadNative();

describe('installNativeCrc32c', () => {
  afterEach(() => setCrc32cAccelerator(null));

  it('keeps the portable path without the addon', () => {
    expect(installNativeCrc32c(null)).toBe(false);
    expect(crc32cImplementation()).toBe('software');
  });

  it.runIf(native?.probe().hardwareCrc32c)('installs the hardware path, with results equal to the portable one', () => {
    expect(installNativeCrc32c(native)).toBe(true);
    expect(crc32cImplementation()).toBe('accelerated');
    const rnd = prng(3);
    for (let i = 0; i < 100; i++) {
      const buf = seededBytes(1 + Math.floor(rnd() * 5000), 100 + i);
      const start = Math.floor(rnd() * buf.length);
      const end = start + Math.floor(rnd() * (buf.length - start + 1));
      expect(crc32c(buf, start, end, i)).toBe(crc32cSoftware(buf, start, end, i));
    }
  });
});
