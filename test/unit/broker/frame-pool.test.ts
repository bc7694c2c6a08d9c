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
    expect(pool.stats).toEqual({ allocated: 1, reused: 1, released: 1 });
  });

  it('pools the 16 KB frames of small Produce batches, so they are not fresh external memory each', () => {
    const pool = new FramePool();
    const a = pool.allocate(16_700);
    expect(a.length).toBe(32 * 1024);
    pool.release(a.subarray(0, 16_700));
    expect(pool.allocate(16_700).buffer).toBe(a.buffer);
    expect(pool.stats).toEqual({ allocated: 1, reused: 1, released: 1 });
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

  it('keeps at most maxIdleBytes for reuse', () => {
    const pool = new FramePool({ maxIdleBytes: 256 * 1024 });
    const bufs = [1, 2, 3].map(() => pool.allocate(128 * 1024));
    for (const b of bufs) pool.release(b);
    expect(pool.idleBytes).toBe(256 * 1024);
  });
});
