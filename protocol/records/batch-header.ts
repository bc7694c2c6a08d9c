/**
 * The fixed 61-byte header of a Kafka RecordBatch (magic v2), read in place from a Buffer.
 *
 *   baseOffset i64 | batchLength i32 | partitionLeaderEpoch i32 | magic i8 | crc u32 | attributes i16 |
 *   lastOffsetDelta i32 | baseTimestamp i64 | maxTimestamp i64 | producerId i64 | producerEpoch i16 |
 *   baseSequence i32 | recordsCount i32 | records...
 *
 * batchLength counts the bytes after itself; the CRC covers attributes to the end of the batch, so baseOffset and
 * partitionLeaderEpoch can be patched without recomputing it.
 */
import { viewOf } from '../wire/int64.js';

export const BASE_OFFSET = 0;
export const BATCH_LENGTH = 8;
export const PARTITION_LEADER_EPOCH = 12;
export const MAGIC = 16;
export const CRC = 17;
export const ATTRIBUTES = 21;
export const LAST_OFFSET_DELTA = 23;
export const BASE_TIMESTAMP = 27;
export const MAX_TIMESTAMP = 35;
export const PRODUCER_ID = 43;
export const PRODUCER_EPOCH = 51;
export const BASE_SEQUENCE = 53;
export const RECORDS_COUNT = 57;
export const BATCH_HEADER_SIZE = 61;
/** baseOffset + batchLength: what precedes the length-counted part of a batch (and of old message sets). */
export const LOG_OVERHEAD = 12;

export const CompressionType = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionCodec = keyof typeof CompressionType;
export const compressionNames: readonly CompressionCodec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

export const ATTR_COMPRESSION_MASK = 0x07;
export const ATTR_TIMESTAMP_TYPE = 0x08; // 0 CreateTime, 1 LogAppendTime
export const ATTR_TRANSACTIONAL = 0x10;
export const ATTR_CONTROL = 0x20;
export const ATTR_DELETE_HORIZON = 0x40;

export const NO_PRODUCER_ID = -1n;
export const NO_PARTITION_LEADER_EPOCH = -1;

export interface RecordBatchHeader {
  baseOffset: bigint;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
}

/** Reads the header of the batch at `pos`. The caller has checked that BATCH_HEADER_SIZE bytes are there. */
export function readBatchHeader(buf: Buffer, pos = 0): RecordBatchHeader {
  // One DataView for the four int64 fields: fewer BigInts built than Buffer's readBigInt64BE (wire/int64.ts).
  const view = viewOf(buf);
  return {
    baseOffset: view.getBigInt64(pos + BASE_OFFSET),
    batchLength: buf.readInt32BE(pos + BATCH_LENGTH),
    partitionLeaderEpoch: buf.readInt32BE(pos + PARTITION_LEADER_EPOCH),
    magic: buf.readInt8(pos + MAGIC),
    crc: buf.readUInt32BE(pos + CRC),
    attributes: buf.readInt16BE(pos + ATTRIBUTES),
    lastOffsetDelta: buf.readInt32BE(pos + LAST_OFFSET_DELTA),
    baseTimestamp: view.getBigInt64(pos + BASE_TIMESTAMP),
    maxTimestamp: view.getBigInt64(pos + MAX_TIMESTAMP),
    producerId: view.getBigInt64(pos + PRODUCER_ID),
    producerEpoch: buf.readInt16BE(pos + PRODUCER_EPOCH),
    baseSequence: buf.readInt32BE(pos + BASE_SEQUENCE),
    recordsCount: buf.readInt32BE(pos + RECORDS_COUNT),
  };
}

/** Total bytes of the batch at `pos` (header included), from its length field. */
export function batchSizeAt(buf: Buffer, pos = 0): number {
  return LOG_OVERHEAD + buf.readInt32BE(pos + BATCH_LENGTH);
}

export function compressionOf(attributes: number): CompressionCodec {
  return compressionNames[attributes & ATTR_COMPRESSION_MASK] ?? 'none';
}
