/**
 * `segments verify` and `segments inspect` on segment files written here byte by byte in Kafka's format (the way
 * Apache Kafka writes them), then damaged in known places.
 */
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inspectSegment } from '../../../../cli/segments/inspect.js';
import { verifyPath } from '../../../../cli/segments/verify.js';
import { encodeRecordBatch } from '../../../../protocol/records/encode-batch.js';

const T0 = 1_700_000_000_000n;

interface Written {
  dir: string;
  log: string;
  positions: number[];
  sizes: number[];
}

/** Writes `<dir>/orders-0/<base>.log` with batches of `counts` records from `base`, an .index entry per batch from
 * the second on (as index.interval.bytes=0 would), and a .timeindex entry per batch. */
function writeSegment(
  root: string,
  counts: number[],
  opts: { base?: number; gapAfter?: number; compression?: 'none' | 'gzip' | 'zstd'; producerId?: bigint } = {},
): Written {
  const dir = join(root, 'orders-0');
  fs.mkdirSync(dir, { recursive: true });
  const base = opts.base ?? 0;
  const name = String(base).padStart(20, '0');
  const batches: Buffer[] = [];
  const positions: number[] = [];
  const index: Buffer[] = [];
  const timeIndex: Buffer[] = [];
  let offset = base;
  let position = 0;
  let maxTs = -1n;
  for (const [i, n] of counts.entries()) {
    const ts = T0 + BigInt(i * 1000);
    const batch = encodeRecordBatch({
      baseOffset: BigInt(offset),
      compression: opts.compression ?? 'none',
      producerId: opts.producerId ?? -1n,
      producerEpoch: opts.producerId === undefined ? -1 : 0,
      baseSequence: opts.producerId === undefined ? -1 : offset,
      records: Array.from({ length: n }, (_, r) => ({
        key: `k${offset + r}`,
        value: `value-${offset + r}`,
        headers: [{ key: 'trace', value: `t${offset + r}` }],
        timestamp: ts + BigInt(r),
      })),
    });
    const last = offset + n - 1;
    maxTs = ts + BigInt(n - 1) > maxTs ? ts + BigInt(n - 1) : maxTs;
    if (i > 0) {
      const e = Buffer.alloc(8);
      e.writeUInt32BE(last - base, 0);
      e.writeUInt32BE(position, 4);
      index.push(e);
    }
    const t = Buffer.alloc(12);
    t.writeBigInt64BE(maxTs, 0);
    t.writeUInt32BE(last - base, 8);
    timeIndex.push(t);
    batches.push(batch);
    positions.push(position);
    position += batch.length;
    offset = last + 1 + (opts.gapAfter === i ? 5 : 0);
  }
  const log = join(dir, `${name}.log`);
  fs.writeFileSync(log, Buffer.concat(batches));
  fs.writeFileSync(join(dir, `${name}.index`), Buffer.concat(index));
  fs.writeFileSync(join(dir, `${name}.timeindex`), Buffer.concat(timeIndex));
  fs.writeFileSync(join(dir, 'leader-epoch-checkpoint'), '0\n1\n0 0\n');
  fs.writeFileSync(join(dir, 'partition.metadata'), 'version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ\n');
  return { dir, log, positions, sizes: batches.map((b) => b.length) };
}

describe('segments verify', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(join(tmpdir(), 'ops-verify-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('passes a sound data directory, with zeros after the last batch (a preallocated active segment)', () => {
    const w = writeSegment(root, [3, 2, 4]);
    fs.appendFileSync(w.log, Buffer.alloc(8192));
    fs.appendFileSync(w.log.replace('.log', '.index'), Buffer.alloc(80));
    fs.writeFileSync(join(root, 'recovery-point-offset-checkpoint'), '0\n1\norders 0 9\n');
    fs.writeFileSync(join(root, 'log-start-offset-checkpoint'), '0\n1\norders 0 0\n');
    const r = verifyPath(root);
    expect(r.problems).toEqual([]);
    expect(r).toMatchObject({ partitions: 1, segments: 1, batches: 3, records: 9, errors: 0 });
  });

  it('reports a flipped byte as a CRC error at the batch position', () => {
    const w = writeSegment(root, [3, 2, 4]);
    const buf = fs.readFileSync(w.log);
    const at = w.positions[1] + 70; // inside the second batch's records
    buf[at] ^= 0x01;
    fs.writeFileSync(w.log, buf);
    const r = verifyPath(root);
    expect(r.errors).toBe(1);
    expect(r.problems[0]).toMatchObject({ kind: 'crc', file: w.log, position: w.positions[1], severity: 'error' });
    expect(r.problems[0].message).toMatch(/offset 3: CRC mismatch/);
  });

  it('reports a torn last batch at the position where it starts', () => {
    const w = writeSegment(root, [3, 2, 4]);
    fs.truncateSync(w.log, w.positions[2] + 30);
    const r = verifyPath(root);
    expect(r.problems.find((p) => p.kind === 'torn-tail')).toMatchObject({ file: w.log, position: w.positions[2] });
  });

  it('reports non-zero bytes after the zeros of a preallocated tail', () => {
    const w = writeSegment(root, [3]);
    const tail = Buffer.alloc(4096);
    tail[3000] = 7;
    fs.appendFileSync(w.log, tail);
    const r = verifyPath(root);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ kind: 'corrupt-tail', position: w.sizes[0] });
    expect(r.problems[0].message).toContain(`non-zero byte at ${w.sizes[0] + 3000}`);
  });

  it('reports offset gaps as errors, or as warnings with allowGaps', () => {
    const w = writeSegment(root, [3, 2, 4], { gapAfter: 0 });
    const r = verifyPath(root);
    expect(r.problems.map((p) => [p.kind, p.position])).toEqual([['offset-gap', w.positions[1]]]);
    expect(r.problems[0].message).toBe('offsets 3..7 are missing before this batch');
    const lenient = verifyPath(root, { allowGaps: true });
    expect(lenient.errors).toBe(0);
    expect(lenient.warnings).toBe(1);
  });

  it('reports index entries that point between batches, with the entry position in the index file', () => {
    const w = writeSegment(root, [3, 2, 4]);
    const indexFile = w.log.replace('.log', '.index');
    const idx = fs.readFileSync(indexFile);
    idx.writeUInt32BE(w.positions[2] + 1, 8 + 4); // second entry's position, off by one
    fs.writeFileSync(indexFile, idx);
    const r = verifyPath(root);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ kind: 'index', file: indexFile, position: 8 });
    expect(r.problems[0].message).toContain('not the start of a batch');
  });

  it('reports time index entries whose timestamp is not the largest up to their offset', () => {
    const w = writeSegment(root, [3, 2]);
    const file = w.log.replace('.log', '.timeindex');
    const idx = fs.readFileSync(file);
    idx.writeBigInt64BE(T0 + 999n, 12);
    fs.writeFileSync(file, idx);
    const r = verifyPath(root);
    expect(r.problems.map((p) => [p.kind, p.position])).toEqual([['timeindex', 12]]);
  });

  it('checks checkpoints against the log end offset', () => {
    writeSegment(root, [3]);
    fs.writeFileSync(join(root, 'recovery-point-offset-checkpoint'), '0\n1\norders 0 42\n');
    fs.writeFileSync(join(root, 'log-start-offset-checkpoint'), '0\nnot a count\n');
    const r = verifyPath(root);
    expect(r.problems.map((p) => p.kind)).toEqual(['checkpoint', 'checkpoint']);
    expect(r.problems[0].message).toContain('42 is past the log end offset 3');
  });

  it('reports a segment whose base offset overlaps the previous one', () => {
    writeSegment(root, [3, 2]);
    writeSegment(root, [2], { base: 4 });
    const r = verifyPath(join(root, 'orders-0'));
    expect(r.problems.some((p) => p.kind === 'offset-order' && p.file.endsWith('00000000000000000004.log'))).toBe(true);
  });

  it('decodes records with deep, and reads a single segment file', () => {
    const w = writeSegment(root, [5, 5], { compression: 'zstd' });
    const r = verifyPath(w.log, { deep: true });
    expect(r).toMatchObject({ segments: 1, batches: 2, records: 10, errors: 0 });
  });
});

describe('segments inspect', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(join(tmpdir(), 'ops-inspect-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('summarizes a segment and decodes compressed records', () => {
    const w = writeSegment(root, [2, 3], { compression: 'gzip', producerId: 77n });
    const batches: Array<{ baseOffset: string; codec: string; values: string[] }> = [];
    const s = inspectSegment(w.log, {
      printRecords: true,
      onBatch: (b) =>
        batches.push({
          baseOffset: b.baseOffset,
          codec: b.codec,
          values: (b.records ?? []).map((r) => `${r.key}=${r.value}/${r.headers[0].value}`),
        }),
    });
    expect(s).toMatchObject({
      baseOffset: 0,
      batches: 2,
      records: 5,
      firstOffset: 0,
      lastOffset: 4,
      minTimestamp: Number(T0),
      maxTimestamp: Number(T0) + 1002,
      codecs: ['gzip'],
      producerIds: ['77'],
      crcErrors: 0,
      indexEntries: 1,
      timeIndexEntries: 2,
      end: 'end',
    });
    expect(batches).toEqual([
      { baseOffset: '0', codec: 'gzip', values: ['k0=value-0/t0', 'k1=value-1/t1'] },
      { baseOffset: '2', codec: 'gzip', values: ['k2=value-2/t2', 'k3=value-3/t3', 'k4=value-4/t4'] },
    ]);
  });
});
