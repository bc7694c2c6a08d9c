/**
 * CRC32C (Castagnoli), the checksum of Kafka record batches v2.
 * The portable path is a slice-by-8 table implementation. A faster implementation (the native addon's SSE4.2/ARMv8
 * instruction path) can be installed with setCrc32cAccelerator(); both must give identical results.
 */
const POLY = 0x82f63b78;

const TABLES: Uint32Array[] = (() => {
  const t: Uint32Array[] = [];
  for (let k = 0; k < 8; k++) t.push(new Uint32Array(256));
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let j = 0; j < 8; j++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[0][i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    let c = t[0][i];
    for (let k = 1; k < 8; k++) {
      c = t[0][c & 0xff] ^ (c >>> 8);
      t[k][i] = c >>> 0;
    }
  }
  return t;
})();

/** Table-driven CRC32C over buf[start, end), continuing from `crc` (0 for a fresh checksum). */
export function crc32cSoftware(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES;
  let c = ~crc >>> 0;
  let i = start;
  while (end - i >= 8) {
    const lo = (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24)) ^ c;
    c =
      t7[lo & 0xff] ^
      t6[(lo >>> 8) & 0xff] ^
      t5[(lo >>> 16) & 0xff] ^
      t4[lo >>> 24] ^
      t3[buf[i + 4]] ^
      t2[buf[i + 5]] ^
      t1[buf[i + 6]] ^
      t0[buf[i + 7]];
    i += 8;
  }
  while (i < end) c = t0[(c ^ buf[i++]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

export type Crc32cFn = (buf: Uint8Array, start: number, end: number, crc: number) => number;

let accelerated: Crc32cFn | null = null;

/** Installs a faster implementation (null restores the portable one). */
export function setCrc32cAccelerator(fn: Crc32cFn | null): void {
  accelerated = fn;
}

export function crc32cImplementation(): 'accelerated' | 'software' {
  return accelerated ? 'accelerated' : 'software';
}

export function crc32c(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  return accelerated ? accelerated(buf, start, end, crc) : crc32cSoftware(buf, start, end, crc);
}
