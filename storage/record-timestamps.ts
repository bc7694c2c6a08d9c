/**
 * Finds, inside one record batch, the first record whose timestamp is >= a target (ListOffsets by timestamp).
 * Uncompressed CreateTime batches are decoded record by record (only length, timestamp delta and offset delta are
 * read). LogAppendTime batches give every record the batch's maxTimestamp, so their first record answers.
 * Compressed CreateTime batches are decompressed and searched record by record too, as Kafka does: answering with
 * the batch's base offset would make a client that seeks by time (librdkafka's offsets_for_times, kcat -o s@)
 * re-read records older than it asked for. If a batch does not decode, the answer falls back to batch granularity.
 */
import {
  ATTR_COMPRESSION_MASK,
  ATTR_TIMESTAMP_TYPE,
  ATTRIBUTES,
  BASE_OFFSET,
  BASE_TIMESTAMP,
  BATCH_HEADER_SIZE,
  MAX_TIMESTAMP,
  RECORDS_COUNT,
} from '../protocol/records/batch-header.js';
import { decodeRecords } from '../protocol/records/decode-records.js';
import { readInt64Number } from '../protocol/wire/int64.js';

/** Reads a zigzag varint (up to 64 bits) as a number; returns [value, next position]. */
function readVarlong(buf: Buffer, pos: number): [number, number] {
  let result = 0n;
  let shift = 0n;
  let p = pos;
  for (;;) {
    if (p >= buf.length) throw new RangeError('varint past the end of the batch');
    const byte = buf[p++];
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) break;
    shift += 7n;
    if (shift > 63n) throw new RangeError('varint too long');
  }
  const value = (result >> 1n) ^ -(result & 1n);
  return [Number(value), p];
}

export function readTimestampOffset(
  batch: Buffer,
  target: number,
  minOffset: number,
): { offset: number; timestamp: number } | null {
  const baseOffset = readInt64Number(batch, BASE_OFFSET);
  const attributes = batch.readInt16BE(ATTRIBUTES);
  const maxTimestamp = readInt64Number(batch, MAX_TIMESTAMP);
  if (maxTimestamp < target) return null;
  if ((attributes & ATTR_TIMESTAMP_TYPE) !== 0) {
    return { offset: Math.max(baseOffset, minOffset), timestamp: maxTimestamp };
  }
  if ((attributes & ATTR_COMPRESSION_MASK) !== 0) return searchCompressed(batch, target, minOffset, maxTimestamp);
  const baseTimestamp = readInt64Number(batch, BASE_TIMESTAMP);
  const count = batch.readInt32BE(RECORDS_COUNT);
  let pos = BATCH_HEADER_SIZE;
  try {
    for (let i = 0; i < count; i++) {
      const [length, afterLength] = readVarlong(batch, pos);
      const [tsDelta, afterTs] = readVarlong(batch, afterLength + 1);
      const [offsetDelta] = readVarlong(batch, afterTs);
      const offset = baseOffset + offsetDelta;
      const ts = baseTimestamp + tsDelta;
      if (ts >= target && offset >= minOffset) return { offset, timestamp: ts };
      pos = afterLength + length;
    }
  } catch {
    // A malformed record section: answer at batch granularity rather than fail the lookup.
  }
  return { offset: Math.max(baseOffset, minOffset), timestamp: maxTimestamp };
}

function searchCompressed(
  batch: Buffer,
  target: number,
  minOffset: number,
  maxTimestamp: number,
): { offset: number; timestamp: number } {
  const baseOffset = readInt64Number(batch, BASE_OFFSET);
  try {
    for (const r of decodeRecords(batch, 0)) {
      const offset = Number(r.offset);
      const ts = Number(r.timestamp);
      if (ts >= target && offset >= minOffset) return { offset, timestamp: ts };
    }
  } catch {
    // Does not decompress or decode: answer at batch granularity rather than fail the lookup.
  }
  return { offset: Math.max(baseOffset, minOffset), timestamp: maxTimestamp };
}
