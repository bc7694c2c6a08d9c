/** Shared test helpers: a seeded PRNG (tests must be deterministic) and access to kafkajs's CommonJS internals. */
import { createRequire } from 'node:module';

/** mulberry32: small, fast, seeded; good enough to pick test inputs. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomInt(rng: () => number, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

export function randomBytes(rng: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rng() * 256);
  return b;
}

/** Text-like bytes that compress, for codec tests. */
export function compressibleBytes(rng: () => number, n: number): Buffer {
  const words = ['kafka', 'berth', 'offset', 'partition', 'leader', 'epoch', 'batch', ' ', '\n', '{"id":'];
  const parts: string[] = [];
  let len = 0;
  while (len < n) {
    const w = words[Math.floor(rng() * words.length)];
    parts.push(w);
    len += w.length;
  }
  return Buffer.from(parts.join('').slice(0, n));
}

export const requireCjs = createRequire(import.meta.url);
