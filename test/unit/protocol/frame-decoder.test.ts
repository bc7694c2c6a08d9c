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
