import { describe, expect, it } from 'vitest';
import { FramePool, isFrameRetained, MIN_POOLED_FRAME, retainFrame } from '../../../broker/frame-pool.js';

describe('FramePool', () => {
  it('hands a released buffer out again for a frame of the same size class', () => {
    const pool = new FramePool();
    const a = pool.allocate(300_000);
    expect(a.length).toBe(512 * 1024);
    pool.release(a.subarray(0, 300_000));
    const b = pool.allocate(400_000);
    expect(b.buffer).toBe(a.buffer);
    expect(pool.stats).toEqual({ allocated: 1, reused: 1, released: 1, evicted: 0 });
  });

  it('pools the 16 KB frames of small Produce batches, so they are not fresh external memory each', () => {
    const pool = new FramePool();
    const a = pool.allocate(16_700);
    expect(a.length).toBe(32 * 1024);
    pool.release(a.subarray(0, 16_700));
    expect(pool.allocate(16_700).buffer).toBe(a.buffer);
    expect(pool.stats).toEqual({ allocated: 1, reused: 1, released: 1, evicted: 0 });
  });

  it('does not reuse a buffer before it is released, nor one released twice', () => {
    const pool = new FramePool();
    const a = pool.allocate(MIN_POOLED_FRAME);
    const b = pool.allocate(MIN_POOLED_FRAME);
    expect(b.buffer).not.toBe(a.buffer);
    pool.release(a);
    pool.release(a);
    expect(pool.idleBytes).toBe(MIN_POOLED_FRAME);
    const c = pool.allocate(MIN_POOLED_FRAME);
    const d = pool.allocate(MIN_POOLED_FRAME);
    expect(c.buffer).toBe(a.buffer);
    expect(d.buffer).not.toBe(a.buffer);
  });

  it('never pools small or oversized frames, nor buffers it did not allocate', () => {
    const pool = new FramePool({ maxFrameBytes: 1 << 20 });
    const small = pool.allocate(100);
    const huge = pool.allocate((1 << 20) + 1);
    expect(small.length).toBe(100);
    expect(huge.length).toBe((1 << 20) + 1);
    pool.release(small);
    pool.release(huge);
    pool.release(Buffer.alloc(MIN_POOLED_FRAME));
    expect(pool.idleBytes).toBe(0);
  });

  it('keeps a retained buffer out of reuse', () => {
    const pool = new FramePool();
    const a = pool.allocate(100_000);
    const records = a.subarray(60, 90_000);
    retainFrame(records);
    expect(isFrameRetained(a)).toBe(true);
    pool.release(a);
    expect(pool.idleBytes).toBe(0);
    expect(pool.allocate(100_000).buffer).not.toBe(a.buffer);
  });

  it('makes room for the size in use by dropping idle buffers of a size asked for longer ago', () => {
    // A burst of 1 MB requests fills the idle budget; 16 KB requests come next (regression: each of them was a fresh
    // 32 KiB allocation, and V8 ran a full collection every ~100 ms under that churn).
    const pool = new FramePool({ maxIdleBytes: 4 << 20 });
    const large = [1, 2, 3, 4].map(() => pool.allocate(1_000_000));
    for (const b of large) pool.release(b);
    expect(pool.idleBytes).toBe(4 << 20);
    const first = pool.allocate(16_700);
    pool.release(first);
    for (let i = 0; i < 100; i++) {
      const again = pool.allocate(16_700);
      expect(again.buffer).toBe(first.buffer);
      pool.release(again);
    }
    expect(pool.stats.evicted).toBe(1);
    expect(pool.idleBytes).toBe(3 * (1 << 20) + 32 * 1024);
    // The large buffers left are still handed out to large frames.
    expect(large.map((b) => b.buffer)).toContain(pool.allocate(1_000_000).buffer);
  });

  it('does not drop idle buffers of the size in use for one asked for longer ago', () => {
    const pool = new FramePool({ maxIdleBytes: 64 * 1024 });
    const large = pool.allocate(40_000); // class 64 KiB, asked for first
    const small = [1, 2].map(() => pool.allocate(16_700)); // class 32 KiB, asked for since
    for (const b of small) pool.release(b);
    pool.release(large); // no room, and the 32 KiB buffers are the more recently asked-for class: large is dropped
    expect(pool.idleBytes).toBe(64 * 1024);
    expect(pool.stats.evicted).toBe(0);
    expect([pool.allocate(16_700).buffer, pool.allocate(16_700).buffer]).toEqual(small.map((b) => b.buffer));
  });

  it('keeps at most maxIdleBytes for reuse', () => {
    const pool = new FramePool({ maxIdleBytes: 256 * 1024 });
    const bufs = [1, 2, 3].map(() => pool.allocate(128 * 1024));
    for (const b of bufs) pool.release(b);
    expect(pool.idleBytes).toBe(256 * 1024);
  });
});
