import { describe, expect, it } from 'vitest';
import { FrameDecoder, FrameTooLargeError } from '../../../protocol/frame-decoder.js';

function frame(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

describe('FrameDecoder', () => {
  it('returns whole frames from one chunk as slices', () => {
    const a = Buffer.from('hello world');
    const b = Buffer.from('second');
    const chunk = Buffer.concat([frame(a), frame(b)]);
    const frames = new FrameDecoder(1024).push(chunk);
    expect(frames.map((f) => f.toString())).toEqual(['hello world', 'second']);
    expect(frames[0].buffer).toBe(chunk.buffer);
  });

  it('reassembles frames split at every possible byte boundary', () => {
    const bodies = [Buffer.from('a'.repeat(17)), Buffer.from('bb'), Buffer.from('c'.repeat(300))];
    const stream = Buffer.concat(bodies.map(frame));
    for (let cut1 = 0; cut1 <= stream.length; cut1 += 7) {
      for (let cut2 = cut1; cut2 <= stream.length; cut2 += 13) {
        const d = new FrameDecoder(1024);
        const out = [
          ...d.push(stream.subarray(0, cut1)),
          ...d.push(stream.subarray(cut1, cut2)),
          ...d.push(stream.subarray(cut2)),
        ];
        expect(out.map((f) => f.toString())).toEqual(bodies.map((b) => b.toString()));
        expect(d.pendingBytes).toBe(0);
      }
    }
  });

  it('refuses a frame over the limit from its size prefix alone', () => {
    const d = new FrameDecoder(100);
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(0x7fffffff);
    expect(() => d.push(prefix)).toThrow(FrameTooLargeError);
  });

  it('refuses negative and too-small sizes', () => {
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(-5);
    expect(() => new FrameDecoder(100).push(prefix)).toThrow(FrameTooLargeError);
    prefix.writeInt32BE(3);
    expect(() => new FrameDecoder(100, 10).push(Buffer.concat([prefix, Buffer.alloc(3)]))).toThrow(FrameTooLargeError);
  });

  it('refuses a split size prefix that is too large', () => {
    const d = new FrameDecoder(100);
    expect(d.push(Buffer.from([0x00, 0x10]))).toEqual([]);
    expect(() => d.push(Buffer.from([0x00, 0x00]))).toThrow(FrameTooLargeError);
  });
});

/** Feeds `stream` through receiveBuffer/received, each read taking at most the next size from `reads`. */
function receiveAll(d: FrameDecoder, stream: Buffer, reads: () => number): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < stream.length) {
    const target = d.receiveBuffer();
    if (target.length === 0) throw new Error('empty read target');
    const n = Math.min(target.length, stream.length - pos, reads());
    stream.copy(target, 0, pos, pos + n);
    pos += n;
    out.push(...d.received(n));
  }
  return out;
}

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('FrameDecoder receive mode (reads straight into buffers it names)', () => {
  const sizes = [0, 1, 10, 300, 4095, 16 * 1024 - 1, 16 * 1024, 40_000, 64 * 1024, 200_000, 1 << 20, 7];
  const bodies = sizes.map((n, i) => {
    const b = Buffer.alloc(n);
    for (let j = 0; j < n; j++) b[j] = (j * 31 + i * 7) & 0xff;
    return b;
  });
  const stream = Buffer.concat(bodies.map(frame));

  it('reassembles frames of every size for many read patterns', () => {
    // Byte-sized reads only over the smaller frames (a read per byte of a megabyte is slow for nothing).
    const smallCount = 8;
    const smallStream = Buffer.concat(bodies.slice(0, smallCount).map(frame));
    for (let seed = 1; seed <= 24; seed++) {
      const random = rng(seed);
      const maxRead = [1, 5, 100, 4096, 65536, 1 << 21][seed % 6];
      const [input, expected] = maxRead < 100 ? [smallStream, bodies.slice(0, smallCount)] : [stream, bodies];
      const d = new FrameDecoder(2 << 20);
      const out = receiveAll(d, input, () => 1 + Math.floor(random() * maxRead));
      expect(out.length).toBe(expected.length);
      for (let i = 0; i < expected.length; i++) expect(out[i].equals(expected[i])).toBe(true);
      expect(d.pendingBytes).toBe(0);
    }
  });

  it('reads a large frame into the buffer it allocated for it, and copies small ones out of its stage', () => {
    const allocated: Buffer[] = [];
    const d = new FrameDecoder(2 << 20, 0, (size) => {
      const b = Buffer.alloc(size);
      allocated.push(b);
      return b;
    });
    const big = bodies[9]; // 200,000 bytes
    const small = bodies[3];
    const s = Buffer.concat([frame(small), frame(big), frame(small)]);
    const out = receiveAll(d, s, () => 65536);
    expect(out.map((f) => f.length)).toEqual([small.length, big.length, small.length]);
    expect(out[1].buffer).toBe(allocated[1].buffer);
    // The big frame's bytes after its first staged read were received in place: the buffers named for reads were
    // views of the frame's own buffer.
    expect(out[0].equals(small) && out[1].equals(big) && out[2].equals(small)).toBe(true);
    // Small frames are copies: the stage is reused, so their bytes must not change under later reads.
    expect(out[0].buffer).toBe(allocated[0].buffer);
  });

  it('grows its stage once a read fills it, then takes many frames under 64 KiB per read', () => {
    const bodies16 = Array.from({ length: 60 }, (_, i) => Buffer.alloc(16_666 + (i % 3) * 10_000, i));
    const s = Buffer.concat(bodies16.map(frame));
    let reads = 0;
    const d = new FrameDecoder(2 << 20);
    const out = receiveAll(d, s, () => {
      reads++;
      return 1 << 30; // the client has everything queued: every read fills what it is offered
    });
    expect(out.length).toBe(60);
    for (let i = 0; i < 60; i++) expect(out[i].equals(bodies16[i])).toBe(true);
    // 1.6 MB in 256 KiB reads once grown (two reads per frame, 120, with the small stage alone).
    expect(reads).toBeLessThan(15);
    // A connection whose reads never fill the stage keeps the small one: 16 KiB frames arrive in two reads each.
    let slowReads = 0;
    const slow = new FrameDecoder(2 << 20);
    const slowOut = receiveAll(slow, Buffer.concat(bodies16.slice(0, 10).map(frame)), () => {
      slowReads++;
      return 20_000;
    });
    expect(slowOut.length).toBe(10);
    expect(slowReads).toBeGreaterThanOrEqual(10);
    expect(slow.receiveBuffer().length).toBeLessThanOrEqual(32 * 1024);
  });

  it('names a view of the frame being assembled as the next read target', () => {
    const d = new FrameDecoder(1 << 20);
    const body = Buffer.alloc(100_000, 9);
    const f = frame(body);
    const first = d.receiveBuffer();
    f.copy(first, 0, 0, 1000);
    expect(d.received(1000)).toEqual([]);
    const next = d.receiveBuffer();
    expect(next.length).toBe(f.length - 1000);
    f.copy(next, 0, 1000);
    const out = d.received(f.length - 1000);
    expect(out.length).toBe(1);
    expect(out[0].buffer).toBe(next.buffer);
    expect(out[0].equals(body)).toBe(true);
    // After a large frame the next read is kept short: of a large successor only that much is staged and copied.
    expect(d.receiveBuffer().length).toBe(4096);
    expect(d.received(0)).toEqual([]);
    expect(d.receiveBuffer().length).toBeGreaterThan(4096);
  });

  it('refuses a frame over the limit from its size prefix alone', () => {
    const d = new FrameDecoder(100);
    const target = d.receiveBuffer();
    target.writeInt32BE(101, 0);
    expect(() => d.received(4)).toThrow(FrameTooLargeError);
  });
});
