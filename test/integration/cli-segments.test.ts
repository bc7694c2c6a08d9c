/**
 * `berth segments inspect|verify` spawned on a data directory written by a real broker (several segments), then on
 * the same directory with one flipped byte: verify exits 3 and names the file and the byte position.
 */
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/error-codes.js';
import { CreateTopics } from '../../protocol/generated/create-topics.js';
import { Produce } from '../../protocol/generated/produce.js';
import { encodeRecordBatch } from '../../protocol/records/encode-batch.js';
import { connectClient, startTestBroker } from '../helpers/broker.js';
import { runBerth } from './cli-harness.js';

describe('berth segments (spawned)', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(join(tmpdir(), 'ops-cli-segments-'));
    const broker = await startTestBroker({
      dataDir,
      config: { 'log.segment.bytes': 4096, 'log.index.interval.bytes': 512, 'log.index.size.max.bytes': 4096 },
    });
    const client = await connectClient(broker);
    const created = await client.request(CreateTopics, {
      topics: [{ name: 'events', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(created.topics[0].errorCode).toBe(ErrorCode.NONE);
    for (let i = 0; i < 30; i++) {
      const records = encodeRecordBatch({
        compression: i % 3 === 0 ? 'gzip' : 'none',
        records: Array.from({ length: 4 }, (_, r) => ({
          key: `key-${i}-${r}`,
          value: `value-${i}-${r}-${'x'.repeat(100)}`,
          headers: [{ key: 'n', value: String(i) }],
          timestamp: 1_700_000_000_000n + BigInt(i * 10 + r),
        })),
      });
      const res = await client.request(
        Produce,
        {
          transactionalId: null,
          acks: -1,
          timeoutMs: 5000,
          topicData: [{ name: 'events', partitionData: [{ index: i % 2, records }] }],
        },
        12,
      );
      expect(res.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    }
    client.close();
    await broker.stop();
  });

  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it("verify passes the broker's own files", async () => {
    const r = await runBerth(['segments', 'verify', dataDir]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^OK: 2 partition\(s\), \d+ segment\(s\), 30 batches, 120 records/m);
    expect(r.code).toBe(0);
    const json = await runBerth(['segments', 'verify', '--json', dataDir]);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ ok: true, partitions: 2, batches: 30, records: 120, errors: 0 });
    expect(report.segments).toBeGreaterThan(2); // 4 KiB segments rolled
  });

  it('inspect summarizes every segment and prints decoded records', async () => {
    const r = await runBerth(['segments', 'inspect', '--json', join(dataDir, 'events-0')]);
    expect(r.code).toBe(0);
    const { segments } = JSON.parse(r.stdout) as {
      segments: Array<{ records: number; codecs: string[]; baseOffset: number; firstOffset: number | null }>;
    };
    expect(segments.reduce((n, s) => n + s.records, 0)).toBe(60);
    expect(new Set(segments.flatMap((s) => s.codecs))).toEqual(new Set(['gzip', 'none']));
    for (const s of segments) if (s.firstOffset !== null) expect(s.firstOffset).toBe(s.baseOffset);

    const text = await runBerth(['segments', 'inspect', '--print-records', join(dataDir, 'events-0')]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('codec=gzip crc=ok');
    // batch 0 went to partition 0 with gzip: its records decode
    expect(text.stdout).toMatch(/offset=0 timestamp=1700000000000 key=key-0-0 value=value-0-0-x+ headers=n:0/);
    expect(text.stdout).toMatch(/^SEGMENT\s+BASE\s+BATCHES\s+RECORDS/m);
  });

  it('verify exits 3 on a flipped byte and names the file and byte position', async () => {
    const dir = join(dataDir, 'events-1');
    const log = fs
      .readdirSync(dir)
      .filter((n) => n.endsWith('.log'))
      .sort()[0];
    const file = join(dir, log);
    const buf = fs.readFileSync(file);
    const second = 12 + buf.readInt32BE(8); // the second batch starts after the first
    fs.chmodSync(file, 0o644); // sealed segments are read-only
    const flipped = Buffer.from(buf);
    flipped[second + 80] ^= 0x20;
    fs.writeFileSync(file, flipped);
    try {
      const r = await runBerth(['segments', 'verify', dataDir]);
      expect(r.code).toBe(3);
      expect(r.stdout).toContain(`ERROR crc ${file}:${second}: batch at offset 4: CRC mismatch`);
      expect(r.stdout).toMatch(/^CORRUPT: .* 1 error\(s\)/m);
      const json = JSON.parse((await runBerth(['segments', 'verify', '--json', dir])).stdout);
      expect(json.problems).toEqual([
        expect.objectContaining({ kind: 'crc', file, position: second, severity: 'error' }),
      ]);
    } finally {
      fs.writeFileSync(file, buf);
    }
  });

  it('exits 2 for a path that is not there', async () => {
    const r = await runBerth(['segments', 'verify', join(dataDir, 'nope')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no such file or directory');
  });
});
