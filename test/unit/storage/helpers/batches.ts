/**
 * Test-only record batch builders: a minimal v2 encoder written here from the format description, and kafkajs's
 * encoder as an independent producer of real batches.
 */
import { createRequire } from 'node:module';
import { crc32c } from '../../../../protocol/records/crc32c.js';

export interface TestRecord {
  key?: Buffer | null;
  value: Buffer | null;
  timestamp?: number;
}

function zigzagVarint(n: bigint): number[] {
  let v = n >= 0n ? n << 1n : (-n << 1n) - 1n;
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}

/** An uncompressed v2 batch (baseOffset 0, epoch -1, as a producer sends it). */
export function buildBatch(records: TestRecord[], opts: { baseTimestamp?: number; attributes?: number } = {}): Buffer {
  const baseTs = opts.baseTimestamp ?? records[0]?.timestamp ?? 1_700_000_000_000;
  let maxTs = -1;
  const bodies: Buffer[] = [];
  records.forEach((r, i) => {
    const ts = r.timestamp ?? baseTs;
    if (ts > maxTs) maxTs = ts;
    const parts: number[] = [0];
    parts.push(...zigzagVarint(BigInt(ts - baseTs)), ...zigzagVarint(BigInt(i)));
    const key = r.key ?? null;
    const head = Buffer.from(parts);
    const keyLen = Buffer.from(zigzagVarint(BigInt(key ? key.length : -1)));
    const valLen = Buffer.from(zigzagVarint(BigInt(r.value ? r.value.length : -1)));
    const body = Buffer.concat([
      head,
      keyLen,
      key ?? Buffer.alloc(0),
      valLen,
      r.value ?? Buffer.alloc(0),
      Buffer.from([0]),
    ]);
    bodies.push(Buffer.concat([Buffer.from(zigzagVarint(BigInt(body.length))), body]));
  });
  const recs = Buffer.concat(bodies);
  const buf = Buffer.alloc(61 + recs.length);
  buf.writeBigInt64BE(0n, 0);
  buf.writeInt32BE(buf.length - 12, 8);
  buf.writeInt32BE(-1, 12);
  buf.writeInt8(2, 16);
  buf.writeInt16BE(opts.attributes ?? 0, 21);
  buf.writeInt32BE(records.length - 1, 23);
  buf.writeBigInt64BE(BigInt(baseTs), 27);
  buf.writeBigInt64BE(BigInt(maxTs), 35);
  buf.writeBigInt64BE(-1n, 43);
  buf.writeInt16BE(-1, 51);
  buf.writeInt32BE(-1, 53);
  buf.writeInt32BE(records.length, 57);
  recs.copy(buf, 61);
  buf.writeUInt32BE(crc32c(buf, 21, buf.length), 17);
  return buf;
}

/** A batch of `count` records whose values are `size` bytes derived from `seed` (deterministic). */
export function batchOf(count: number, size: number, seed: number, timestamp = 1_700_000_000_000): Buffer {
  const records: TestRecord[] = [];
  for (let i = 0; i < count; i++) {
    const value = Buffer.alloc(size);
    for (let j = 0; j < size; j++) value[j] = (seed * 31 + i * 7 + j) & 0xff;
    records.push({ value, timestamp: timestamp + i });
  }
  return buildBatch(records);
}

const require = createRequire(import.meta.url);

/** A batch encoded by kafkajs (an independent implementation), optionally gzip-compressed (codec 1). */
export async function kafkajsBatch(
  records: Array<{ key?: string; value: string; timestamp: number }>,
  compression = 0,
): Promise<Buffer> {
  const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js');
  const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js');
  const first = records[0].timestamp;
  const max = Math.max(...records.map((r) => r.timestamp));
  const encoded = await RecordBatch({
    compression,
    firstTimestamp: first,
    maxTimestamp: max,
    lastOffsetDelta: records.length - 1,
    records: records.map((r, i) =>
      Record({
        offsetDelta: i,
        timestampDelta: r.timestamp - first,
        key: r.key ? Buffer.from(r.key) : null,
        value: Buffer.from(r.value),
      }),
    ),
  });
  return Buffer.from(encoded.buffer);
}

/** A deterministic PRNG (mulberry32) for seeded random tests. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
