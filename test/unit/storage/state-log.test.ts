import { appendFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeStateRecords, encodeStateRecord, StateLog } from '../../../storage/state-log.js';

function tempPath(): string {
  return join(mkdtempSync(join(tmpdir(), 'berth-state-')), 'state.log');
}

describe('StateLog', () => {
  it('replays what was appended, including bigints and nested objects', async () => {
    const path = tempPath();
    const { log, records } = await StateLog.open<{ n: number; big?: bigint; s?: string }>(path);
    expect(records).toEqual([]);
    await Promise.all([log.append({ n: 1, big: 2n ** 62n }), log.append({ n: 2, s: 'x' }), log.append({ n: 3 })]);
    await log.close();
    const reopened = await StateLog.open<{ n: number }>(path);
    expect(reopened.records).toEqual([{ n: 1, big: 2n ** 62n }, { n: 2, s: 'x' }, { n: 3 }]);
    await reopened.log.close();
  });

  it('truncates a torn tail and keeps appending after it', async () => {
    const path = tempPath();
    const { log } = await StateLog.open<{ n: number }>(path);
    await log.append({ n: 1 });
    await log.append({ n: 2 });
    await log.close();
    const good = statSync(path).size;
    appendFileSync(path, encodeStateRecord({ n: 3 }).subarray(0, 7));
    const { log: log2, records, truncatedBytes } = await StateLog.open<{ n: number }>(path);
    expect(records).toEqual([{ n: 1 }, { n: 2 }]);
    expect(truncatedBytes).toBe(7);
    expect(statSync(path).size).toBe(good);
    await log2.append({ n: 4 });
    await log2.close();
    const log3 = await StateLog.open<{ n: number }>(path);
    expect(log3.records).toEqual([{ n: 1 }, { n: 2 }, { n: 4 }]);
    await log3.log.close();
  });

  it('stops at a record whose CRC does not match', () => {
    const a = encodeStateRecord({ a: 1 });
    const b = encodeStateRecord({ b: 2 });
    b[b.length - 1] ^= 0xff;
    const result = decodeStateRecords(Buffer.concat([a, b, encodeStateRecord({ c: 3 })]));
    expect(result.records).toEqual([{ a: 1 }]);
    expect(result.validBytes).toBe(a.length);
  });

  it('refuses a lying length without allocating it', () => {
    const frame = Buffer.alloc(16);
    frame.writeUInt32BE(0xffffffff, 0);
    expect(decodeStateRecords(frame).records).toEqual([]);
  });

  it('compacts to a snapshot atomically', async () => {
    const path = tempPath();
    const { log } = await StateLog.open<{ k: string; v: number }>(path);
    for (let i = 0; i < 50; i++) await log.append({ k: 'x', v: i });
    const before = log.sizeBytes;
    await log.compact([{ k: 'x', v: 49 }]);
    expect(log.sizeBytes).toBeLessThan(before);
    await log.append({ k: 'y', v: 1 });
    await log.close();
    const reopened = await StateLog.open(path);
    expect(reopened.records).toEqual([
      { k: 'x', v: 49 },
      { k: 'y', v: 1 },
    ]);
    await reopened.log.close();
  });

  it('treats garbage as an empty log', async () => {
    const path = tempPath();
    writeFileSync(path, Buffer.from('not a state log at all'));
    const { records, log } = await StateLog.open(path);
    expect(records).toEqual([]);
    await log.close();
    expect(readFileSync(path).length).toBe(0);
  });
});
