/**
 * Builds v2 record batches: what a producer would send (tests, benchmarks, tools) and the control batches the
 * transaction coordinator appends. Sizes are computed first so the records are written once into one allocation
 * (plus the compressor's output when compressed).
 */
import {
  ATTR_CONTROL,
  ATTR_TIMESTAMP_TYPE,
  ATTR_TRANSACTIONAL,
  ATTRIBUTES,
  BASE_OFFSET,
  BASE_SEQUENCE,
  BASE_TIMESTAMP,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH,
  type CompressionCodec,
  CompressionType,
  CRC,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  MAGIC,
  MAX_TIMESTAMP,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_ID,
  PARTITION_LEADER_EPOCH,
  PRODUCER_EPOCH,
  PRODUCER_ID,
  RECORDS_COUNT,
} from './batch-header.js';
import { compress } from './compression.js';
import { encodeControlKey, encodeEndTxnMarker } from './control-record.js';
import { crc32c } from './crc32c.js';
import { varintSize, varlongSize, writeVarint, writeVarlong } from './varint.js';

export type RecordBytes = Buffer | string | null;

export interface RecordInput {
  key?: RecordBytes;
  value?: RecordBytes;
  headers?: Array<{ key: string; value?: RecordBytes }>;
  /** CreateTime in ms; defaults to the batch's `now`. */
  timestamp?: bigint;
  /** Defaults to the record's index in the batch. */
  offsetDelta?: number;
  /** Record attributes byte (Kafka leaves it 0). */
  attributes?: number;
}

export interface EncodeRecordBatchOptions {
  baseOffset?: bigint;
  partitionLeaderEpoch?: number;
  compression?: CompressionCodec;
  compressionLevel?: number;
  snappyFraming?: 'raw' | 'xerial';
  timestampType?: 'create' | 'logAppend';
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  isTransactional?: boolean;
  isControl?: boolean;
  /** Required for an empty batch (what compaction leaves); otherwise the last record's offsetDelta. */
  lastOffsetDelta?: number;
  /** Timestamp for records without one (default Date.now()). */
  now?: bigint;
  records: RecordInput[];
}

/** A key, value or header part with its UTF-8 length measured once (strings are written without a temp Buffer). */
interface Part {
  bytes: Buffer | string | null;
  length: number; // -1 for null
}

interface PreparedRecord {
  bodySize: number;
  attributes: number;
  timestampDelta: bigint;
  offsetDelta: number;
  key: Part;
  value: Part;
  headers: Part[]; // key, value, key, value, ...
}

function part(v: RecordBytes | undefined): Part {
  if (v === undefined || v === null) return { bytes: null, length: -1 };
  return { bytes: v, length: typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length };
}

function partSize(p: Part): number {
  return p.length < 0 ? 1 : varintSize(p.length) + p.length;
}

function writePart(out: Buffer, pos: number, p: Part): number {
  const at = writeVarint(out, pos, p.length);
  if (p.bytes === null) return at;
  if (typeof p.bytes === 'string') out.write(p.bytes, at, p.length, 'utf8');
  else p.bytes.copy(out, at);
  return at + p.length;
}

export function encodeRecordBatch(opts: EncodeRecordBatchOptions): Buffer {
  const now = opts.now ?? BigInt(Date.now());
  const inputs = opts.records;
  if (inputs.length === 0 && opts.lastOffsetDelta === undefined) {
    throw new RangeError('an empty batch needs an explicit lastOffsetDelta');
  }
  const baseTimestamp = inputs.length === 0 ? -1n : (inputs[0].timestamp ?? now);
  let maxTimestamp = baseTimestamp;
  const prepared: PreparedRecord[] = new Array(inputs.length);
  let recordsSize = 0;
  for (let i = 0; i < inputs.length; i++) {
    const r = inputs[i];
    const timestamp = r.timestamp ?? now;
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    const key = part(r.key);
    const value = part(r.value);
    const headers: Part[] = [];
    let bodySize = 1 + partSize(key) + partSize(value);
    if (r.headers !== undefined) {
      for (const h of r.headers) {
        const hk = part(h.key);
        const hv = part(h.value);
        headers.push(hk, hv);
        bodySize += partSize(hk) + partSize(hv);
      }
    }
    const offsetDelta = r.offsetDelta ?? i;
    const timestampDelta = timestamp - baseTimestamp;
    bodySize += varlongSize(timestampDelta) + varintSize(offsetDelta) + varintSize(headers.length / 2);
    prepared[i] = { bodySize, attributes: r.attributes ?? 0, timestampDelta, offsetDelta, key, value, headers };
    recordsSize += varintSize(bodySize) + bodySize;
  }

  const codec = opts.compression ?? 'none';
  let records: Buffer;
  let out: Buffer;
  if (codec === 'none') {
    out = Buffer.allocUnsafe(BATCH_HEADER_SIZE + recordsSize);
    writeRecords(out, BATCH_HEADER_SIZE, prepared);
  } else {
    records = Buffer.allocUnsafe(recordsSize);
    writeRecords(records, 0, prepared);
    const compressed = compress(codec, records, {
      ...(opts.compressionLevel === undefined ? {} : { level: opts.compressionLevel }),
      ...(opts.snappyFraming === undefined ? {} : { snappyFraming: opts.snappyFraming }),
    });
    out = Buffer.allocUnsafe(BATCH_HEADER_SIZE + compressed.length);
    compressed.copy(out, BATCH_HEADER_SIZE);
  }

  let attributes = CompressionType[codec];
  if (opts.timestampType === 'logAppend') attributes |= ATTR_TIMESTAMP_TYPE;
  if (opts.isTransactional === true) attributes |= ATTR_TRANSACTIONAL;
  if (opts.isControl === true) attributes |= ATTR_CONTROL;
  const lastOffsetDelta = opts.lastOffsetDelta ?? prepared[prepared.length - 1].offsetDelta;

  out.writeBigInt64BE(opts.baseOffset ?? 0n, BASE_OFFSET);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH_LENGTH);
  out.writeInt32BE(opts.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH, PARTITION_LEADER_EPOCH);
  out.writeInt8(2, MAGIC);
  out.writeInt16BE(attributes, ATTRIBUTES);
  out.writeInt32BE(lastOffsetDelta, LAST_OFFSET_DELTA);
  out.writeBigInt64BE(baseTimestamp, BASE_TIMESTAMP);
  out.writeBigInt64BE(maxTimestamp, MAX_TIMESTAMP);
  out.writeBigInt64BE(opts.producerId ?? NO_PRODUCER_ID, PRODUCER_ID);
  out.writeInt16BE(opts.producerEpoch ?? -1, PRODUCER_EPOCH);
  out.writeInt32BE(opts.baseSequence ?? -1, BASE_SEQUENCE);
  out.writeInt32BE(inputs.length, RECORDS_COUNT);
  out.writeUInt32BE(crc32c(out, ATTRIBUTES, out.length), CRC);
  return out;
}

function writeRecords(out: Buffer, pos: number, prepared: PreparedRecord[]): number {
  for (const r of prepared) {
    pos = writeVarint(out, pos, r.bodySize);
    out[pos++] = r.attributes & 0xff;
    pos = writeVarlong(out, pos, r.timestampDelta);
    pos = writeVarint(out, pos, r.offsetDelta);
    pos = writePart(out, pos, r.key);
    pos = writePart(out, pos, r.value);
    pos = writeVarint(out, pos, r.headers.length / 2);
    for (const h of r.headers) pos = writePart(out, pos, h);
  }
  return pos;
}

export interface EncodeControlBatchOptions {
  type: 'abort' | 'commit';
  producerId: bigint;
  producerEpoch: number;
  coordinatorEpoch: number;
  baseOffset?: bigint;
  partitionLeaderEpoch?: number;
  /** Marker timestamp (default Date.now()). */
  timestamp?: bigint;
}

/** A transaction marker: a transactional control batch holding one control record. */
export function encodeControlBatch(opts: EncodeControlBatchOptions): Buffer {
  return encodeRecordBatch({
    ...(opts.baseOffset === undefined ? {} : { baseOffset: opts.baseOffset }),
    ...(opts.partitionLeaderEpoch === undefined ? {} : { partitionLeaderEpoch: opts.partitionLeaderEpoch }),
    producerId: opts.producerId,
    producerEpoch: opts.producerEpoch,
    baseSequence: -1,
    isTransactional: true,
    isControl: true,
    records: [
      {
        key: encodeControlKey(opts.type),
        value: encodeEndTxnMarker(opts.coordinatorEpoch),
        ...(opts.timestamp === undefined ? {} : { timestamp: opts.timestamp }),
      },
    ],
  });
}
