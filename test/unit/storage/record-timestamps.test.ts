import { describe, expect, it } from 'vitest';
import { encodeRecordBatch } from '../../../protocol/records/encode-batch.js';
import { readTimestampOffset } from '../../../storage/record-timestamps.js';

const BASE = 1_700_000_000_000;

function batch(
  compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd',
  timestampType: 'create' | 'logAppend' = 'create',
) {
  return encodeRecordBatch({
    baseOffset: 100n,
    compression,
    timestampType,
    records: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`.repeat(20), timestamp: BigInt(BASE + i * 1000) })),
  });
}

describe('readTimestampOffset', () => {
  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
    it(`finds the first record at or after the target inside a ${codec} batch`, () => {
      const b = batch(codec);
      expect(readTimestampOffset(b, BASE + 4500, 0)).toEqual({ offset: 105, timestamp: BASE + 5000 });
      expect(readTimestampOffset(b, BASE + 4000, 0)).toEqual({ offset: 104, timestamp: BASE + 4000 });
      expect(readTimestampOffset(b, BASE, 0)).toEqual({ offset: 100, timestamp: BASE });
      // Below the log start offset records do not count.
      expect(readTimestampOffset(b, BASE, 107)).toEqual({ offset: 107, timestamp: BASE + 7000 });
      expect(readTimestampOffset(b, BASE + 9001, 0)).toBeNull();
    });
  }

  it('answers a compressed batch that does not decompress at batch granularity', () => {
    const b = batch('gzip');
    b.fill(0xee, 61 + 10, 61 + 20); // garble the compressed stream (CRC is not checked here)
    expect(readTimestampOffset(b, BASE + 4500, 0)).toEqual({ offset: 100, timestamp: BASE + 9000 });
  });
});
