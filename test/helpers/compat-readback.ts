/**
 * Reads a whole partition back through our own client's Fetch, verifying every batch's CRC, so compat tests can
 * check what a foreign client wrote byte for byte, and see how it framed it (codec, producer id, sequences).
 */
import { expect } from 'vitest';
import type { KafkaClient } from '../../cli/kafka-client.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { CreateTopics } from '../../protocol/generated/create-topics.js';
import { Fetch } from '../../protocol/generated/fetch.js';
import { type CompressionCodec, compressionOf, type RecordBatchHeader } from '../../protocol/records/batch-header.js';
import { type DecodedRecord, decodeRecords, scanBatches } from '../../protocol/records/record-batch.js';

export interface ReadBatch {
  header: RecordBatchHeader;
  /** The batch as the broker sent it (a slice of the fetch response). */
  bytes: Buffer;
  codec: CompressionCodec;
  records: DecodedRecord[];
}

/** Every batch of `topic`/`partition` from `fromOffset` to the high watermark. */
export async function readPartition(
  client: KafkaClient,
  topic: string,
  partition: number,
  fromOffset = 0n,
): Promise<{ batches: ReadBatch[]; records: DecodedRecord[]; highWatermark: bigint }> {
  const batches: ReadBatch[] = [];
  let offset = fromOffset;
  for (;;) {
    const res = await client.request(
      Fetch,
      {
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 8 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 4 << 20 }] }],
        forgottenTopicsData: [],
        rackId: '',
      },
      12,
    );
    const p = res.responses[0].partitions[0];
    expect(p.errorCode, `fetch ${topic}-${partition}@${offset}`).toBe(ErrorCode.NONE);
    const data = p.records ?? Buffer.alloc(0);
    const scan = scanBatches(data, 0, data.length, { verifyCrc: true });
    expect(['end', 'partial']).toContain(scan.stopReason);
    for (const b of scan.batches) {
      if (b.header.baseOffset + BigInt(b.header.lastOffsetDelta) < offset) continue;
      batches.push({
        header: b.header,
        bytes: data.subarray(b.position, b.position + b.size),
        codec: compressionOf(b.header.attributes),
        records: decodeRecords(data, b.position).filter((r) => r.offset >= offset),
      });
    }
    const last = scan.batches.at(-1);
    if (last) offset = last.header.baseOffset + BigInt(last.header.lastOffsetDelta) + 1n;
    if (offset >= p.highWatermark || scan.batches.length === 0) {
      return { batches, records: batches.flatMap((b) => b.records), highWatermark: p.highWatermark };
    }
  }
}

export async function createTopic(
  client: KafkaClient,
  name: string,
  numPartitions = 1,
  configs: Record<string, string> = {},
): Promise<void> {
  const res = await client.request(CreateTopics, {
    topics: [
      {
        name,
        numPartitions,
        replicationFactor: 1,
        assignments: [],
        configs: Object.entries(configs).map(([k, value]) => ({ name: k, value })),
      },
    ],
    timeoutMs: 5000,
    validateOnly: false,
  });
  expect(res.topics[0].errorCode, `create ${name}`).toBe(ErrorCode.NONE);
}

/** Deterministic pseudo-random bytes (xorshift32), so "binary" payloads are reproducible. */
export function seededBytes(seed: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export const CODECS: readonly CompressionCodec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/**
 * Broker settings for compat suites: a mode's settings plus 16 MiB segments, so that however far ahead the storage
 * preallocates a segment (`preallocate` is on by default), the partitions these suites create reserve little disk.
 */
export function compatConfig(mode: Record<string, string>): Record<string, string> {
  return { ...mode, 'log.segment.bytes': String(16 << 20) };
}
