/**
 * Decodes the records of one v2 batch into objects, decompressing when the batch is compressed.
 *
 * Record := length varint | attributes int8 | timestampDelta varlong | offsetDelta varint | keyLength varint | key |
 *           valueLength varint | value | headerCount varint | (keyLength varint | key | valueLength varint | value)*
 *
 * Every length is checked against the bytes that remain before it is used, the record count against the smallest
 * possible record, and each record must end exactly where its length says: lying lengths give CorruptRecordError and
 * never an allocation sized by the attacker. Keys, values and header values are slices of the batch (or of the
 * decompressed buffer), not copies.
 */
import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_TIMESTAMP_TYPE,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH,
  compressionNames,
  LOG_OVERHEAD,
  MAGIC,
  type RecordBatchHeader,
  readBatchHeader,
} from './batch-header.js';
import { DEFAULT_MAX_DECOMPRESSED_BYTES, decompress } from './compression.js';
import { type ControlRecordKey, decodeControlKey, decodeEndTxnMarker, type EndTxnMarker } from './control-record.js';
import { CorruptRecordError, UnsupportedCompressionTypeError, UnsupportedMessageFormatError } from './errors.js';
import { type Cursor, readVarint, readVarlong } from './varint.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface DecodedRecord {
  /** Absolute offset: baseOffset + offsetDelta. */
  offset: bigint;
  offsetDelta: number;
  /** CreateTime (baseTimestamp + delta), or the batch's maxTimestamp when the batch is LogAppendTime. */
  timestamp: bigint;
  /** Record-level attributes (unused by Kafka so far, kept as read). */
  attributes: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
  /** Control batches only: the decoded key. */
  controlKey?: ControlRecordKey;
  /** Control batches with an abort or commit key: the decoded value. */
  endTxnMarker?: EndTxnMarker;
}

export interface DecodeRecordsOptions {
  /** Buffer end for this batch (default buf.length). */
  end?: number;
  /** Limit on decompressed bytes (default DEFAULT_MAX_DECOMPRESSED_BYTES). */
  maxDecompressedBytes?: number;
}

/** length(1) + attributes + timestampDelta + offsetDelta + keyLength + valueLength + headerCount, one byte each. */
const MIN_RECORD_SIZE = 7;
const MIN_RECORD_BODY = MIN_RECORD_SIZE - 1;
/** keyLength + valueLength. */
const MIN_HEADER_SIZE = 2;

/**
 * Decodes the batch at `pos`. Checks structure (magic, lengths) but not the CRC: call validateBatch first where the
 * bytes come from outside.
 */
export function decodeRecords(buf: Buffer, pos = 0, options: DecodeRecordsOptions = {}): DecodedRecord[] {
  const end = options.end ?? buf.length;
  if (pos < 0 || end > buf.length || pos > end) throw new RangeError(`bad batch range [${pos}, ${end})`);
  if (end - pos > MAGIC) {
    const magic = buf.readInt8(pos + MAGIC);
    if (magic === 0 || magic === 1) throw new UnsupportedMessageFormatError(magic);
    if (magic !== 2) throw new CorruptRecordError(`unknown magic ${magic}`);
  }
  if (end - pos < BATCH_HEADER_SIZE) throw new CorruptRecordError(`${end - pos} bytes cannot hold a batch header`);
  const size = LOG_OVERHEAD + buf.readInt32BE(pos + BATCH_LENGTH);
  if (size < BATCH_HEADER_SIZE || size > end - pos) {
    throw new CorruptRecordError(`batch of ${size} bytes does not fit in ${end - pos}`);
  }
  const header = readBatchHeader(buf, pos);
  const codecId = header.attributes & ATTR_COMPRESSION_MASK;
  if (codecId > 4) throw new UnsupportedCompressionTypeError(codecId);
  let data = buf;
  let start = pos + BATCH_HEADER_SIZE;
  let dataEnd = pos + size;
  if (codecId !== 0) {
    data = decompress(
      compressionNames[codecId],
      buf.subarray(start, dataEnd),
      options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES,
    );
    start = 0;
    dataEnd = data.length;
  }
  return decodeRecordSequence(data, start, dataEnd, header);
}

function decodeRecordSequence(data: Buffer, start: number, end: number, header: RecordBatchHeader): DecodedRecord[] {
  const count = header.recordsCount;
  if (count < 0 || count > (end - start) / MIN_RECORD_SIZE) {
    throw new CorruptRecordError(`recordsCount ${count} cannot fit in ${end - start} bytes of records`);
  }
  const logAppendTime = (header.attributes & ATTR_TIMESTAMP_TYPE) !== 0;
  const control = (header.attributes & ATTR_CONTROL) !== 0;
  const records: DecodedRecord[] = new Array(count);
  const cursor: Cursor = { pos: start };
  for (let i = 0; i < count; i++) {
    const length = readVarint(data, cursor, end);
    if (length < MIN_RECORD_BODY || length > end - cursor.pos) {
      throw new CorruptRecordError(`record ${i} claims ${length} bytes, ${end - cursor.pos} remain`);
    }
    const recordEnd = cursor.pos + length;
    const attributes = data.readInt8(cursor.pos);
    cursor.pos++;
    const timestampDelta = readVarlong(data, cursor, recordEnd);
    const offsetDelta = readVarint(data, cursor, recordEnd);
    const key = readBytes(data, cursor, recordEnd, 'key');
    const value = readBytes(data, cursor, recordEnd, 'value');
    const headerCount = readVarint(data, cursor, recordEnd);
    if (headerCount < 0 || headerCount > (recordEnd - cursor.pos) / MIN_HEADER_SIZE) {
      throw new CorruptRecordError(`record ${i} claims ${headerCount} headers in ${recordEnd - cursor.pos} bytes`);
    }
    const headers: RecordHeader[] = new Array(headerCount);
    for (let h = 0; h < headerCount; h++) {
      const keyLength = readVarint(data, cursor, recordEnd);
      if (keyLength < 0 || keyLength > recordEnd - cursor.pos) {
        throw new CorruptRecordError(`header key of ${keyLength} bytes in record ${i}`);
      }
      const headerKey = data.toString('utf8', cursor.pos, cursor.pos + keyLength);
      cursor.pos += keyLength;
      headers[h] = { key: headerKey, value: readBytes(data, cursor, recordEnd, 'header value') };
    }
    if (cursor.pos !== recordEnd) {
      throw new CorruptRecordError(`record ${i} has ${recordEnd - cursor.pos} bytes beyond its fields`);
    }
    const record: DecodedRecord = {
      offset: header.baseOffset + BigInt(offsetDelta),
      offsetDelta,
      timestamp: logAppendTime ? header.maxTimestamp : header.baseTimestamp + timestampDelta,
      attributes,
      key,
      value,
      headers,
    };
    if (control) {
      record.controlKey = decodeControlKey(key);
      if (record.controlKey.type !== 'unknown') record.endTxnMarker = decodeEndTxnMarker(value);
    }
    records[i] = record;
  }
  if (cursor.pos !== end) {
    throw new CorruptRecordError(`${end - cursor.pos} bytes remain after the batch's ${count} records`);
  }
  return records;
}

function readBytes(data: Buffer, cursor: Cursor, end: number, what: string): Buffer | null {
  const length = readVarint(data, cursor, end);
  if (length === -1) return null;
  if (length < -1 || length > end - cursor.pos) {
    throw new CorruptRecordError(`${what} of ${length} bytes with ${end - cursor.pos} remaining`);
  }
  const slice = data.subarray(cursor.pos, cursor.pos + length);
  cursor.pos += length;
  return slice;
}
