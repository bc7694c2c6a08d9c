import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { FaultyEngine } from '../../../storage/io/faulty-engine.js';
import type { IoEngine } from '../../../storage/io/io-engine.js';
import { LogManager } from '../../../storage/log-manager.js';
import { batchOf } from './helpers/batches.js';
import { removeDir, tempDir, testEngines } from './helpers/engines.js';
import { untilRolledSealed } from './helpers/seals.js';

const engines = await testEngines();

describe.each(engines)('LogManager on $name engine', ({ create }) => {
  let root = '';
  let engine: IoEngine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
    if (root) removeDir(root);
  });

  async function open(extra: Record<string, unknown> = {}) {
    engine ??= await create();
    return LogManager.open({ dataDir: root, engine, background: false, ...extra });
  }

  it('creates partitions with partition.metadata, writes checkpoints and the clean-shutdown marker on close', async () => {
    root = tempDir();
    const mgr = await open();
    expect(mgr.hadCleanShutdown).toBe(false);
    const p0 = await mgr.createPartition('orders', 0, { topicId: 'q0Xf4d1bS9m3Yk1X8yK2Ag' });
    const p1 = await mgr.createPartition('orders', 1);
    expect(await mgr.createPartition('orders', 0)).toBe(p0);
    await p0.append(batchOf(3, 10, 1), { acks: -1 });
    await p1.append(batchOf(2, 10, 2), { acks: -1 });
    expect(fs.readFileSync(path.join(root, 'orders-0', 'partition.metadata'), 'utf8')).toBe(
      'version: 0\ntopic_id: q0Xf4d1bS9m3Yk1X8yK2Ag\n',
    );
    await mgr.close();
    expect(fs.existsSync(path.join(root, '.kafka_cleanshutdown'))).toBe(true);
    const rp = fs.readFileSync(path.join(root, 'recovery-point-offset-checkpoint'), 'utf8').split('\n');
    expect(rp.slice(0, 2)).toEqual(['0', '2']);
    expect(rp.slice(2, 4).sort()).toEqual(['orders 0 3', 'orders 1 2']);
    expect(fs.readFileSync(path.join(root, 'log-start-offset-checkpoint'), 'utf8')).toMatch(/^0\n2\n/);

    const again = await open();
    expect(again.hadCleanShutdown).toBe(true);
    expect(fs.existsSync(path.join(root, '.kafka_cleanshutdown'))).toBe(false);
    expect(again.getPartition('orders', 0)?.logEndOffset).toBe(3);
    expect(again.getPartition('orders', 1)?.logEndOffset).toBe(2);
    expect(again.topicId('orders', 0)).toBe('q0Xf4d1bS9m3Yk1X8yK2Ag');
    await again.close();
  });

  it('persists deleteRecordsBefore in log-start-offset-checkpoint and honours it after a restart', async () => {
    root = tempDir();
    const mgr = await open();
    const p = await mgr.createPartition('t', 0);
    for (let i = 0; i < 5; i++) await p.append(batchOf(2, 10, i));
    expect(await mgr.deleteRecordsBefore('t', 0, 7)).toBe(7);
    expect(fs.readFileSync(path.join(root, 'log-start-offset-checkpoint'), 'utf8')).toBe('0\n1\nt 0 7\n');
    await mgr.abandon();
    const again = await open();
    const log = again.getPartition('t', 0)!;
    expect(log.logStartOffset).toBe(7);
    expect(log.logEndOffset).toBe(10);
    await expect(log.read(6, 100)).rejects.toMatchObject({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE });
    await again.close();
  });

  it('deletes a partition by renaming its directory to <tp>.<uuid>-delete, and finishes a half-done delete', async () => {
    root = tempDir();
    const mgr = await open();
    await mgr.createPartition('gone', 0);
    await mgr.createPartition('kept', 0);
    await mgr.deletePartition('gone', 0);
    // Renamed at once; removed in the background.
    expect(fs.readdirSync(root).filter((n) => n.startsWith('gone-0') && !n.endsWith('-delete'))).toEqual([]);
    await mgr.removalsSettled();
    expect(fs.readdirSync(root).filter((n) => n.startsWith('gone'))).toEqual([]);
    expect(mgr.getPartition('gone', 0)).toBeUndefined();
    await expect(mgr.deletePartition('gone', 0)).rejects.toMatchObject({
      errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    });
    await mgr.close();
    // A crash between rename and removal leaves the renamed directory: the next start removes it.
    fs.mkdirSync(path.join(root, 'old-3.0123456789abcdef0123456789abcdef-delete'));
    fs.writeFileSync(path.join(root, 'old-3.0123456789abcdef0123456789abcdef-delete', '00000000000000000000.log'), '');
    const again = await open();
    await again.removalsSettled();
    expect(fs.readdirSync(root).some((n) => n.endsWith('-delete'))).toBe(false);
    expect([...again.partitions()].map((l) => `${l.topic}-${l.partition}`)).toEqual(['kept-0']);
    await again.close();
  });

  it('runs retention across partitions with topic configs and checkpoints the moved log start offsets', async () => {
    root = tempDir();
    const mgr = await open({
      topicConfig: (t: string) =>
        t === 'small' ? { 'segment.bytes': 1024, 'retention.bytes': 1500, 'file.delete.delay.ms': 0 } : undefined,
    });
    const small = await mgr.createPartition('small', 0);
    const big = await mgr.createPartition('big', 0, { config: { 'segment.bytes': 1024, 'retention.ms': -1 } });
    for (let i = 0; i < 12; i++) {
      await small.append(batchOf(1, 300, i));
      await big.append(batchOf(1, 300, i));
    }
    await small.flush();
    await untilRolledSealed(small);
    expect(await mgr.runRetention()).toBeGreaterThan(0);
    expect(small.logStartOffset).toBeGreaterThan(0);
    expect(big.logStartOffset).toBe(0);
    expect(fs.readFileSync(path.join(root, 'log-start-offset-checkpoint'), 'utf8')).toContain(
      `small 0 ${small.logStartOffset}`,
    );
    await mgr.close();
  });

  it('closes many partitions at once; one failing its fdatasync leaves the others closed cleanly and no marker', async () => {
    root = tempDir();
    const faulty = new FaultyEngine(await create());
    engine = faulty;
    const warnings: string[] = [];
    const mgr = await open({ logger: { info: () => {}, warn: (m: string) => warnings.push(m) } });
    const count = 40; // more than are closed at a time
    for (let p = 0; p < count; p++) {
      const log = await mgr.createPartition('t', p);
      await log.append(batchOf(5, 10, p), { acks: -1 });
    }
    faulty.plan = { failFdatasync: 1, sticky: true, errno: 'EIO', pathIncludes: '/t-7/' };
    await expect(mgr.close()).rejects.toMatchObject({ errorCode: ErrorCode.KAFKA_STORAGE_ERROR });
    expect(fs.existsSync(path.join(root, '.kafka_cleanshutdown'))).toBe(false);
    expect(warnings).toEqual([expect.stringMatching(/^closing t-7: /)]);
    // Every other partition was closed cleanly: its .log trimmed from the preallocated size to its data.
    for (const p of [0, 8, count - 1]) {
      const dir = path.join(root, `t-${p}`);
      const log = fs.readdirSync(dir).find((f) => f.endsWith('.log'))!;
      expect(fs.statSync(path.join(dir, log)).size).toBe(batchOf(5, 10, p).length);
    }
    faulty.plan = {};
    const again = await open();
    expect(again.hadCleanShutdown).toBe(false);
    for (let p = 0; p < count; p++) expect(again.getPartition('t', p)?.logEndOffset).toBe(5);
    await again.close();
  });
});
