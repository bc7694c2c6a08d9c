/**
 * `berth segments inspect <path>` and `berth segments verify <path>`: offline tools on segment files (ours or Apache
 * Kafka's: same format). They read the files only; run them on a stopped broker's directory or a copy, or accept
 * that the active segment may be mid-write.
 */
import type { Command } from 'commander';
import { CliError, EXIT_CORRUPT, EXIT_USAGE } from '../cli-util.js';
import { type BytesEncoding, formatTimestamp, printJson, printTable, renderBytes } from '../output.js';
import { progressBar } from '../progress.js';
import { findSegments, UsageError } from '../segments/find-segments.js';
import { type BatchDump, inspectSegment, type SegmentSummary } from '../segments/inspect.js';
import { verifyPath } from '../segments/verify.js';

interface InspectOptions {
  printRecords?: boolean;
  encoding: string;
  json?: boolean;
}

interface VerifyOptions {
  allowGaps?: boolean;
  deep?: boolean;
  json?: boolean;
}

function encodingOf(value: string): BytesEncoding {
  if (value === 'utf8' || value === 'hex' || value === 'base64') return value;
  throw new CliError(`--encoding expects utf8, hex or base64, got "${value}"`, EXIT_USAGE);
}

function segmentsOf(path: string) {
  try {
    return findSegments(path);
  } catch (err) {
    if (err instanceof UsageError) throw new CliError(err.message, EXIT_USAGE);
    throw err;
  }
}

function batchLine(b: BatchDump): string {
  return (
    `batch position=${b.position} size=${b.size} offsets=${b.baseOffset}..${b.lastOffset} count=${b.count} ` +
    `codec=${b.codec} crc=${b.crcOk ? 'ok' : 'BAD'} maxTimestamp=${b.maxTimestamp} producerId=${b.producerId} ` +
    `producerEpoch=${b.producerEpoch} baseSequence=${b.baseSequence} leaderEpoch=${b.partitionLeaderEpoch}` +
    `${b.transactional ? ' transactional' : ''}${b.control ? ' control' : ''}`
  );
}

function recordsJson(b: BatchDump, encoding: BytesEncoding) {
  return b.records?.map((r) => ({
    offset: String(r.offset),
    timestamp: String(r.timestamp),
    key: renderBytes(r.key, encoding),
    value: renderBytes(r.value, encoding),
    headers: r.headers.map((h) => ({ key: h.key, value: renderBytes(h.value, encoding) })),
    ...(r.controlKey ? { controlType: r.controlKey.type } : {}),
  }));
}

function summaryRow(s: SegmentSummary) {
  return [
    s.file,
    s.baseOffset,
    s.batches,
    s.records,
    s.validBytes,
    s.firstOffset === null ? null : `${s.firstOffset}..${s.lastOffset}`,
    s.minTimestamp === null ? null : `${formatTimestamp(s.minTimestamp)}..${formatTimestamp(s.maxTimestamp)}`,
    s.codecs.join(',') || null,
    s.producerIds.join(',') || null,
    s.indexEntries,
    s.timeIndexEntries,
    s.end === 'end' ? 'end' : s.endDetail ? `${s.end}: ${s.endDetail}` : s.end,
  ];
}

export function registerSegments(program: Command): void {
  const segments = program
    .command('segments')
    .description("inspect and verify segment files (.log, .index, .timeindex) offline; Kafka's own files too");

  segments
    .command('inspect')
    .description('summarize each segment: offsets, batches, records, bytes, time range, codecs, producers, indexes')
    .argument('<path>', 'a data directory, a partition directory, or one segment file')
    .option('--print-records', 'print every batch and its records (compressed batches are decompressed)')
    .option('--encoding <encoding>', 'how keys, values and header values are shown: utf8, hex or base64', 'utf8')
    .option('--json', 'machine-readable output')
    .action((path: string, opts: InspectOptions) => {
      const encoding = encodingOf(opts.encoding);
      const parts = segmentsOf(path);
      const summaries: Array<SegmentSummary & { batchList?: unknown[] }> = [];
      for (const p of parts) {
        for (const log of p.logs) {
          const batchList: unknown[] = [];
          if (opts.printRecords && !opts.json) process.stdout.write(`${log}\n`);
          const s = inspectSegment(log, {
            printRecords: opts.printRecords === true,
            onBatch: opts.printRecords
              ? (b) => {
                  if (opts.json) {
                    const { records: _r, ...rest } = b;
                    batchList.push({ ...rest, records: recordsJson(b, encoding) });
                    return;
                  }
                  process.stdout.write(`${batchLine(b)}\n`);
                  if (b.decodeError) process.stdout.write(`  cannot decode records: ${b.decodeError}\n`);
                  for (const r of recordsJson(b, encoding) ?? []) {
                    const headers = r.headers.map((h) => `${h.key}:${h.value ?? 'null'}`).join(',');
                    process.stdout.write(
                      `  offset=${r.offset} timestamp=${r.timestamp} key=${r.key ?? 'null'} value=${r.value ?? 'null'}` +
                        `${headers ? ` headers=${headers}` : ''}${r.controlType ? ` control=${r.controlType}` : ''}\n`,
                    );
                  }
                }
              : undefined,
          });
          summaries.push(opts.printRecords && opts.json ? { ...s, batchList } : s);
        }
      }
      if (opts.json) {
        printJson({
          segments: summaries.map(({ batchList, ...s }) =>
            batchList ? { ...s, batches: batchList, batchCount: s.batches } : s,
          ),
        });
        return;
      }
      if (opts.printRecords) process.stdout.write('\n');
      printTable(
        [
          'SEGMENT',
          'BASE',
          'BATCHES',
          'RECORDS',
          'BYTES',
          'OFFSETS',
          'TIME RANGE',
          'CODECS',
          'PRODUCERS',
          'INDEX',
          'TIMEINDEX',
          'END',
        ],
        summaries.map(summaryRow),
      );
    });

  segments
    .command('verify')
    .description('check batch CRCs, offset order and gaps, indexes and checkpoints; exit 3 when anything is corrupt')
    .argument('<path>', 'a data directory, a partition directory, or one segment file')
    .option('--allow-gaps', 'report offset gaps as warnings (logs compacted by Kafka), not errors')
    .option('--deep', 'also decode every record (decompressing batches)')
    .option('--json', 'machine-readable output')
    .action((path: string, opts: VerifyOptions) => {
      segmentsOf(path); // usage errors before any output
      const bar = progressBar('verifying');
      let report: ReturnType<typeof verifyPath>;
      try {
        report = verifyPath(path, {
          allowGaps: opts.allowGaps === true,
          deep: opts.deep === true,
          onProgress: (done, total) => bar.update(done, total),
        });
      } finally {
        bar.stop();
      }
      if (opts.json) printJson({ ok: report.errors === 0, ...report });
      else {
        for (const p of report.problems) {
          const where = p.position === null ? p.file : `${p.file}:${p.position}`;
          process.stdout.write(`${p.severity.toUpperCase()} ${p.kind} ${where}: ${p.message}\n`);
        }
        process.stdout.write(
          `${report.errors === 0 ? 'OK' : 'CORRUPT'}: ${report.partitions} partition(s), ${report.segments} segment(s), ` +
            `${report.batches} batches, ${report.records} records, ${report.bytes} bytes; ` +
            `${report.errors} error(s), ${report.warnings} warning(s)\n`,
        );
      }
      if (report.errors > 0) process.exitCode = EXIT_CORRUPT;
    });
}
