/**
 * Seeded mutations of request frames. A mutator takes a seed frame (header and body, no size prefix) and returns
 * the bytes to put on the wire (size prefixes included, so that a mutation can lie about the frame length too).
 */
import { crc32c } from '../../protocol/records/crc32c.js';
import type { Seed } from './seeds.js';

export type Rand = () => number;

export interface FuzzCase {
  mutation: string;
  seed: Seed;
  wire: Buffer;
}

const int = (rand: Rand, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];

const INT32_LIES = [0x7fffffff, -2, -1, 0, 1, 0x10000000, 0x7ffffff0, -0x80000000];
const INT16_LIES = [0x7fff, -2, -1, 0, 1, 0x4000, -0x8000];
/** Unsigned varints of huge compact lengths/counts (2^31-1+1 and 2^32-1): five bytes each. */
const UVARINT_LIES = [Buffer.from([0xff, 0xff, 0xff, 0xff, 0x07]), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])];

export function sized(frame: Buffer, size = frame.length): Buffer {
  const out = Buffer.allocUnsafe(4 + frame.length);
  out.writeInt32BE(size, 0);
  frame.copy(out, 4);
  return out;
}

function randomBytes(rand: Rand, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = int(rand, 0, 255);
  return b;
}

/** Length of the request header v1/v2 in `frame` (api key, version, correlation id, client id [, tagged fields]). */
function headerLength(frame: Buffer): number {
  if (frame.length < 10) return frame.length;
  const idLen = frame.readInt16BE(8);
  return Math.min(frame.length, 10 + Math.max(0, idLen));
}

/** Positions past the request header: what most mutations should hit, so that the body decoder is exercised. */
function bodyPos(rand: Rand, frame: Buffer): number {
  const h = headerLength(frame);
  return h >= frame.length ? int(rand, 0, Math.max(0, frame.length - 1)) : int(rand, h, frame.length - 1);
}

function writeInt32(frame: Buffer, pos: number, v: number): void {
  if (pos + 4 <= frame.length) frame.writeInt32BE(v, pos);
}

type Mutator = (rand: Rand, seed: Seed) => Buffer;

const mutators: Record<string, Mutator> = {
  bitFlip(rand, seed) {
    const f = Buffer.from(seed.frame);
    for (let i = int(rand, 1, 8); i > 0; i--) {
      const pos = bodyPos(rand, f);
      f[pos] ^= 1 << int(rand, 0, 7);
    }
    return sized(f);
  },
  byteOverwrite(rand, seed) {
    const f = Buffer.from(seed.frame);
    for (let i = int(rand, 1, 4); i > 0; i--)
      f[bodyPos(rand, f)] = pick(rand, [0, 0xff, 0x7f, 0x80, int(rand, 0, 255)]);
    return sized(f);
  },
  truncate(rand, seed) {
    return sized(seed.frame.subarray(0, int(rand, 10, Math.max(10, seed.frame.length - 1))));
  },
  frameLengthLie(rand, seed) {
    const n = seed.frame.length;
    const size = pick(rand, [n + 1, n + int(rand, 2, 100), n - 1, n - int(rand, 2, 9), 0, -1, 3, 0x7fffffff, 1 << 30]);
    return sized(seed.frame, size);
  },
  int32LengthLie(rand, seed) {
    const f = Buffer.from(seed.frame);
    writeInt32(f, bodyPos(rand, f), pick(rand, INT32_LIES));
    return sized(f);
  },
  int16LengthLie(rand, seed) {
    const f = Buffer.from(seed.frame);
    // Half the time the client id's length in the header, else a string length somewhere in the body.
    const pos = rand() < 0.5 ? 8 : bodyPos(rand, f);
    if (pos + 2 <= f.length) f.writeInt16BE(pick(rand, INT16_LIES), pos);
    return sized(f);
  },
  hugeArrayCount(rand, seed) {
    const f = seed.frame;
    // Array counts of generated messages are small: overwrite an int32 0..3, or splice a huge varint over a byte 1..4.
    const h = headerLength(f);
    const candidates: number[] = [];
    for (let p = h; p + 4 <= f.length; p++) if (f.readInt32BE(p) >= 0 && f.readInt32BE(p) <= 3) candidates.push(p);
    if (candidates.length > 0 && rand() < 0.5) {
      const out = Buffer.from(f);
      out.writeInt32BE(pick(rand, [0x7fffffff, -2, 0x7ffffffe]), pick(rand, candidates));
      return sized(out);
    }
    const pos = bodyPos(rand, f);
    return sized(Buffer.concat([f.subarray(0, pos), pick(rand, UVARINT_LIES), f.subarray(pos + 1)]));
  },
  wrongVersion(rand, seed) {
    const f = Buffer.from(seed.frame);
    f.writeInt16BE(pick(rand, [seed.version + 1, seed.version - 1, -1, 0x7fff, int(rand, -32768, 32767), 0]), 2);
    return sized(f);
  },
  wrongApiKey(rand, seed) {
    const f = Buffer.from(seed.frame);
    f.writeInt16BE(pick(rand, [int(rand, 0, 80), -1, 0x7fff, 17, 36, 1000, int(rand, -32768, 32767)]), 0);
    return sized(f);
  },
  garbageBody(rand, seed) {
    const h = headerLength(seed.frame);
    return sized(Buffer.concat([seed.frame.subarray(0, h), randomBytes(rand, int(rand, 0, 300))]));
  },
  spliceBytes(rand, seed) {
    const f = seed.frame;
    const pos = bodyPos(rand, f);
    if (rand() < 0.5)
      return sized(Buffer.concat([f.subarray(0, pos), randomBytes(rand, int(rand, 1, 16)), f.subarray(pos)]));
    return sized(Buffer.concat([f.subarray(0, pos), f.subarray(Math.min(f.length, pos + int(rand, 1, 16)))]));
  },
  randomFrame(rand) {
    const body = randomBytes(rand, int(rand, 0, 600));
    if (rand() < 0.3) return body; // not even a size prefix of ours
    return sized(body);
  },
  /** A Produce seed's record batch with a mutated header; the CRC is usually made right again so that the checks
   *  after it (magic, lengths, counts, offsets, compression, records) are the ones exercised. */
  recordBatch(rand, seed) {
    const f = Buffer.from(seed.frame);
    const at = seed.batchAt;
    if (at < 0 || at + 61 > f.length) return mutators.bitFlip(rand, seed);
    const field = pick(rand, [
      'batchLength',
      'count',
      'lastOffsetDelta',
      'magic',
      'attributes',
      'bytes',
      'recordsLength',
    ]);
    const batchLength = f.readInt32BE(at + 8);
    switch (field) {
      case 'batchLength':
        f.writeInt32BE(
          pick(rand, [batchLength + 1, batchLength - 1, 0, -1, 48, 0x7fffffff, batchLength + 1000]),
          at + 8,
        );
        break;
      case 'count': {
        const count = f.readInt32BE(at + 57);
        const lie = pick(rand, [count + 1, count - 1, 0, -1, 0x7fffffff, 0x10000]);
        f.writeInt32BE(lie, at + 57);
        // Often also the lastOffsetDelta to match, so that the only lie left is the number of records.
        if (rand() < 0.6) f.writeInt32BE(lie - 1, at + 23);
        break;
      }
      case 'lastOffsetDelta':
        f.writeInt32BE(pick(rand, [-1, 0, 0x7fffffff, f.readInt32BE(at + 23) + 1]), at + 23);
        break;
      case 'magic':
        f[at + 16] = pick(rand, [0, 1, 3, 0xff]);
        break;
      case 'attributes':
        f.writeUInt16BE(pick(rand, [5, 6, 7, 0x10, 0x20, 0x30, 0x08, int(rand, 0, 0xffff)]), at + 21);
        break;
      case 'bytes':
        for (let i = int(rand, 1, 6); i > 0; i--) f[int(rand, at + 61, f.length - 1)] = int(rand, 0, 255);
        break;
      case 'recordsLength': {
        // The records field's own length prefix, just before the batch (int32 classic, uvarint flexible).
        if (seed.version < 9) writeInt32(f, at - 4, pick(rand, [batchLength + 13, batchLength + 11, 0x7fffffff, -2]));
        else return sized(Buffer.concat([f.subarray(0, at - 1), pick(rand, UVARINT_LIES), f.subarray(at)]));
        break;
      }
    }
    const end = Math.min(f.length, at + 12 + Math.max(49, f.readInt32BE(at + 8)));
    if (rand() < 0.85 && end > at + 21) f.writeUInt32BE(crc32c(f, at + 21, end), at + 17);
    return sized(f);
  },
};

export const mutationNames = Object.keys(mutators);

/** Weighted choice: the record batch mutations go to Produce seeds with real records. */
export function mutate(rand: Rand, seed: Seed): FuzzCase {
  if (seed.batchAt >= 0 && rand() < 0.5)
    return { mutation: 'recordBatch', seed, wire: mutators.recordBatch(rand, seed) };
  const name = pick(
    rand,
    mutationNames.filter((n) => n !== 'recordBatch'),
  );
  return { mutation: name, seed, wire: mutators[name](rand, seed) };
}

/** Several frames in one write: valid seeds and mutated ones, pipelined. */
export function pipelined(rand: Rand, seeds: readonly Seed[]): FuzzCase {
  const parts: Buffer[] = [];
  const first = pick(rand, seeds);
  // Mostly a few frames; sometimes a couple of hundred, past queued.max.requests.per.connection in one read.
  for (let i = rand() < 0.1 ? int(rand, 100, 250) : int(rand, 2, 20); i > 0; i--) {
    const seed = i === 1 ? first : pick(rand, seeds);
    const part = rand() < 0.7 ? sized(seed.frame) : mutate(rand, seed).wire;
    // Distinct correlation ids, so that each response names its request (Produce acks=0 has none).
    if (part.length >= 12) part.writeInt32BE(0x100 + i, 8);
    parts.push(part);
  }
  return { mutation: 'pipelined', seed: first, wire: Buffer.concat(parts) };
}

/** The next case: mostly one mutated seed; some pipelines, some valid frames, and extra weight on record batches. */
export function nextCase(rand: Rand, seeds: readonly Seed[], batchSeeds: readonly Seed[]): FuzzCase {
  const r = rand();
  if (r < 0.05) return pipelined(rand, seeds);
  if (r < 0.08) {
    const seed = pick(rand, seeds);
    return { mutation: 'valid', seed, wire: sized(seed.frame) };
  }
  if (r < 0.2 && batchSeeds.length > 0) {
    const seed = pick(rand, batchSeeds);
    return { mutation: 'recordBatch', seed, wire: mutators.recordBatch(rand, seed) };
  }
  return mutate(rand, pick(rand, seeds));
}
