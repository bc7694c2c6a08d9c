/**
 * Record batches (magic v2) as bytes in a Buffer: finding them, checking them, and the in-place patches the broker
 * makes on append. Nothing here copies record bytes; the record-level codec lives in decode-records.ts and
 * encode-batch.ts (re-exported below so callers have one module to import).
 *
 * Who uses what:
 * - produce: validateBatch(..., { origin: 'producer' }) on the request's records, then setBaseOffset /
 *   setPartitionLeaderEpoch (no CRC work: the CRC starts at attributes) and, for LogAppendTime topics,
 *   setLogAppendTime (which does recompute the CRC, as Kafka does).
 * - recovery and `berth segments`: scanBatches(..., { verifyCrc: true }) walks a segment tail and says where the
 *   valid data stops and why.
 * - fetch readers: iterateBatches over a record set, which may legitimately end in a partial batch.
 */
import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_TIMESTAMP_TYPE,
  ATTRIBUTES,
  BASE_OFFSET,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH,
  CRC,
  LOG_OVERHEAD,
  MAGIC,
  MAX_TIMESTAMP,
  PARTITION_LEADER_EPOCH,
  type RecordBatchHeader,
  readBatchHeader,
} from './batch-header.js';
import { crc32c } from './crc32c.js';
import { decodeRecords } from './decode-records.js';
import {
  CorruptRecordError,
  InvalidRecordError,
  UnsupportedCompressionTypeError,
  UnsupportedMessageFormatError,
} from './errors.js';
import { type Cursor, readVarint } from './varint.js';

export type { ControlRecordKey, EndTxnMarker } from './control-record.js';
export { type DecodedRecord, type DecodeRecordsOptions, decodeRecords, type RecordHeader } from './decode-records.js';
export {
  type EncodeControlBatchOptions,
  type EncodeRecordBatchOptions,
  encodeControlBatch,
  encodeRecordBatch,
  type RecordInput,
} from './encode-batch.js';

/** batchLength of the smallest v2 batch: the header after baseOffset and batchLength, with no records. */
export const MIN_BATCH_LENGTH = BATCH_HEADER_SIZE - LOG_OVERHEAD; // 49
/** The last magic byte's position: enough bytes to tell a v2 batch from an old message set. */
const MAGIC_END = MAGIC + 1;

export interface BatchSlice {
  /** Absolute position of the batch's first byte (its baseOffset) in the scanned buffer. */
  position: number;
  /** Total bytes, header included (LOG_OVERHEAD + batchLength). */
  size: number;
  header: RecordBatchHeader;
}

/**
 * Why a scan stopped:
 * - 'end': every byte up to `end` belongs to a complete batch;
 * - 'partial': the bytes from `stopPosition` are the start of a batch that does not fit before `end` (normal at the
 *   tail of a fetch response; a torn write in a log);
 * - 'corrupt': a batch whose length cannot be right, whose magic is unknown, or (with verifyCrc) whose CRC fails;
 * - 'oldFormat': a magic 0 or 1 message set.
 */
export type ScanStopReason = 'end' | 'partial' | 'corrupt' | 'oldFormat';

export interface ScanStop {
  stopReason: ScanStopReason;
  /** Absolute position where valid data stops (the first byte that is not part of a yielded batch). */
  stopPosition: number;
  /** stopPosition - start. */
  validBytes: number;
  /** For 'corrupt' and 'oldFormat', what was wrong. */
  detail?: string;
}

export interface ScanResult extends ScanStop {
  batches: BatchSlice[];
}

export interface ScanOptions {
  /** Check each batch's CRC32C (recovery does; a fetch reader need not). Default false. */
  verifyCrc?: boolean;
}

/**
 * Yields each complete batch in buf[start, end) in order. The generator's return value says where and why it
 * stopped. The structural checks are the ones needed to step from batch to batch safely (magic and batchLength);
 * use validateBatch for the rest.
 */
export function* iterateBatches(
  buf: Buffer,
  start = 0,
  end: number = buf.length,
  options: ScanOptions = {},
): Generator<BatchSlice, ScanStop, undefined> {
  if (start < 0 || end > buf.length || start > end) throw new RangeError(`bad scan range [${start}, ${end})`);
  let pos = start;
  const stop = (stopReason: ScanStopReason, detail?: string): ScanStop => ({
    stopReason,
    stopPosition: pos,
    validBytes: pos - start,
    ...(detail === undefined ? {} : { detail }),
  });
  while (pos < end) {
    const remaining = end - pos;
    if (remaining < MAGIC_END) return stop('partial');
    const magic = buf.readInt8(pos + MAGIC);
    const batchLength = buf.readInt32BE(pos + BATCH_LENGTH);
    if (magic === 0 || magic === 1) return stop('oldFormat', `magic ${magic}`);
    if (magic !== 2) return stop('corrupt', `unknown magic ${magic}`);
    if (batchLength < MIN_BATCH_LENGTH) return stop('corrupt', `batchLength ${batchLength} < ${MIN_BATCH_LENGTH}`);
    const size = LOG_OVERHEAD + batchLength;
    if (size > remaining) return stop('partial');
    if (options.verifyCrc === true && !batchCrcMatches(buf, pos, size)) return stop('corrupt', 'CRC mismatch');
    yield { position: pos, size, header: readBatchHeader(buf, pos) };
    pos += size;
  }
  return stop('end');
}

/** iterateBatches, collected. */
export function scanBatches(buf: Buffer, start = 0, end: number = buf.length, options: ScanOptions = {}): ScanResult {
  const batches: BatchSlice[] = [];
  const it = iterateBatches(buf, start, end, options);
  for (;;) {
    const next = it.next();
    if (next.done === true) return { batches, ...next.value };
    batches.push(next.value);
  }
}

/** Whether the CRC stored in the `size`-byte batch at `pos` matches its bytes. */
export function batchCrcMatches(buf: Buffer, pos: number, size: number): boolean {
  return buf.readUInt32BE(pos + CRC) === crc32c(buf, pos + ATTRIBUTES, pos + size);
}

export interface ValidateOptions {
  /** Bytes after `end` are not part of the batch's buffer (default buf.length). */
  end?: number;
  /**
   * 'producer' (default): a batch as a client sends it; recordsCount must equal lastOffsetDelta + 1, as Kafka's
   * LogValidator requires. 'log': a batch read back from a log, which compaction may have thinned
   * (recordsCount <= lastOffsetDelta + 1, possibly 0).
   */
  origin?: 'producer' | 'log';
  /**
   * Also decode the records (decompressing them, bounded by maxDecompressedBytes) and check that their count matches
   * recordsCount and their offset deltas are 0..n-1 in order (producer) or strictly increasing up to lastOffsetDelta
   * (log). Kafka's LogValidator does this for compressed producer batches. Default false: the header and CRC checks
   * are what the append path needs.
   */
  records?: boolean;
  maxDecompressedBytes?: number;
}

/**
 * Checks the batch at `pos` and returns its header. Throws UnsupportedMessageFormatError (magic 0/1),
 * CorruptRecordError (unknown magic, impossible lengths, CRC mismatch, truncation), InvalidRecordError
 * (inconsistent offsets or counts) or UnsupportedCompressionTypeError (codec 5-7). Records are not decompressed.
 */
export function validateBatch(buf: Buffer, pos: number, options: ValidateOptions = {}): RecordBatchHeader {
  const end = options.end ?? buf.length;
  if (pos < 0 || end > buf.length || pos > end) throw new RangeError(`bad batch range [${pos}, ${end})`);
  const remaining = end - pos;
  if (remaining < MAGIC_END) throw new CorruptRecordError(`${remaining} bytes cannot hold a record batch`);
  const magic = buf.readInt8(pos + MAGIC);
  if (magic === 0 || magic === 1) throw new UnsupportedMessageFormatError(magic);
  if (magic !== 2) throw new CorruptRecordError(`unknown magic ${magic}`);
  const batchLength = buf.readInt32BE(pos + BATCH_LENGTH);
  if (batchLength < MIN_BATCH_LENGTH)
    throw new CorruptRecordError(`batchLength ${batchLength} is below ${MIN_BATCH_LENGTH}`);
  const size = LOG_OVERHEAD + batchLength;
  if (size > remaining) throw new CorruptRecordError(`batch of ${size} bytes is truncated to ${remaining}`);
  if (!batchCrcMatches(buf, pos, size)) {
    const stored = buf.readUInt32BE(pos + CRC);
    const computed = crc32c(buf, pos + ATTRIBUTES, pos + size);
    throw new CorruptRecordError(
      `CRC mismatch: stored 0x${stored.toString(16).padStart(8, '0')}, computed 0x${computed.toString(16).padStart(8, '0')}`,
    );
  }
  const header = readBatchHeader(buf, pos);
  const codec = header.attributes & ATTR_COMPRESSION_MASK;
  if (codec > 4) throw new UnsupportedCompressionTypeError(codec);
  if (header.lastOffsetDelta < 0) throw new InvalidRecordError(`lastOffsetDelta ${header.lastOffsetDelta} is negative`);
  if (header.recordsCount < 0) throw new InvalidRecordError(`recordsCount ${header.recordsCount} is negative`);
  const span = header.lastOffsetDelta + 1;
  if ((options.origin ?? 'producer') === 'producer') {
    if (header.recordsCount !== span) {
      throw new InvalidRecordError(
        `inconsistent batch offset range: ${header.recordsCount} records for lastOffsetDelta ${header.lastOffsetDelta}`,
      );
    }
  } else if (header.recordsCount > span) {
    throw new InvalidRecordError(`${header.recordsCount} records cannot fit lastOffsetDelta ${header.lastOffsetDelta}`);
  }
  // Every record takes at least 7 bytes uncompressed; a count that cannot fit is a lying header.
  if (codec === 0 && header.recordsCount > (size - BATCH_HEADER_SIZE) / 7) {
    throw new CorruptRecordError(`${header.recordsCount} records cannot fit in ${size - BATCH_HEADER_SIZE} bytes`);
  }
  if (options.records === true) checkRecordOffsets(buf, pos, size, header, options);
  return header;
}

function checkRecordOffsets(
  buf: Buffer,
  pos: number,
  size: number,
  header: RecordBatchHeader,
  options: ValidateOptions,
): void {
  const records = decodeRecords(buf, pos, {
    end: pos + size,
    ...(options.maxDecompressedBytes === undefined ? {} : { maxDecompressedBytes: options.maxDecompressedBytes }),
  });
  const producer = (options.origin ?? 'producer') === 'producer';
  let previous = -1;
  for (let i = 0; i < records.length; i++) {
    const delta = records[i].offsetDelta;
    if (producer ? delta !== i : delta <= previous || delta > header.lastOffsetDelta) {
      throw new InvalidRecordError(`record ${i} has offset delta ${delta} (previous ${previous})`);
    }
    previous = delta;
  }
}

/**
 * The produce-path check of a partition's records field: exactly one v2 batch covering all the bytes (Kafka requires
 * one batch per partition from Produce v3 on), valid per validateBatch, and not a control batch (only the
 * transaction coordinator writes those).
 */
export function validateProduceRecords(records: Buffer): RecordBatchHeader {
  const header = validateBatch(records, 0, { origin: 'producer' });
  const size = LOG_OVERHEAD + header.batchLength;
  if (size !== records.length) {
    throw new InvalidRecordError(`produce records hold ${records.length} bytes but the batch is ${size}`);
  }
  if ((header.attributes & ATTR_CONTROL) !== 0) throw new InvalidRecordError('clients may not produce control batches');
  if ((header.attributes & ATTR_COMPRESSION_MASK) === 0) checkRecordFraming(records, 0, size, header.recordsCount);
  return header;
}

/**
 * An uncompressed batch's records are each a varint length and that many bytes: walking the lengths (nothing is
 * decoded) proves that the batch holds exactly recordsCount records ending at its last byte, so that a lying count
 * is CORRUPT_MESSAGE here rather than a consumer's problem later.
 */
function checkRecordFraming(buf: Buffer, pos: number, size: number, recordsCount: number): void {
  const end = pos + size;
  let at = pos + BATCH_HEADER_SIZE;
  let cursor: Cursor | null = null;
  let n = 0;
  while (at < end) {
    if (n === recordsCount) {
      throw new CorruptRecordError(`batch declares ${recordsCount} records but has bytes left after them`);
    }
    // Lengths below 8 KiB take one or two varint bytes: decoded here, since this runs once per record of every
    // produced batch; longer ones go through readVarint.
    let length: number;
    const b0 = buf[at];
    if (b0 < 0x80) {
      length = (b0 >>> 1) ^ -(b0 & 1);
      at += 1;
    } else if (at + 1 < end && buf[at + 1] < 0x80) {
      const u = (b0 & 0x7f) | (buf[at + 1] << 7);
      length = (u >>> 1) ^ -(u & 1);
      at += 2;
    } else {
      cursor ??= { pos: 0 };
      cursor.pos = at;
      length = readVarint(buf, cursor, end);
      at = cursor.pos;
    }
    if (length < 1 || length > end - at) {
      throw new CorruptRecordError(`record ${n} of length ${length} does not fit in the batch`);
    }
    at += length;
    n++;
  }
  if (n !== recordsCount) throw new CorruptRecordError(`batch declares ${recordsCount} records but holds ${n}`);
}

/** Offsets are assigned by patching baseOffset; the CRC does not cover it. */
export function setBaseOffset(buf: Buffer, pos: number, baseOffset: bigint): void {
  buf.writeBigInt64BE(baseOffset, pos + BASE_OFFSET);
}

/** Stamps the leader epoch; the CRC does not cover it. */
export function setPartitionLeaderEpoch(buf: Buffer, pos: number, epoch: number): void {
  buf.writeInt32BE(epoch, pos + PARTITION_LEADER_EPOCH);
}

/**
 * For LogAppendTime topics: marks the batch's timestamps as LogAppendTime and sets maxTimestamp to the broker's
 * clock (readers then use maxTimestamp for every record), then recomputes the CRC. The caller has validated the
 * batch, so its length field is trusted.
 */
export function setLogAppendTime(buf: Buffer, pos: number, timestamp: bigint): void {
  const attributes = buf.readInt16BE(pos + ATTRIBUTES);
  buf.writeInt16BE(attributes | ATTR_TIMESTAMP_TYPE, pos + ATTRIBUTES);
  buf.writeBigInt64BE(timestamp, pos + MAX_TIMESTAMP);
  const end = pos + LOG_OVERHEAD + buf.readInt32BE(pos + BATCH_LENGTH);
  buf.writeUInt32BE(crc32c(buf, pos + ATTRIBUTES, end), pos + CRC);
}

/** The offset after the batch's last offset (baseOffset + lastOffsetDelta + 1). */
export function nextOffsetOf(header: Pick<RecordBatchHeader, 'baseOffset' | 'lastOffsetDelta'>): bigint {
  return header.baseOffset + BigInt(header.lastOffsetDelta) + 1n;
}
