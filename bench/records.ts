/**
 * Record-batch benchmark: CRC32C, batch validation, record decoding and batch encoding per codec, each beside the
 * same work done by kafkajs (its crc32C, its RecordBatch encoder and decoder) on the same input, as reference.
 * kafkajs has no snappy/lz4/zstd of its own; for those, its codec registry is given the same libraries Berth uses,
 * so the comparison is of the record handling, not of the compressors.
 *
 * Run directly (`node dist/bench/records.js`) to print a table; bench/run.ts can import run().
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { type Crc32cPath, loadNative } from '../native/index.js';
import type { CompressionCodec } from '../protocol/records/batch-header.js';
import { type Crc32cFn, crc32cSoftware } from '../protocol/records/crc32c.js';
import { decodeRecords, encodeRecordBatch, type RecordInput, validateBatch } from '../protocol/records/record-batch.js';

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  reference?: { name: string; value: number };
  note?: string;
}

export interface RecordsBenchOptions {
  /** A faster CRC32C (the native addon's) to measure beside the portable one. */
  crc32cAccelerated?: Crc32cFn;
  /** Milliseconds per measurement (default 300). */
  durationMs?: number;
  /** Records per batch (default 500). */
  recordsPerBatch?: number;
}

const require = createRequire(import.meta.url);
const CODECS: CompressionCodec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

type Op = () => unknown;

/** Ops per second of `fn` over `ms` milliseconds (awaiting it when it returns a promise). */
async function rate(fn: Op, ms: number): Promise<number> {
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    const r = fn();
    if (r instanceof Promise) await r;
    ops++;
    now = performance.now();
  }
  return (ops * 1000) / (now - start);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const ROUNDS = 5;

/**
 * Measures `ours` and `reference` in alternating slices and reports the median of each, so that the machine's drift
 * (two shared cores) hits both sides alike.
 */
async function pair(ours: Op, reference: Op | null, ms: number): Promise<[number, number | null]> {
  await rate(ours, ms / 4); // warm-up
  if (reference) await rate(reference, ms / 4);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    a.push(await rate(ours, ms / ROUNDS));
    if (reference) b.push(await rate(reference, ms / ROUNDS));
  }
  return [median(a), reference ? median(b) : null];
}

/** Deterministic, text-like 100-byte values (compressible as real payloads are). */
function sampleRecords(n: number): RecordInput[] {
  let seed = 12345;
  const next = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed;
  };
  const words = ['order', 'user', 'id', 'amount', 'status', 'shipped', 'eur', '{', '}', ':', ',', '"'];
  return Array.from({ length: n }, (_, i) => {
    let value = '';
    while (value.length < 100) value += words[next() % words.length];
    return {
      key: `key-${i}`,
      value: value.slice(0, 100),
      headers: [
        { key: 'h1', value: 'v1' },
        { key: 'trace', value: 'abc' },
      ],
      timestamp: 1_732_500_000_000n + BigInt(i),
    };
  });
}

interface KafkajsParts {
  Long: { fromString(s: string): unknown };
  Decoder: new (buf: Buffer) => unknown;
  RecordBatch: (opts: Record<string, unknown>) => Promise<{ buffer: Buffer }>;
  Record: (opts: Record<string, unknown>) => unknown;
  decodeBatch: (decoder: unknown) => Promise<{ records: unknown[] }>;
  crc32C: (buf: Buffer) => number;
}

function loadKafkajs(): KafkajsParts | null {
  try {
    const compression = require('kafkajs/src/protocol/message/compression/index.js');
    const snappy = require('snappy');
    const lz4 = require('lz4-napi');
    const zstd = require('zstd-napi');
    const wrap = (c: (b: Buffer) => Buffer, d: (b: Buffer) => Buffer) => () => ({
      compress: async (e: { buffer: Buffer }) => c(e.buffer),
      decompress: async (b: Buffer) => d(b),
    });
    compression.Codecs[2] = wrap(snappy.compressSync, (b) => snappy.uncompressSync(b, { asBuffer: true }));
    compression.Codecs[3] = wrap(lz4.compressFrameSync, lz4.decompressFrameSync);
    compression.Codecs[4] = wrap(zstd.compress, zstd.decompress);
    return {
      Long: require('kafkajs/src/utils/long.js'),
      Decoder: require('kafkajs/src/protocol/decoder.js'),
      RecordBatch: require('kafkajs/src/protocol/recordBatch/v0/index.js').RecordBatch,
      Record: require('kafkajs/src/protocol/recordBatch/record/v0/index.js'),
      decodeBatch: require('kafkajs/src/protocol/recordBatch/v0/decoder.js'),
      crc32C: require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js'),
    };
  } catch {
    return null; // kafkajs is a dev dependency; without it the rows have no reference
  }
}

function kafkajsEncoder(kafkajs: KafkajsParts, records: RecordInput[], codec: CompressionCodec) {
  const first = Number(records[0].timestamp);
  const type = CODECS.indexOf(codec);
  return () =>
    kafkajs.RecordBatch({
      compression: type,
      firstOffset: kafkajs.Long.fromString('0'),
      firstTimestamp: first,
      maxTimestamp: Number(records[records.length - 1].timestamp),
      lastOffsetDelta: records.length - 1,
      records: records.map((r, i) =>
        kafkajs.Record({
          offsetDelta: i,
          timestampDelta: Number(r.timestamp) - first,
          key: r.key,
          value: r.value,
          headers: Object.fromEntries((r.headers ?? []).map((h) => [h.key, h.value])),
        }),
      ),
    });
}

/** Ops per second of each of `ops`, measured in alternating slices (medians), as pair() does for two. */
async function alternate(ops: Op[], ms: number): Promise<number[]> {
  for (const op of ops) await rate(op, ms / 4); // warm-up
  const samples: number[][] = ops.map(() => []);
  for (let i = 0; i < ROUNDS; i++) {
    for (let k = 0; k < ops.length; k++) samples[k].push(await rate(ops[k], ms / ROUNDS));
  }
  return samples.map(median);
}

/**
 * The addon's CRC32C paths side by side: folding with VPCLMULQDQ (clmul512) against the crc32 instruction (sse42),
 * each beside the 256-bit folding (clmul256) and memcpy of the same bytes (Buffer.copy into a warm buffer), all
 * measured in alternating slices. Warm rows repeat one range (in cache); the cold row walks a 256 MiB buffer in 1 MiB
 * pieces, one cursor shared by all four, so every piece comes from memory (the last-level cache is far smaller).
 * Empty without the addon or without clmul512.
 */
async function crc32cPathRows(ms: number): Promise<BenchRow[]> {
  const native = loadNative();
  if (native?.probe().crc32cPath !== 'clmul512') return [];
  const gib = (bytes: number, perSecond: number) => (bytes * perSecond) / 2 ** 30;
  const fixed = (n: number) => n.toFixed(1);
  const rows: BenchRow[] = [];
  const push = (what: string, bytes: number, [clmul, sse42, clmul256, copy]: number[]) =>
    rows.push({
      name: `crc32c clmul512 (${what})`,
      value: gib(bytes, clmul),
      unit: 'GiB/s',
      reference: { name: 'crc32c sse42', value: gib(bytes, sse42) },
      note: `clmul256 ${fixed(gib(bytes, clmul256))} GiB/s; memcpy (same bytes) ${fixed(gib(bytes, copy))} GiB/s`,
    });
  const warm = Buffer.alloc((1 << 20) + 64);
  for (let i = 0; i < warm.length; i++) warm[i] = (i * 2654435761) >>> 24;
  const sink = Buffer.alloc(1 << 20);
  for (const size of [1 << 20, 16 << 10, 1 << 10]) {
    // Several calls per op at small sizes so that the timer's own cost does not count; odd start (as in a frame).
    const calls = Math.max(1, (64 << 10) / size);
    const start = 13;
    const op = (path: Crc32cPath) => {
      const crc = native.crc32cWith(path);
      return () => {
        let c = 0;
        for (let i = 0; i < calls; i++) c = crc(warm, start, start + size, c);
        return c;
      };
    };
    const copy = () => {
      for (let i = 0; i < calls; i++) warm.copy(sink, 0, start, start + size);
    };
    const bytes = calls * size;
    const label = size >= 1 << 20 ? `${size >> 20} MiB` : `${size >> 10} KiB`;
    push(`${label} warm`, bytes, await alternate([op('clmul512'), op('sse42'), op('clmul256'), copy], ms));
  }
  const piece = 1 << 20;
  const cold = Buffer.alloc(256 << 20);
  for (let i = 0; i < cold.length; i += 4096) cold[i] = i >>> 12; // touched: every page is resident
  let at = 0;
  const next = () => {
    const s = at;
    at = (at + piece) % cold.length;
    return s;
  };
  const coldOp = (path: Crc32cPath) => {
    const crc = native.crc32cWith(path);
    return () => {
      const s = next();
      return crc(cold, s, s + piece, 0);
    };
  };
  const coldCopy = () => {
    const s = next();
    cold.copy(sink, 0, s, s + piece);
  };
  push(
    '1 MiB pieces of 256 MiB, from memory',
    piece,
    await alternate([coldOp('clmul512'), coldOp('sse42'), coldOp('clmul256'), coldCopy], ms),
  );
  return rows;
}

export async function run(options: RecordsBenchOptions = {}): Promise<BenchRow[]> {
  const duration = options.durationMs ?? 300;
  const perBatch = options.recordsPerBatch ?? 500;
  const kafkajs = loadKafkajs();
  const rows: BenchRow[] = [];
  const mb = (bytes: number, perSecond: number) => (bytes * perSecond) / 1e6;

  // CRC32C over 1 MiB
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24;
  const [software, kafkajsCrc] = await pair(
    () => crc32cSoftware(block, 0, block.length, 0),
    kafkajs ? () => kafkajs.crc32C(block) : null,
    duration,
  );
  rows.push({
    name: 'crc32c software (1 MiB)',
    value: mb(block.length, software),
    unit: 'MB/s',
    ...(kafkajsCrc === null ? {} : { reference: { name: 'kafkajs crc32C', value: mb(block.length, kafkajsCrc) } }),
  });
  if (options.crc32cAccelerated) {
    const fast = options.crc32cAccelerated;
    if (fast(block, 0, block.length, 0) !== crc32cSoftware(block)) throw new Error('accelerated crc32c disagrees');
    const [accelerated, portable] = await pair(
      () => fast(block, 0, block.length, 0),
      () => crc32cSoftware(block, 0, block.length, 0),
      duration,
    );
    rows.push({
      name: 'crc32c accelerated (1 MiB)',
      value: mb(block.length, accelerated),
      unit: 'MB/s',
      reference: { name: 'crc32c software', value: mb(block.length, portable ?? 0) },
    });
  }

  rows.push(...(await crc32cPathRows(duration)));

  const records = sampleRecords(perBatch);
  for (const codec of CODECS) {
    const batch = encodeRecordBatch({ compression: codec, records, now: 1_732_500_000_000n });
    const note = `${perBatch} records of 100 B, batch ${batch.length} B`;
    const [encode, kafkajsEncode] = await pair(
      () => encodeRecordBatch({ compression: codec, records, now: 1_732_500_000_000n }),
      kafkajs ? kafkajsEncoder(kafkajs, records, codec) : null,
      duration,
    );
    rows.push({
      name: `encode ${codec}`,
      value: encode * perBatch,
      unit: 'records/s',
      note,
      ...(kafkajsEncode === null
        ? {}
        : { reference: { name: 'kafkajs RecordBatch', value: kafkajsEncode * perBatch } }),
    });
    const [decode, kafkajsDecode] = await pair(
      () => decodeRecords(batch, 0),
      kafkajs ? () => kafkajs.decodeBatch(new kafkajs.Decoder(batch)) : null,
      duration,
    );
    rows.push({
      name: `decode ${codec}`,
      value: decode * perBatch,
      unit: 'records/s',
      note,
      ...(kafkajsDecode === null ? {} : { reference: { name: 'kafkajs decoder', value: kafkajsDecode * perBatch } }),
    });
    // validate: header checks + CRC32C, records left compressed (the produce path); reference: the CRC alone
    const [validate, crcOnly] = await pair(
      () => validateBatch(batch, 0),
      () => crc32cSoftware(batch, 21, batch.length, 0),
      duration,
    );
    rows.push({
      name: `validate ${codec}`,
      value: mb(batch.length, validate),
      unit: 'MB/s',
      note: `${Math.round(validate)} batches/s of ${batch.length} B`,
      reference: { name: 'crc32c of the batch alone', value: mb(batch.length, crcOnly ?? 0) },
    });
  }
  return rows;
}

function printTable(rows: BenchRow[]): void {
  const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));
  const lines = rows.map((r) => [
    r.name,
    `${fmt(r.value)} ${r.unit}`,
    r.reference ? `${r.reference.name}: ${fmt(r.reference.value)}` : '',
    r.reference && r.reference.value > 0 ? `${(r.value / r.reference.value).toFixed(2)}x` : '',
    r.note ?? '',
  ]);
  const header = ['benchmark', 'value', 'reference', 'ratio', 'note'];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  for (const l of [header, ...lines])
    console.log(
      l
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run().then(printTable, (err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
