/**
 * `berth segments inspect`: a summary per segment (base offset, batches, records, bytes, offset and time ranges,
 * codecs, producer ids, index entries), and with printRecords every batch and its decoded records (compressed
 * batches are decompressed), in the spirit of Kafka's DumpLogSegments.
 */
import fs from 'node:fs';
import { ATTR_CONTROL, ATTR_TRANSACTIONAL, compressionOf } from '../../protocol/records/batch-header.js';
import { type DecodedRecord, decodeRecords } from '../../protocol/records/decode-records.js';
import { readIndexFile, segmentBaseOffset, type WalkedBatch, walkLog } from './segment-file.js';

export interface SegmentSummary {
  file: string;
  baseOffset: number;
  fileSize: number;
  /** Bytes covered by whole batches. */
  validBytes: number;
  batches: number;
  records: number;
  firstOffset: number | null;
  lastOffset: number | null;
  minTimestamp: number | null;
  maxTimestamp: number | null;
  codecs: string[];
  producerIds: string[];
  transactionalBatches: number;
  controlBatches: number;
  crcErrors: number;
  indexEntries: number | null;
  timeIndexEntries: number | null;
  /** How the walk ended: end, zeros (preallocated tail), partial (torn), corrupt. */
  end: string;
  endDetail: string | null;
}

export interface BatchDump {
  position: number;
  size: number;
  baseOffset: string;
  lastOffset: string;
  count: number;
  codec: string;
  crcOk: boolean;
  baseTimestamp: string;
  maxTimestamp: string;
  producerId: string;
  producerEpoch: number;
  baseSequence: number;
  partitionLeaderEpoch: number;
  transactional: boolean;
  control: boolean;
  /** With printRecords; undefined when the records could not be decoded (decodeError says why). */
  records?: DecodedRecord[];
  decodeError?: string;
}

export interface InspectOptions {
  printRecords?: boolean;
  onBatch?: (b: BatchDump) => void;
}

function indexCount(path: string, kind: 'offset' | 'time'): number | null {
  if (!fs.existsSync(path)) return null;
  return readIndexFile(path, kind).entries.length;
}

export function dumpBatch(b: WalkedBatch, printRecords: boolean): BatchDump {
  const h = b.header;
  const dump: BatchDump = {
    position: b.position,
    size: b.size,
    baseOffset: String(h.baseOffset),
    lastOffset: String(h.baseOffset + BigInt(h.lastOffsetDelta)),
    count: h.recordsCount,
    codec: compressionOf(h.attributes),
    crcOk: b.crcOk,
    baseTimestamp: String(h.baseTimestamp),
    maxTimestamp: String(h.maxTimestamp),
    producerId: String(h.producerId),
    producerEpoch: h.producerEpoch,
    baseSequence: h.baseSequence,
    partitionLeaderEpoch: h.partitionLeaderEpoch,
    transactional: (h.attributes & ATTR_TRANSACTIONAL) !== 0,
    control: (h.attributes & ATTR_CONTROL) !== 0,
  };
  if (printRecords) {
    try {
      // Copy: the batch bytes are a view into a window that the next read reuses.
      dump.records = decodeRecords(Buffer.from(b.bytes), 0);
    } catch (err) {
      dump.decodeError = (err as Error).message;
    }
  }
  return dump;
}

export function inspectSegment(logPath: string, opts: InspectOptions = {}): SegmentSummary {
  const base = segmentBaseOffset(logPath) ?? 0;
  const s: SegmentSummary = {
    file: logPath,
    baseOffset: base,
    fileSize: 0,
    validBytes: 0,
    batches: 0,
    records: 0,
    firstOffset: null,
    lastOffset: null,
    minTimestamp: null,
    maxTimestamp: null,
    codecs: [],
    producerIds: [],
    transactionalBatches: 0,
    controlBatches: 0,
    crcErrors: 0,
    indexEntries: indexCount(logPath.replace(/\.log$/, '.index'), 'offset'),
    timeIndexEntries: indexCount(logPath.replace(/\.log$/, '.timeindex'), 'time'),
    end: 'end',
    endDetail: null,
  };
  const codecs = new Set<string>();
  const producers = new Set<string>();
  const end = walkLog(
    logPath,
    (b) => {
      const h = b.header;
      s.batches++;
      s.records += h.recordsCount;
      s.validBytes = b.position + b.size;
      const first = Number(h.baseOffset);
      const last = first + h.lastOffsetDelta;
      s.firstOffset ??= first;
      s.lastOffset = last;
      const minTs = Number(h.baseTimestamp);
      const maxTs = Number(h.maxTimestamp);
      if (minTs >= 0) s.minTimestamp = s.minTimestamp === null ? minTs : Math.min(s.minTimestamp, minTs);
      if (maxTs >= 0) s.maxTimestamp = s.maxTimestamp === null ? maxTs : Math.max(s.maxTimestamp, maxTs);
      codecs.add(compressionOf(h.attributes));
      if (h.producerId >= 0n) producers.add(String(h.producerId));
      if (h.attributes & ATTR_TRANSACTIONAL) s.transactionalBatches++;
      if (h.attributes & ATTR_CONTROL) s.controlBatches++;
      if (!b.crcOk) s.crcErrors++;
      opts.onBatch?.(dumpBatch(b, opts.printRecords === true));
    },
    undefined,
    false,
  );
  s.fileSize = end.fileSize;
  s.end = end.stop;
  s.endDetail = end.detail ?? null;
  s.codecs = [...codecs].sort();
  s.producerIds = [...producers].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  return s;
}
