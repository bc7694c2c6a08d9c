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
