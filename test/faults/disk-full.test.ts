/**
 * Disk full, on a small tmpfs of the test's own (root; CI runs as root): with the filesystem filled by a filler file,
 * produce gets KAFKA_STORAGE_ERROR and Metadata lists the broker in the partition's offlineReplicas; nothing already acknowledged is
 * damaged (it reads back byte-identical); once the filler is deleted, produce to the same partition succeeds again
 * without a restart, at the next offset (the failed appends left no hole and no half batch), and after a clean stop
 * `berth segments verify` is clean and a restart reads everything back. Every io engine and fetch path.
 *
 * Without root (or where mount fails) outside CI, the test falls back to the FaultyEngine's ENOSPC injection and
 * says so; under CI=true a failing mount fails the test.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { segmentsVerify } from '../../bench/kill-rounds.js';
import type { KafkaClient } from '../../cli/kafka-client.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { brokerModes } from '../helpers/broker.js';
import { createTopic, readPartition } from '../helpers/compat-readback.js';
import {
  asSent,
  type FaultSession,
  gaugeValue,
  injectFaults,
  makeBatch,
  partitionMetadata,
  produceTo,
  startFaultSession,
} from './fault-helpers.js';

const TOPIC = 'full';
const TMPFS_BYTES = 8 << 20;
const IN_CI = process.env.CI === 'true';

/** Mounts a tmpfs of TMPFS_BYTES on a fresh directory; null (with the reason) where that is not possible. */
function mountSmallFs(): { dir: string; unmount(): void } | { dir: null; reason: string } {
  const dir = mkdtempSync(join(tmpdir(), 'faults-full-'));
  if (process.getuid?.() !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return { dir: null, reason: 'not running as root' };
  }
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_BYTES}`, 'berth-faults', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return { dir: null, reason: `mount -t tmpfs failed: ${(err as Error).message}` };
  }
  return {
    dir,
    unmount() {
      // Lazy: sealed indexes stay memory-mapped until their Buffers are collected, which keeps the mount busy.
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes a filler file until the filesystem is full; returns its path. */
function fillDisk(dir: string): string {
  const file = join(dir, 'filler');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return file;
}

describe.each(brokerModes)('disk full ($name)', ({ config }) => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  function start(dataDir: string): Promise<FaultSession> {
    // 1 MiB segments: each partition preallocates at most that much, so the filesystem fills and rolls happen.
    return startFaultSession(dataDir, { ...config, 'log.segment.bytes': String(1 << 20) }, cleanup);
  }

  async function expectHolds(client: KafkaClient, p: number, batches: Buffer[]): Promise<void> {
    const back = await readPartition(client, TOPIC, p);
    expect(back.batches).toHaveLength(batches.length);
    back.batches.forEach((b, i) => {
      expect(asSent(b.bytes, batches[i]).equals(batches[i]), `p${p} batch ${i}`).toBe(true);
    });
  }

  it('produce fails with KAFKA_STORAGE_ERROR, nothing is damaged, and it recovers when space returns', {
    timeout: 120_000,
  }, async () => {
    const fs = mountSmallFs();
    let dataDir: string;
    let injected = false;
    if (fs.dir === null) {
      if (IN_CI) throw new Error(`disk-full test needs a tmpfs of its own under CI: ${fs.reason}`);
      console.warn(`disk-full test: ${fs.reason}; falling back to injected ENOSPC (FaultyEngine)`);
      injected = true;
      dataDir = mkdtempSync(join(tmpdir(), 'faults-full-'));
      cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    } else {
      dataDir = join(fs.dir, 'data');
      cleanup.push(() => fs.unmount());
    }
    const first = await start(dataDir);
    await createTopic(first.client, TOPIC, 2);
    const acked: Buffer[][] = [[], []];
    for (let i = 0; i < 8; i++) {
      for (const p of [0, 1]) {
        const batch = makeBatch(`pre-p${p}-${i}`, 1 + (i % 3), 2000, 10 * i + p);
        expect((await produceTo(first.client, TOPIC, p, batch)).errorCode).toBe(ErrorCode.NONE);
        acked[p].push(batch);
      }
    }

    // Fill the disk, then produce to partition 0 until it fails (its preallocated segment may take a few first).
    let filler: string | null = null;
    if (injected) injectFaults(first.b, { errno: 'ENOSPC', failWrite: 1, sticky: true, pathIncludes: `/${TOPIC}-0/` });
    else filler = fillDisk(fs.dir!);
    let failure: { errorCode: number; errorMessage: string | null } | null = null;
    for (let i = 0; i < 64 && failure === null; i++) {
      const batch = makeBatch(`full-${i}`, 4, 25_000, 1000 + i);
      const r = await produceTo(first.client, TOPIC, 0, batch);
      if (r.errorCode === ErrorCode.NONE) acked[0].push(batch);
      else failure = r;
    }
    expect(failure?.errorCode, 'produce on a full disk').toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    const offline = first.b.lines().filter((l) => l.msg.includes(`partition ${TOPIC}-0 is offline for writes`));
    expect(offline).toHaveLength(1);
    expect(offline[0].msg).toMatch(/ENOSPC in \S+ on \S+; retrying every \d+ ms once space is freed/);
    // Still full: produce keeps failing (offline, or retried and failed again), never half-accepted.
    for (let i = 0; i < 3; i++) {
      const r = await produceTo(first.client, TOPIC, 0, makeBatch(`still-full-${i}`, 2, 25_000, 2000 + i));
      expect(r.errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    }
    expect((await partitionMetadata(first.client, TOPIC))[0].offlineReplicas).toEqual([first.b.broker.broker.nodeId]);
    expect(await gaugeValue(first.b.broker, 'berth_offline_partitions')).toBeGreaterThanOrEqual(1);
    // Nothing already written is damaged.
    for (const p of [0, 1]) await expectHolds(first.client, p, acked[p]);

    // Space returns: the same partition takes produces again, without a restart, right after its last record.
    if (filler) rmSync(filler);
    else injectFaults(first.b, {});
    const nextOffset = BigInt(acked[0].reduce((n, b) => n + b.readInt32BE(57), 0));
    const again = makeBatch('again', 3, 1000, 3000);
    let r = await produceTo(first.client, TOPIC, 0, again);
    for (let i = 0; i < 100 && r.errorCode === ErrorCode.KAFKA_STORAGE_ERROR; i++) {
      await new Promise((res) => setTimeout(res, 100));
      r = await produceTo(first.client, TOPIC, 0, again);
    }
    expect(r.errorCode, 'produce after space returned').toBe(ErrorCode.NONE);
    expect(r.baseOffset).toBe(nextOffset);
    acked[0].push(again);
    expect(first.b.lines().some((l) => l.msg.includes(`partition ${TOPIC}-0 is writable again`))).toBe(true);
    expect((await partitionMetadata(first.client, TOPIC)).map((p) => p.offlineReplicas)).toEqual([[], []]);
    expect(await gaugeValue(first.b.broker, 'berth_offline_partitions')).toBe(0);
    // Enough more to roll a segment again.
    for (let i = 0; i < 50; i++) {
      const batch = makeBatch(`after-${i}`, 2, 25_000, 4000 + i);
      expect((await produceTo(first.client, TOPIC, 0, batch)).errorCode).toBe(ErrorCode.NONE);
      acked[0].push(batch);
    }
    for (const p of [0, 1]) await expectHolds(first.client, p, acked[p]);
    await first.stop();
    expect(segmentsVerify(dataDir)).toBeNull();

    const second = await start(dataDir);
    for (const p of [0, 1]) await expectHolds(second.client, p, acked[p]);
    await second.stop();
  });
});
