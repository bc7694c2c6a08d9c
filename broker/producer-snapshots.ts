/**
 * Producer-state snapshots, in Kafka's file format beside the segments: `<20-digit offset>.snapshot` holds the
 * state of every producer as of that offset (all batches below it), as
 *   version int16 (1) | crc uint32 (CRC32C of everything after it) | count int32 |
 *   count x { producerId int64, epoch int16, lastSequence int32, lastOffset int64, offsetDelta int32,
 *             timestamp int64, coordinatorEpoch int32 (-1), currentTxnFirstOffset int64 (-1) }.
 * Snapshots are written at clean shutdown (at the log end offset) and after a segment roll; each is written to a
 * temp file, fsynced and renamed, and only the newest few are kept.
 *
 * Loading (at partition open): snapshots beyond the recovered log end offset are deleted (the log was truncated
 * below them), the newest readable one is restored (a corrupt one is deleted and the next older tried), then the
 * batch headers from its offset (or the log start offset without a snapshot) to the log end offset are replayed
 * from the log through PartitionLog's read API. Producers idle for longer than producer.id.expiration.ms are dropped
 * at both steps (producer-state.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { BATCH_HEADER_SIZE, batchSizeAt, readBatchHeader } from '../protocol/records/batch-header.js';
import { crc32c } from '../protocol/records/crc32c.js';
import { readInt64Number, writeInt64Number } from '../protocol/wire/int64.js';
import { readFully } from '../storage/batch-scanner.js';
import { fsyncDir, offsetFileName } from '../storage/file-names.js';
import type { PartitionLog } from '../storage/partition-log.js';
import { PartitionProducerState, type ProducerSnapshotEntry } from './producer-state.js';

export const SNAPSHOT_SUFFIX = '.snapshot';
const TEMP_SUFFIX = '.snapshot.tmp';
const SNAPSHOT_VERSION = 1;
const HEADER_SIZE = 10; // version + crc + count
const ENTRY_SIZE = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8;
const CRC_START = 6;
/** How many snapshots a partition keeps (the newest is what loading uses; one older in case it is damaged). */
const KEEP_SNAPSHOTS = 2;
/** Bytes of log covered per step when replaying it after a snapshot. */
const REPLAY_CHUNK = 4 * 1024 * 1024;
/** Bytes read at each batch to get its header (more headers when batches are small). */
const HEADER_WINDOW = 4096;

export class CorruptSnapshotError extends Error {}

export function encodeSnapshot(entries: readonly ProducerSnapshotEntry[]): Buffer {
  const buf = Buffer.alloc(HEADER_SIZE + entries.length * ENTRY_SIZE);
  buf.writeInt16BE(SNAPSHOT_VERSION, 0);
  buf.writeInt32BE(entries.length, CRC_START);
  let pos = HEADER_SIZE;
  for (const e of entries) {
    buf.writeBigInt64BE(e.producerId, pos);
    buf.writeInt16BE(e.epoch, pos + 8);
    buf.writeInt32BE(e.lastSeq, pos + 10);
    writeInt64Number(buf, e.lastOffset, pos + 14);
    buf.writeInt32BE(e.offsetDelta, pos + 22);
    writeInt64Number(buf, e.timestamp, pos + 26);
    buf.writeInt32BE(-1, pos + 34); // coordinator epoch: no transaction markers yet
    buf.writeBigInt64BE(-1n, pos + 38); // no ongoing transaction
    pos += ENTRY_SIZE;
  }
  buf.writeUInt32BE(crc32c(buf, CRC_START, buf.length), 2);
  return buf;
}

export function decodeSnapshot(buf: Buffer): ProducerSnapshotEntry[] {
  if (buf.length < HEADER_SIZE) throw new CorruptSnapshotError('snapshot shorter than its header');
  const version = buf.readInt16BE(0);
  if (version !== SNAPSHOT_VERSION) throw new CorruptSnapshotError(`snapshot version ${version}`);
  if (crc32c(buf, CRC_START, buf.length) !== buf.readUInt32BE(2)) throw new CorruptSnapshotError('snapshot CRC');
  const count = buf.readInt32BE(CRC_START);
  if (count < 0 || buf.length !== HEADER_SIZE + count * ENTRY_SIZE) {
    throw new CorruptSnapshotError(`snapshot of ${buf.length} bytes cannot hold ${count} entries`);
  }
  const out: ProducerSnapshotEntry[] = [];
  for (let i = 0, pos = HEADER_SIZE; i < count; i++, pos += ENTRY_SIZE) {
    out.push({
      producerId: buf.readBigInt64BE(pos),
      epoch: buf.readInt16BE(pos + 8),
      lastSeq: buf.readInt32BE(pos + 10),
      lastOffset: readInt64Number(buf, pos + 14),
      offsetDelta: buf.readInt32BE(pos + 22),
      timestamp: readInt64Number(buf, pos + 26),
    });
  }
  return out;
}

/** The snapshot files of a partition directory, oldest first. */
export function listSnapshots(dir: string): Array<{ offset: number; file: string }> {
  const out: Array<{ offset: number; file: string }> = [];
  for (const name of fs.readdirSync(dir)) {
    const m = /^(\d{20})\.snapshot$/.exec(name);
    if (m) out.push({ offset: Number(m[1]), file: path.join(dir, name) });
  }
  return out.sort((a, b) => a.offset - b.offset);
}

/**
 * Writes the state at the log's appended offset. The entries are taken synchronously (so they match that offset);
 * the file is written afterwards. Older snapshots beyond the newest KEEP_SNAPSHOTS are deleted.
 */
export async function writeSnapshot(log: PartitionLog, state: PartitionProducerState): Promise<string> {
  const offset = log.appendedOffset;
  state.removeExpired(Date.now());
  const bytes = encodeSnapshot(state.snapshotEntries());
  const file = path.join(log.dir, offsetFileName(offset) + SNAPSHOT_SUFFIX);
  const temp = path.join(log.dir, offsetFileName(offset) + TEMP_SUFFIX);
  const fh = await fs.promises.open(temp, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.promises.rename(temp, file);
  await fsyncDir(log.dir);
  const all = listSnapshots(log.dir);
  for (const old of all.slice(0, Math.max(all.length - KEEP_SNAPSHOTS, 0))) fs.rmSync(old.file, { force: true });
  return file;
}

/** Rebuilds a partition's producer state from its newest usable snapshot and the log after it. */
export async function loadProducerState(
  log: PartitionLog,
  warn: (msg: string) => void = () => {},
): Promise<PartitionProducerState> {
  const state = new PartitionProducerState();
  for (const name of fs.readdirSync(log.dir)) {
    if (name.endsWith(TEMP_SUFFIX)) fs.rmSync(path.join(log.dir, name), { force: true });
  }
  const end = log.writtenOffset;
  let from = log.logStartOffset;
  const snapshots = listSnapshots(log.dir);
  for (const s of snapshots) if (s.offset > end) fs.rmSync(s.file, { force: true });
  for (const s of snapshots.filter((x) => x.offset <= end).reverse()) {
    try {
      state.restore(decodeSnapshot(fs.readFileSync(s.file)));
      from = Math.max(s.offset, log.logStartOffset);
      break;
    } catch (err) {
      if (!(err instanceof CorruptSnapshotError)) throw err;
      warn(`deleting corrupt producer snapshot ${s.file}: ${err.message}`);
      fs.rmSync(s.file, { force: true });
    }
  }
  await replayLog(log, state, from, end);
  state.removeExpired(Date.now());
  const segments = log.segments;
  state.activeSegmentBase = segments.length > 0 ? segments[segments.length - 1].baseOffset : -1;
  return state;
}

/**
 * Replays every batch header in [from, end) into `state`. Only the headers are read (a small window at each batch),
 * never the records: after an unclean stop this runs over every partition's tail, and with large batches reading
 * them whole would read the tails a second time.
 */
async function replayLog(log: PartitionLog, state: PartitionProducerState, from: number, end: number): Promise<void> {
  let offset = from;
  const window = Buffer.allocUnsafe(HEADER_WINDOW);
  while (offset < end) {
    const ranges = await log.read(offset, REPLAY_CHUNK, { minOneBatch: true });
    if (ranges.length === 0) return;
    for (const range of ranges) {
      const rangeEnd = range.position + range.length;
      let windowStart = 0;
      let windowLength = 0;
      for (let pos = range.position; pos < rangeEnd; ) {
        if (pos + BATCH_HEADER_SIZE > windowStart + windowLength) {
          windowStart = pos;
          windowLength = readFully(
            range.fd,
            window,
            0,
            Math.min(window.length, rangeEnd - pos),
            pos,
            range.segmentFile,
          );
          if (windowLength < BATCH_HEADER_SIZE) {
            throw new Error(`short read of a batch header at ${pos} of ${range.segmentFile}`);
          }
        }
        const header = readBatchHeader(window, pos - windowStart);
        const last = Number(header.baseOffset) + header.lastOffsetDelta;
        if (last >= offset) state.replay(header);
        pos += batchSizeAt(window, pos - windowStart);
      }
      offset = Math.max(offset, range.lastOffset + 1);
    }
  }
}
