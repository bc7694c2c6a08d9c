/**
 * Control records: the single record of a control batch, written by the transaction coordinator to mark a
 * transaction's end in each partition. Key: version int16, type int16 (0 abort, 1 commit; KRaft adds other types).
 * Value of abort/commit markers (EndTxnMarker): version int16, coordinatorEpoch int32.
 */
import { CorruptRecordError } from './errors.js';

export type ControlRecordType = 'abort' | 'commit' | 'unknown';

export interface ControlRecordKey {
  version: number;
  /** 'unknown' for control types other than transaction markers (e.g. KRaft's leader-change records). */
  type: ControlRecordType;
  /** The raw type code. */
  typeId: number;
}

export interface EndTxnMarker {
  version: number;
  coordinatorEpoch: number;
}

export const CONTROL_TYPE_ABORT = 0;
export const CONTROL_TYPE_COMMIT = 1;
const CONTROL_KEY_SIZE = 4;
const END_TXN_MARKER_SIZE = 6;

export function decodeControlKey(key: Buffer | null): ControlRecordKey {
  if (key === null || key.length < CONTROL_KEY_SIZE) {
    throw new CorruptRecordError(`control record key of ${key === null ? 'null' : key.length} bytes is too short`);
  }
  const version = key.readInt16BE(0);
  const typeId = key.readInt16BE(2);
  const type = typeId === CONTROL_TYPE_ABORT ? 'abort' : typeId === CONTROL_TYPE_COMMIT ? 'commit' : 'unknown';
  return { version, type, typeId };
}

export function decodeEndTxnMarker(value: Buffer | null): EndTxnMarker {
  if (value === null || value.length < END_TXN_MARKER_SIZE) {
    throw new CorruptRecordError(
      `end transaction marker of ${value === null ? 'null' : value.length} bytes is too short`,
    );
  }
  return { version: value.readInt16BE(0), coordinatorEpoch: value.readInt32BE(2) };
}

export function encodeControlKey(type: 'abort' | 'commit', version = 0): Buffer {
  const key = Buffer.allocUnsafe(CONTROL_KEY_SIZE);
  key.writeInt16BE(version, 0);
  key.writeInt16BE(type === 'abort' ? CONTROL_TYPE_ABORT : CONTROL_TYPE_COMMIT, 2);
  return key;
}

export function encodeEndTxnMarker(coordinatorEpoch: number, version = 0): Buffer {
  const value = Buffer.allocUnsafe(END_TXN_MARKER_SIZE);
  value.writeInt16BE(version, 0);
  value.writeInt32BE(coordinatorEpoch, 2);
  return value;
}
