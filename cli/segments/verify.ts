/**
 * `berth segments verify`: checks a data directory, a partition directory or one segment, and says what is wrong
 * and where (file and byte position):
 * - every batch: magic, length, CRC32C, header consistency (validateBatch with origin 'log'; with `deep`, the records
 *   are decoded and their offset deltas checked too);
 * - offsets: increasing within and across segments, no overlap; gaps are reported (legal after compaction, which
 *   Berth does not do: an error unless allowGaps, then a warning);
 * - the tail: a partial batch (torn write) or undecodable bytes are errors; zeros to the end of the file are a
 *   preallocated active segment, not corruption;
 * - .index entries: ordered, pointing at batch starts, offsets within the batch at that position and the segment;
 *   .timeindex entries: ordered, offsets within the segment, timestamps equal to the largest batch timestamp up to
 *   that offset (as the log writes them); zeros after the entries are preallocation;
 * - checkpoints: recovery-point and log-start-offset checkpoints at the data root, leader-epoch-checkpoint and
 *   partition.metadata per partition: well formed, and offsets not past the log end.
 */
import fs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ATTRIBUTES, CRC } from '../../protocol/records/batch-header.js';
import { crc32c } from '../../protocol/records/crc32c.js';
import { validateBatch } from '../../protocol/records/record-batch.js';
import { readCheckpointLines, readPartitionMetadata } from '../../storage/checkpoint-file.js';
import { findSegments, type PartitionSegments, totalLogBytes } from './find-segments.js';
import { readIndexFile, segmentBaseOffset, walkLog } from './segment-file.js';

export interface Problem {
  severity: 'error' | 'warning';
  /** Stable identifiers: crc, batch, offset-order, offset-gap, torn-tail, corrupt-tail, index, timeindex, checkpoint. */
  kind: string;
  file: string;
  /** Byte position in `file`, when the problem has one. */
  position: number | null;
  message: string;
}

export interface VerifyReport {
  partitions: number;
  segments: number;
  batches: number;
  records: number;
  bytes: number;
  errors: number;
  warnings: number;
  problems: Problem[];
}

export interface VerifyOptions {
  /** Offset gaps become warnings (logs compacted by Kafka). */
  allowGaps?: boolean;
  /** Also decode every batch's records (decompressing them). */
  deep?: boolean;
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

interface BatchPos {
  position: number;
  baseOffset: number;
  lastOffset: number;
  /** Largest batch maxTimestamp from the segment's start up to this batch. */
  runningMaxTimestamp: number;
}

class Verifier {
  readonly report: VerifyReport = {
    partitions: 0,
    segments: 0,
    batches: 0,
    records: 0,
    bytes: 0,
    errors: 0,
    warnings: 0,
    problems: [],
  };
  private bytesDone = 0;

  constructor(
    private readonly opts: VerifyOptions,
    private readonly bytesTotal: number,
  ) {}

  problem(severity: Problem['severity'], kind: string, file: string, position: number | null, message: string) {
    this.report.problems.push({ severity, kind, file, position, message });
    if (severity === 'error') this.report.errors++;
    else this.report.warnings++;
  }

  gap(file: string, position: number | null, message: string) {
    this.problem(this.opts.allowGaps ? 'warning' : 'error', 'offset-gap', file, position, message);
  }

  /** Verifies one partition's segments; returns its log end offset. */
  partition(p: PartitionSegments, checkFiles: boolean): number {
    this.report.partitions++;
    let expected: number | null = null;
    for (const log of p.logs) expected = this.segment(log, expected);
    if (checkFiles) this.partitionFiles(p.dir, expected ?? 0);
    return expected ?? 0;
  }

  private segment(log: string, expectedIn: number | null): number {
    this.report.segments++;
    const base = segmentBaseOffset(log) ?? 0;
    if (expectedIn !== null && base < expectedIn) {
      this.problem(
        'error',
        'offset-order',
        log,
        null,
        `segment base offset ${base} is below ${expectedIn}, where the previous segment ended`,
      );
    } else if (expectedIn !== null && base > expectedIn) {
      this.gap(log, null, `offsets ${expectedIn}..${base - 1} are missing between segments`);
    }
    let expected = Math.max(base, expectedIn ?? base);
    let firstBatch = true;
    let runningMax = -1;
    const batches: BatchPos[] = [];
    const doneBefore = this.bytesDone;
    const end = walkLog(
      log,
      (b) => {
        const h = b.header;
        this.report.batches++;
        this.report.records += h.recordsCount;
        const baseOffset = Number(h.baseOffset);
        const lastOffset = baseOffset + h.lastOffsetDelta;
        if (!b.crcOk) {
          const computed = crc32c(b.bytes, ATTRIBUTES, b.size);
          this.problem(
            'error',
            'crc',
            log,
            b.position,
            `batch at offset ${baseOffset}: CRC mismatch (stored 0x${b.bytes.readUInt32BE(CRC).toString(16).padStart(8, '0')}, computed 0x${computed.toString(16).padStart(8, '0')})`,
          );
        } else {
          try {
            validateBatch(b.bytes, 0, { origin: 'log', records: this.opts.deep === true });
          } catch (err) {
            this.problem('error', 'batch', log, b.position, `batch at offset ${baseOffset}: ${(err as Error).message}`);
          }
        }
        if (firstBatch && baseOffset < base) {
          this.problem(
            'error',
            'offset-order',
            log,
            b.position,
            `first batch offset ${baseOffset} is below the segment's base offset ${base}`,
          );
        } else if (baseOffset < expected) {
          this.problem(
            'error',
            'offset-order',
            log,
            b.position,
            `batch offset ${baseOffset} does not follow ${expected - 1}`,
          );
        } else if (baseOffset > expected) {
          this.gap(log, b.position, `offsets ${expected}..${baseOffset - 1} are missing before this batch`);
        }
        firstBatch = false;
        expected = Math.max(expected, lastOffset + 1);
        runningMax = Math.max(runningMax, Number(h.maxTimestamp));
        batches.push({ position: b.position, baseOffset, lastOffset, runningMaxTimestamp: runningMax });
      },
      (read) => this.progress(doneBefore + read),
    );
    this.report.bytes += end.fileSize;
    this.bytesDone = doneBefore + end.fileSize;
    this.progress(this.bytesDone);
    if (end.stop === 'partial') {
      this.problem(
        'error',
        'torn-tail',
        log,
        end.stopPosition,
        `${end.fileSize - end.stopPosition} bytes at the end are not a whole batch (${end.detail})`,
      );
    } else if (end.stop === 'corrupt') {
      this.problem(
        'error',
        'corrupt-tail',
        log,
        end.stopPosition,
        `unreadable bytes: ${end.detail}; the rest of the segment (${end.fileSize - end.stopPosition} bytes) was not checked`,
      );
    }
    this.offsetIndex(log, base, batches, expected);
    this.timeIndex(log, base, batches, expected);
    return expected;
  }

  private offsetIndex(log: string, base: number, batches: BatchPos[], nextOffset: number): void {
    const file = log.replace(/\.log$/, '.index');
    if (!fs.existsSync(file)) {
      this.problem('warning', 'index', file, null, 'missing (the broker rebuilds it from the .log)');
      return;
    }
    const idx = readIndexFile(file, 'offset');
    if (idx.partialBytes)
      this.problem(
        'error',
        'index',
        file,
        idx.entries.length * 8,
        `${idx.partialBytes} bytes past the last whole entry`,
      );
    let prevRel = -1;
    let prevPos = -1;
    for (const [i, e] of idx.entries.entries()) {
      const offset = base + e.key;
      const at = `entry ${i} (offset ${offset}, position ${e.value})`;
      if (e.key <= prevRel || e.value <= prevPos) {
        this.problem('error', 'index', file, e.position, `${at}: not after the previous entry`);
      }
      prevRel = e.key;
      prevPos = e.value;
      const batch = batchAt(batches, e.value);
      if (!batch) {
        this.problem(
          'error',
          'index',
          file,
          e.position,
          `${at}: position is not the start of a batch in ${basename(log)}`,
        );
      } else if (offset < batch.baseOffset || offset >= nextOffset) {
        this.problem(
          'error',
          'index',
          file,
          e.position,
          `${at}: the batch there starts at offset ${batch.baseOffset}, the segment ends before ${nextOffset}`,
        );
      }
    }
  }

  private timeIndex(log: string, base: number, batches: BatchPos[], nextOffset: number): void {
    const file = log.replace(/\.log$/, '.timeindex');
    if (!fs.existsSync(file)) {
      this.problem('warning', 'timeindex', file, null, 'missing (the broker rebuilds it from the .log)');
      return;
    }
    const idx = readIndexFile(file, 'time');
    if (idx.partialBytes)
      this.problem(
        'error',
        'timeindex',
        file,
        idx.entries.length * 12,
        `${idx.partialBytes} bytes past the last whole entry`,
      );
    let prevTs = Number.NEGATIVE_INFINITY;
    let prevRel = -1;
    for (const [i, e] of idx.entries.entries()) {
      const offset = base + e.value;
      const at = `entry ${i} (timestamp ${e.key}, offset ${offset})`;
      if (e.key < prevTs || e.value < prevRel) {
        this.problem('error', 'timeindex', file, e.position, `${at}: not after the previous entry`);
      }
      prevTs = e.key;
      prevRel = e.value;
      const batch = batchContaining(batches, offset);
      if (!batch || offset >= nextOffset) {
        this.problem('error', 'timeindex', file, e.position, `${at}: no batch of ${basename(log)} holds that offset`);
      } else if (batch.runningMaxTimestamp !== e.key) {
        this.problem(
          'error',
          'timeindex',
          file,
          e.position,
          `${at}: the largest timestamp up to that offset is ${batch.runningMaxTimestamp}`,
        );
      }
    }
  }

  private partitionFiles(dir: string, logEndOffset: number): void {
    const epochFile = join(dir, 'leader-epoch-checkpoint');
    if (fs.existsSync(epochFile)) {
      try {
        let prev: { epoch: number; start: number } | null = null;
        for (const [e, o] of readCheckpointLines(epochFile, 2)) {
          const epoch = Number(e);
          const start = Number(o);
          if (!Number.isSafeInteger(epoch) || !Number.isSafeInteger(start)) throw new Error(`bad entry "${e} ${o}"`);
          if (prev && (epoch <= prev.epoch || start < prev.start)) {
            this.problem(
              'error',
              'checkpoint',
              epochFile,
              null,
              `epoch ${epoch} at ${start} does not follow epoch ${prev.epoch} at ${prev.start}`,
            );
          }
          if (start > logEndOffset) {
            this.problem(
              'error',
              'checkpoint',
              epochFile,
              null,
              `epoch ${epoch} starts at ${start}, past the log end offset ${logEndOffset}`,
            );
          }
          prev = { epoch, start };
        }
      } catch (err) {
        this.problem('error', 'checkpoint', epochFile, null, (err as Error).message);
      }
    }
    try {
      readPartitionMetadata(dir);
    } catch (err) {
      this.problem('error', 'checkpoint', join(dir, 'partition.metadata'), null, (err as Error).message);
    }
  }

  /** Root checkpoints: `topic partition offset` entries checked against the partitions verified. */
  rootCheckpoints(root: string, logEnds: Map<string, { dir: string; logEndOffset: number; firstBase: number }>): void {
    for (const name of ['recovery-point-offset-checkpoint', 'log-start-offset-checkpoint']) {
      const file = join(root, name);
      if (!fs.existsSync(file)) continue;
      let entries: string[][];
      try {
        entries = readCheckpointLines(file, 3);
      } catch (err) {
        this.problem('error', 'checkpoint', file, null, (err as Error).message);
        continue;
      }
      for (const [topic, partition, offsetText] of entries) {
        const p = logEnds.get(`${topic}-${partition}`);
        const offset = Number(offsetText);
        if (!p) continue;
        if (!Number.isSafeInteger(offset) || offset < 0) {
          this.problem('error', 'checkpoint', file, null, `${topic}-${partition}: bad offset "${offsetText}"`);
        } else if (offset > p.logEndOffset) {
          this.problem(
            'error',
            'checkpoint',
            file,
            null,
            `${topic}-${partition}: ${offset} is past the log end offset ${p.logEndOffset}`,
          );
        } else if (name.startsWith('log-start') && offset < p.firstBase) {
          this.problem(
            'warning',
            'checkpoint',
            file,
            null,
            `${topic}-${partition}: log start ${offset} is below the first segment's base offset ${p.firstBase}`,
          );
        }
      }
    }
  }

  private progress(done: number): void {
    this.opts.onProgress?.(Math.min(done, this.bytesTotal), this.bytesTotal);
  }
}

/** The batch starting exactly at `position` (binary search; batches are in position order). */
function batchAt(batches: BatchPos[], position: number): BatchPos | null {
  let lo = 0;
  let hi = batches.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const p = batches[mid].position;
    if (p === position) return batches[mid];
    if (p < position) lo = mid + 1;
    else hi = mid - 1;
  }
  return null;
}

function batchContaining(batches: BatchPos[], offset: number): BatchPos | null {
  let lo = 0;
  let hi = batches.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const b = batches[mid];
    if (offset < b.baseOffset) hi = mid - 1;
    else if (offset > b.lastOffset) lo = mid + 1;
    else return b;
  }
  return null;
}

export function verifyPath(path: string, opts: VerifyOptions = {}): VerifyReport {
  const parts = findSegments(path);
  // One segment file: its partition's other files describe more than was checked, so they are left alone.
  const whole = !fs.statSync(path).isFile();
  const v = new Verifier(opts, totalLogBytes(parts));
  const logEnds = new Map<string, { dir: string; logEndOffset: number; firstBase: number }>();
  for (const p of parts) {
    const logEndOffset = v.partition(p, whole);
    logEnds.set(basename(p.dir), { dir: p.dir, logEndOffset, firstBase: segmentBaseOffset(p.logs[0]) ?? 0 });
  }
  // Checkpoints live at the data root: the directory given, or the parent of a partition directory.
  const roots = new Set(parts.map((p) => dirname(p.dir)));
  if (whole) for (const root of roots) v.rootCheckpoints(root, logEnds);
  return v.report;
}
