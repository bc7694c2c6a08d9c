import { describe, expect, it } from 'vitest';
import { decodeConsumerAssignment, encodeConsumerAssignment } from '../../../../broker/admin/consumer-assignment.js';

describe('consumer protocol assignment', () => {
  it('round-trips topics and partitions', () => {
    const a = [
      { topic: 'orders', partitions: [0, 2, 5] },
      { topic: 'pay-ments.v2', partitions: [] },
    ];
    expect(decodeConsumerAssignment(encodeConsumerAssignment(a))).toEqual(a);
    expect(decodeConsumerAssignment(encodeConsumerAssignment(a, 3))).toEqual(a);
  });

  it('gives an empty assignment for empty, truncated or foreign bytes', () => {
    const good = encodeConsumerAssignment([{ topic: 'orders', partitions: [1, 2] }]);
    expect(decodeConsumerAssignment(Buffer.alloc(0))).toEqual([]);
    expect(decodeConsumerAssignment(good.subarray(0, good.length - 8))).toEqual([]);
    expect(decodeConsumerAssignment(Buffer.from('not an assignment at all'))).toEqual([]);
  });
});
