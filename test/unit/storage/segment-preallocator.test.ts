/**
 * Preallocation waits for the partition's fdatasync in flight (a fallocate issued during the journal commit of an
 * fdatasync would stall the writes and the acknowledgements behind it), then goes at once; chunks double.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { IoEngine } from '../../../storage/io/io-engine.js';
import { SyncEngine } from '../../../storage/io/sync-engine.js';
import { PartitionLog } from '../../../storage/partition-log.js';
import { PREALLOCATE_CHUNK } from '../../../storage/segment-preallocator.js';
import { batchOf } from './helpers/batches.js';
import { removeDir, tempDir, testEngines } from './helpers/engines.js';

/** Passes everything through, records the order of fallocates and fdatasync completions, and can hold the
 *  completions of fdatasyncs (engine-issued ones too) until release(). */
class GatedEngine implements IoEngine {
  readonly name;
  readonly writeAndSync?: IoEngine['writeAndSync'];
  readonly ops: string[] = [];
  hold = false;
  readonly held: Array<() => void> = [];

  constructor(readonly inner: IoEngine) {
    this.name = inner.name;
    const ws = inner.writeAndSync?.bind(inner);
    if (ws) {
      this.writeAndSync = (fd, data, position) => {
        const r = ws(fd, data, position);
        return { written: r.written, synced: this.#gate(r.synced) };
      };
    }
  }

  #gate(p: Promise<void>): Promise<void> {
    const hold = this.hold;
    return p.then(
      () =>
        new Promise<void>((resolve) => {
          const done = () => {
            this.ops.push('synced');
            resolve();
          };
          if (hold) this.held.push(done);
          else done();
        }),
    );
  }

  release(): void {
    this.hold = false;
    for (const done of this.held.splice(0)) done();
  }

  write(fd: number, data: Buffer, position: number): Promise<void> {
    return this.inner.write(fd, data, position);
  }
  fdatasync(fd: number, opts?: { completedOnly?: boolean }): Promise<void> {
    return this.#gate(this.inner.fdatasync(fd, opts));
  }
  fallocate(fd: number, offset: number, length: number, keepSize: boolean): Promise<void> {
    this.ops.push('fallocate');
    return this.inner.fallocate(fd, offset, length, keepSize);
  }
  stats() {
    return this.inner.stats();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

// A stand-in for the native addon's fallocate on the sync engine (mode 0 grows the file, as fallocate does).
const fallocateSync = (fd: number, mode: number, offset: number, length: number) => {
  if (mode === 0 && fs.fstatSync(fd).size < offset + length) fs.ftruncateSync(fd, offset + length);
};

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 5000 && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
  expect(cond()).toBe(true);
}

describe('segment preallocation', async () => {
  for (const { name, create } of await testEngines()) {
    it(`waits for the fdatasync in flight, then extends by a doubled chunk (${name})`, async () => {
      const root = tempDir();
      const inner = name === 'sync' ? new SyncEngine({ fallocateSync }) : await create();
      const engine = new GatedEngine(inner);
      const dir = path.join(root, 'p-0');
      try {
        const log = await PartitionLog.open({
          dir,
          topic: 'p',
          partition: 0,
          engine,
          config: { 'segment.bytes': 1 << 30 },
        });
        await new Promise((r) => setImmediate(r));
        await log.segments[0].preallocating;
        const size = () => fs.statSync(log.segments[0].logPath).size;
        expect(size()).toBe(PREALLOCATE_CHUNK);

        // An acks=-1 append whose fdatasync is held: the partition is syncing.
        engine.hold = true;
        const durable = log.append(batchOf(1, 100, 1), { acks: -1 });
        await until(() => engine.held.length > 0);
        // An append past the middle of the chunk: the next chunk is due, but waits for that fdatasync.
        await log.append(batchOf(1, PREALLOCATE_CHUNK / 2 + 1024, 2), { acks: 1 });
        for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
        await log.segments[0].preallocating;
        expect(size()).toBe(PREALLOCATE_CHUNK);
        const before = engine.ops.length;

        engine.release();
        await durable;
        await log.segments[0].preallocating;
        // The doubled chunk, issued right after the fdatasync completed.
        expect(size()).toBe(3 * PREALLOCATE_CHUNK);
        expect(engine.ops.slice(before)).toEqual(['synced', 'fallocate']);
        await log.close();
      } finally {
        engine.release();
        await engine.close();
        removeDir(root);
      }
    });
  }
});
