/**
 * What a handler gives back to the connection: response bytes, possibly interleaved with ranges of segment files
 * whose bytes go from the page cache to the socket without entering the JS heap.
 */
export interface FileRange {
  fd: number;
  position: number;
  length: number;
}

/** One whole response frame, size prefix included: Buffers and file ranges, in wire order. */
export type ResponseParts = Array<Buffer | FileRange>;

export function isFileRange(part: Buffer | FileRange): part is FileRange {
  return !Buffer.isBuffer(part);
}

export function partsLength(parts: ResponseParts): number {
  let n = 0;
  for (const p of parts) n += isFileRange(p) ? p.length : p.length;
  return n;
}

/** `parts` without its first `n` bytes. */
export function skipBytes(parts: ResponseParts, n: number): ResponseParts {
  const rest: ResponseParts = [];
  for (const p of parts) {
    if (n >= p.length) {
      n -= p.length;
      continue;
    }
    if (n === 0) rest.push(p);
    else rest.push(isFileRange(p) ? { ...p, position: p.position + n, length: p.length - n } : p.subarray(n));
    n = 0;
  }
  return rest;
}
