/**
 * Installs the addon's CRC32C (carry-less multiply folding or the SSE4.2 instruction, whichever the CPU has best:
 * probe().crc32cPath) as protocol/records/crc32c.ts's accelerator. Below a few hundred bytes the N-API call costs
 * about as much as the portable table loop, so short ranges stay in JS.
 */
import { type Crc32cFn, crc32cSoftware, setCrc32cAccelerator } from '../protocol/records/crc32c.js';
import { loadNative, type NativeAddon } from './index.js';

/**
 * Ranges shorter than this are checksummed in JS. A call into the addon costs about 85 ns whatever the length up to
 * 256 bytes; the JS tables take 56 ns at 32 bytes, 98 at 64, 183 at 128 (Node 20, Zen 4, 2026-11-26): crossover
 * near 64 bytes, so 128 leaves a margin.
 */
export const NATIVE_CRC32C_MIN_BYTES = 128;

/**
 * The addon's CRC32C for ranges of NATIVE_CRC32C_MIN_BYTES and more, the portable tables below that; null without
 * the addon or a hardware path.
 */
export function nativeCrc32c(native: NativeAddon | null = loadNative()): Crc32cFn | null {
  if (!native?.probe().hardwareCrc32c) return null;
  const hw = native.crc32c;
  return (buf, start, end, crc) =>
    end - start >= NATIVE_CRC32C_MIN_BYTES ? hw(buf, start, end, crc) : crc32cSoftware(buf, start, end, crc);
}

/** Returns true when the hardware path was installed; false (portable path kept) without the addon or SSE4.2. */
export function installNativeCrc32c(native: NativeAddon | null = loadNative()): boolean {
  const fn = nativeCrc32c(native);
  if (fn) setCrc32cAccelerator(fn);
  return fn !== null;
}
