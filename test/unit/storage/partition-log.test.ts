import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { FaultyEngine } from '../../../storage/io/faulty-engine.js';
import type { IoEngine } from '../../../storage/io/io-engine.js';
import { PartitionLog } from '../../../storage/partition-log.js';
import { OffsetOutOfRangeError } from '../../../storage/storage-error.js';
import { batchOf, kafkajsBatch } from './helpers/batches.js';
import { removeDir, tempDir, testEngines } from './helpers/engines.js';
import { untilRolledSealed } from './helpers/seals.js';

const engines = await testEngines();

/** An independent reader of a .log file, written from the format description: returns each batch's fields. */
function parseLog(buf: Buffer) {
  const out: Array<{ baseOffset: number; lastOffset: number; epoch: number; size: number; maxTs: number }> = [];
  let pos = 0;
  while (pos + 12 <= buf.length) {
    const len = buf.readInt32BE(pos + 8);
    if (len <= 0) break;
    const base = Number(buf.readBigInt64BE(pos));
    out.push({
      baseOffset: base,
      lastOffset: base + buf.readInt32BE(pos + 23),
      epoch: buf.readInt32BE(pos + 12),
      size: len + 12,
      maxTs: Number(buf.readBigInt64BE(pos + 35)),
    });
    pos += len + 12;
  }
  return { batches: out, end: pos };
}

describe.each(engines)('PartitionLog on $name engine', ({ create }) => {
  let dir: string;
  let engine: IoEngine;
  const logs: PartitionLog[] = [];

  async function open(config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
    const log = await PartitionLog.open({ dir, topic: 't', partition: 0, engine, config, ...extra });
    logs.push(log);
    return log;
  }

  async function setup() {
    dir = path.join(tempDir(), 't-0');
    engine = await create();
  }

  afterEach(async () => {
    for (const l of logs.splice(0)) await l.close();
    await engine?.close();
    if (dir) removeDir(path.dirname(dir));
  });

  it('assigns offsets, stamps the leader epoch and returns the append result', async () => {
    await setup();
    const log = await open();
    const r1 = await log.append(batchOf(3, 10, 1), { leaderEpoch: 5 });
    const r2 = await log.append(Buffer.concat([batchOf(2, 10, 2), batchOf(4, 10, 3)]), { leaderEpoch: 5, acks: -1 });
    expect(r1).toEqual({ baseOffset: 0, lastOffset: 2, logAppendTime: -1, logStartOffset: 0 });
    expect(r2).toMatchObject({ baseOffset: 3, lastOffset: 8 });
    expect(log.logEndOffset).toBe(9);
    expect(log.flushedOffset).toBe(9);
    const seg = log.segments[0];
    const parsed = parseLog(seg.readAllSync());
    expect(parsed.batches.map((b) => [b.baseOffset, b.lastOffset, b.epoch])).toEqual([
      [0, 2, 5],
      [3, 4, 5],
      [5, 8, 5],
    ]);
    expect(log.leaderEpochCache.entries()).toEqual([{ epoch: 5, startOffset: 0 }]);
  });

  it('keeps flushed <= written <= appended while concurrent acks=-1 appends share fdatasyncs', async () => {
    await setup();
    const counting = new FaultyEngine(engine);
    const log = await PartitionLog.open({ dir, topic: 't', partition: 0, engine: counting });
    logs.push(log);
    const pending = Array.from({ length: 50 }, (_, i) => log.append(batchOf(1, 100, i), { acks: -1 }));
    // Offsets are assigned synchronously; nothing is written or flushed yet.
    expect(log.appendedOffset).toBe(50);
    expect(log.flushedOffset).toBeLessThanOrEqual(log.writtenOffset);
    const results = await Promise.all(pending);
    expect(results.map((r) => r.baseOffset)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(log.flushedOffset).toBe(50);
    expect(counting.writes).toBe(50);
    // Group commit: far fewer fdatasyncs than appends (each one covers every write completed before it).
    expect(counting.fdatasyncs).toBeGreaterThanOrEqual(1);
    expect(counting.fdatasyncs).toBeLessThan(25);
    // acks=1 appends do not fdatasync at all (Kafka's default flush.messages / flush.ms never flush).
    const before = counting.fdatasyncs;
    await Promise.all(Array.from({ length: 10 }, (_, i) => log.append(batchOf(1, 100, i))));
    expect(counting.fdatasyncs).toBe(before);
    expect(log.writtenOffset).toBe(60);
    expect(log.flushedOffset).toBe(50);
  });

  it('tells onWritten listeners about the new log end offset before acks=-1 appends resolve', async () => {
    await setup();
    const log = await open();
    const seen: Array<[number, number]> = [];
    const off = log.onWritten((leo) => seen.push([leo, log.flushedOffset]));
    await log.append(batchOf(2, 10, 1), { acks: -1 });
    await log.append(batchOf(1, 10, 2), { acks: -1 });
    off();
    await log.append(batchOf(1, 10, 3));
    expect(seen).toEqual([
      [2, 0],
      [3, 2],
    ]);
  });

  it('flushes in the background after flush.messages messages and after flush.ms', async () => {
    await setup();
    const log = await open({ 'flush.messages': 5 });
    await log.append(batchOf(3, 10, 1));
    expect(log.flushedOffset).toBe(0);
    await log.append(batchOf(3, 10, 2));
    while (log.flushedOffset < 6) await new Promise((r) => setTimeout(r, 1));
    expect(log.flushedOffset).toBe(6);
    log.updateConfig({ 'flush.ms': 5 });
    await log.append(batchOf(1, 10, 3));
    while (log.flushedOffset < 7) await new Promise((r) => setTimeout(r, 1));
    expect(log.flushedOffset).toBe(7);
  });

  it('rolls on segment.bytes, seals the old segment read-only and trimmed, and reads across segments', async () => {
    await setup();
    const log = await open({ 'segment.bytes': 4096, 'index.interval.bytes': 256 });
    const sizes: number[] = [];
    for (let i = 0; i < 30; i++) {
      const b = batchOf(2, 200, i);
      sizes.push(b.length);
      await log.append(b);
    }
    await log.flush();
    expect(log.segments.length).toBeGreaterThan(3);
    await untilRolledSealed(log);
    const first = log.segments[0];
    expect(first.sealed).toBe(true);
    expect(fs.statSync(first.logPath).mode & 0o777).toBe(0o444);
    expect(fs.statSync(first.logPath).size).toBe(first.size);
    expect(fs.statSync(first.offsetIndex.path).size).toBe(first.offsetIndex.entries * 8);
    // Base offsets are 20-digit file names.
    const names = fs.readdirSync(dir).filter((n) => n.endsWith('.log'));
    expect(names[0]).toBe('00000000000000000000.log');
    expect(names[1]).toBe(`${String(log.segments[1].baseOffset).padStart(20, '0')}.log`);
    // A read from offset 0 with a big maxBytes spans every segment, on batch boundaries.
    const ranges = await log.read(0, 1 << 20);
    expect(ranges.length).toBe(log.segments.length);
    const total = ranges.reduce((n, r) => n + r.length, 0);
    expect(total).toBe(sizes.reduce((a, b) => a + b, 0));
    const bytes = Buffer.concat(await Promise.all(ranges.map((r) => log.readBytes(r))));
    const parsed = parseLog(bytes);
    expect(parsed.end).toBe(bytes.length);
    expect(parsed.batches.length).toBe(30);
    expect(parsed.batches[29].lastOffset).toBe(59);
    expect(ranges[0].firstOffset).toBe(0);
    expect(ranges[ranges.length - 1].lastOffset).toBe(59);
  });

  it('reads from an offset inside a batch, caps at maxBytes on batch boundaries, honours minOneBatch', async () => {
    await setup();
    const log = await open({ 'index.interval.bytes': 100 });
    const batchSizes: number[] = [];
    for (let i = 0; i < 20; i++) {
      const b = batchOf(5, 50, i);
      batchSizes.push(b.length);
      await log.append(b);
    }
    const size = batchSizes[0];
    // Offset 12 is inside the third batch (10..14).
    const r = await log.read(12, size * 3 + 10);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ position: size * 2, length: size * 3, firstOffset: 10, lastOffset: 24 });
    // Smaller than one batch: nothing, unless minOneBatch.
    expect(await log.read(12, size - 1)).toEqual([]);
    const one = await log.read(12, 1, { minOneBatch: true });
    expect(one[0]).toMatchObject({ position: size * 2, length: size, firstOffset: 10, lastOffset: 14 });
    // At the log end: empty. Past it or below the start: OFFSET_OUT_OF_RANGE.
    expect(await log.read(100, 1000)).toEqual([]);
    await expect(log.read(101, 1000)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    await expect(log.read(-1, 1000)).rejects.toMatchObject({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE });
  });

  it('finds offsets by timestamp through the time index (record-level for plain batches)', async () => {
    await setup();
    const log = await open({ 'index.interval.bytes': 64, 'segment.bytes': 2000 });
    for (let i = 0; i < 40; i++) await log.append(batchOf(3, 40, i, 1000 + i * 10));
    // Batch i has records at 1000+10i, +1, +2.
    expect(await log.readByTimestamp(0)).toEqual({ offset: 0, timestamp: 1000 });
    expect(await log.readByTimestamp(1001)).toEqual({ offset: 1, timestamp: 1001 });
    expect(await log.readByTimestamp(1005)).toEqual({ offset: 3, timestamp: 1010 });
    expect(await log.readByTimestamp(1252)).toEqual({ offset: 77, timestamp: 1252 });
    expect(await log.readByTimestamp(1393)).toBeNull();
    // After deleteRecords, answers never go below the log start offset.
    log.deleteRecordsBefore(50);
    expect(await log.readByTimestamp(0)).toEqual({ offset: 50, timestamp: 1162 });
  });

  it('rewrites maxTimestamp, the timestamp type bit and the CRC for LogAppendTime topics', async () => {
    await setup();
    let now = 1_800_000_000_000;
    const log = await open({ 'message.timestamp.type': 'LogAppendTime' }, { clock: () => now });
    const r = await log.append(batchOf(2, 10, 1, 5));
    expect(r.logAppendTime).toBe(now);
    now += 1;
    const raw = log.segments[0].readAllSync();
    expect(Number(raw.readBigInt64BE(35))).toBe(1_800_000_000_000);
    expect(raw.readInt16BE(21) & 0x08).toBe(0x08);
    const { crc32c } = await import('../../../protocol/records/crc32c.js');
    expect(raw.readUInt32BE(17)).toBe(crc32c(raw, 21, raw.length));
  });

  it('rolls on segment.ms using the first batch timestamp', async () => {
    await setup();
    let now = 10_000;
    const log = await open({ 'segment.ms': 1000 }, { clock: () => now });
    await log.append(batchOf(1, 10, 1, 10_000));
    now = 10_500;
    await log.append(batchOf(1, 10, 2, 10_500));
    expect(log.segments).toHaveLength(1);
    now = 11_001;
    await log.append(batchOf(1, 10, 3, 11_001));
    expect(log.segments).toHaveLength(2);
    expect(log.segments[1].baseOffset).toBe(2);
  });

  it('stores kafkajs-encoded batches (plain and gzip) byte for byte and reads them back', async () => {
    await setup();
    const log = await open();
    const a = await kafkajsBatch([
      { key: 'k1', value: 'hello', timestamp: 1000 },
      { value: 'world', timestamp: 1005 },
    ]);
    const b = await kafkajsBatch(
      Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`.repeat(20), timestamp: 2000 + i })),
      1,
    );
    const ra = await log.append(Buffer.from(a));
    const rb = await log.append(Buffer.from(b));
    expect([ra.baseOffset, ra.lastOffset, rb.baseOffset, rb.lastOffset]).toEqual([0, 1, 2, 11]);
    const bytes = await log.readBytes((await log.read(0, 1 << 20))[0]);
    // Only baseOffset (0..7) and the leader epoch (12..15) differ from what kafkajs produced.
    const expectA = Buffer.from(a);
    expectA.writeBigInt64BE(0n, 0);
    expectA.writeInt32BE(0, 12);
    const expectB = Buffer.from(b);
    expectB.writeBigInt64BE(2n, 0);
    expectB.writeInt32BE(0, 12);
    expect(bytes.equals(Buffer.concat([expectA, expectB]))).toBe(true);
    expect(await log.readByTimestamp(1003)).toEqual({ offset: 1, timestamp: 1005 });
    // Inside the gzip batch: the exact record, as Kafka answers (not the batch's base offset).
    expect(await log.readByTimestamp(2005)).toEqual({ offset: 7, timestamp: 2005 });
  });

  it('rejects bytes that are not whole record batches with CORRUPT_MESSAGE', async () => {
    await setup();
    const log = await open();
    const b = batchOf(1, 10, 1);
    await expect(log.append(b.subarray(0, b.length - 1))).rejects.toMatchObject({
      errorCode: ErrorCode.CORRUPT_MESSAGE,
    });
    await expect(log.append(Buffer.alloc(0))).rejects.toMatchObject({ errorCode: ErrorCode.CORRUPT_MESSAGE });
    log.updateConfig({ 'segment.bytes': 100 });
    await expect(log.append(batchOf(1, 200, 1))).rejects.toMatchObject({ errorCode: ErrorCode.RECORD_LIST_TOO_LARGE });
    expect(log.logEndOffset).toBe(0);
  });

  it('deletes sealed segments by retention.bytes, retention.ms and deleteRecordsBefore', async () => {
    await setup();
    let now = 1_000_000;
    const log = await open(
      { 'segment.bytes': 1024, 'retention.ms': 10_000, 'file.delete.delay.ms': 0 },
      { clock: () => now },
    );
    for (let i = 0; i < 20; i++) await log.append(batchOf(1, 300, i, now - 50_000 + i * 1000));
    await log.flush();
    // Only sealed segments are deleted.
    await untilRolledSealed(log);
    const segs = log.segments.length;
    expect(segs).toBeGreaterThan(5);
    // retention.ms: segments whose largest timestamp is older than now - 10 s.
    const deleted = log.deleteOldSegments(now);
    expect(deleted).toBeGreaterThan(0);
    expect(log.logStartOffset).toBe(log.segments[0].baseOffset);
    for (const s of log.segments.slice(0, -1)) expect(now - s.largestTimestamp).toBeLessThanOrEqual(10_000);
    await expect(log.read(0, 100)).rejects.toMatchObject({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE });
    // retention.bytes
    log.updateConfig({ 'segment.bytes': 1024, 'retention.bytes': 1024, 'file.delete.delay.ms': 0 });
    now += 0;
    log.deleteOldSegments(now);
    expect(log.sizeInBytes - log.segments[0].size).toBeLessThan(1024);
    // deleteRecordsBefore moves the start offset even inside a segment.
    const lso = log.deleteRecordsBefore(19);
    expect(lso).toBe(19);
    await expect(log.read(18, 100)).rejects.toMatchObject({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE });
    const r = await log.read(19, 10_000);
    expect(r[0].firstOffset).toBe(19);
    expect(() => log.deleteRecordsBefore(21)).toThrow(OffsetOutOfRangeError);
    // .deleted files are removed in the background (this log's own FileRemover).
    await vi.waitFor(() => expect(fs.readdirSync(dir).filter((n) => n.endsWith('.deleted'))).toEqual([]));
  });

  it('reopens cleanly with the same offsets and contents, and appends after', async () => {
    await setup();
    const log = await open({ 'segment.bytes': 2048, 'index.interval.bytes': 128 });
    for (let i = 0; i < 25; i++) await log.append(batchOf(2, 100, i));
    const before = Buffer.concat(await Promise.all((await log.read(0, 1 << 20)).map((r) => log.readBytes(r))));
    await log.close();
    logs.pop();
    const again = await open({ 'segment.bytes': 2048, 'index.interval.bytes': 128 });
    expect(again.logEndOffset).toBe(50);
    const after = Buffer.concat(await Promise.all((await again.read(0, 1 << 20)).map((r) => again.readBytes(r))));
    expect(after.equals(before)).toBe(true);
    const r = await again.append(batchOf(1, 10, 99));
    expect(r.baseOffset).toBe(50);
    expect((await again.read(50, 1000))[0].firstOffset).toBe(50);
  });
});
