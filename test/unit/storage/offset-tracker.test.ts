// Flush scheduling (group commit) in OffsetTracker, through PartitionLog on the real engines: an idle partition's
// acks=-1 append gets an engine-issued fdatasync right behind its write; overlapping appends share rounds with at
// most one fdatasync in flight; acks=-1 resolves only once flushed covers it, acks=1 once written does; and
// flushed <= written <= appended holds whenever anything resolves.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { IoEngine } from '../../../storage/io/io-engine.js';
import { PartitionLog } from '../../../storage/partition-log.js';
import { StorageError } from '../../../storage/storage-error.js';
import { batchOf, rng } from './helpers/batches.js';
import { removeDir, tempDir, testEngines } from './helpers/engines.js';

const engines = await testEngines();

/** Counts what the tracker asks of a real engine, and how many fdatasyncs are in flight at once. */
class CountingEngine implements IoEngine {
  readonly name;
  writes = 0;
  writeAndSyncs = 0;
  fdatasyncs = 0;
  syncsInFlight = 0;
  maxSyncsInFlight = 0;
  /** Test hooks: fail the engine-issued fdatasync, or report it before the write's own completion. */
  failLinkedSync = false;
  syncBeforeWrite = false;
  /** Test hook: while set, every fdatasync (engine-issued or a round's) completes only once it resolves. */
  syncGate: Promise<void> | null = null;
  /** Test hook: the fdatasyncs that complete while set fail with EIO. */
  failSyncs = false;
  readonly writeAndSync?: IoEngine['writeAndSync'];
  readonly joinLinkedSync?: IoEngine['joinLinkedSync'];
  joins = 0;

  constructor(readonly inner: IoEngine) {
    this.name = inner.name;
    if (inner.writeAndSync) this.writeAndSync = (fd, data, position) => this.#writeAndSync(fd, data, position);
    if (inner.joinLinkedSync) {
      this.joinLinkedSync = (fd, data, position) => {
        const r = inner.joinLinkedSync!(fd, data, position);
        if (!r) return null;
        this.joins++;
        // The fdatasync it joined is already counted in flight.
        return this.#hooked(r.written, this.#gated(r.synced));
      };
    }
  }
  /** Holds every fdatasync issued from now on until the returned function (also `openGate`) is called. */
  gateSyncs(): () => void {
    let open!: () => void;
    this.syncGate = new Promise<void>((r) => {
      open = r;
    });
    this.openGate = () => {
      this.syncGate = null;
      open();
    };
    return this.openGate;
  }
  openGate = () => {};
  #gated(p: Promise<void>): Promise<void> {
    const gate = this.syncGate;
    const held = gate ? p.then(() => gate) : p;
    return held.then(() => {
      if (this.failSyncs)
        throw new StorageError('fdatasync failed: EIO (injected)', { errno: 'EIO', syscall: 'fdatasync' });
    });
  }
  #track(p: Promise<void>): Promise<void> {
    p = this.#gated(p);
    this.syncsInFlight++;
    this.maxSyncsInFlight = Math.max(this.maxSyncsInFlight, this.syncsInFlight);
    const done = () => void this.syncsInFlight--;
    p.then(done, done);
    return p;
  }
  #writeAndSync(fd: number, data: Buffer, position: number) {
    this.writeAndSyncs++;
    const r = this.inner.writeAndSync!(fd, data, position);
    return this.#hooked(r.written, this.#track(r.synced));
  }
  #hooked(writtenP: Promise<void>, syncedP: Promise<void>) {
    const r = { written: writtenP };
    let synced = syncedP;
    if (this.failLinkedSync) {
      synced = synced.then(() => {
        throw new StorageError('fdatasync failed: EIO (injected)', { errno: 'EIO', syscall: 'fdatasync' });
      });
    }
    if (!this.syncBeforeWrite) return { written: r.written, synced };
    // The fdatasync's completion is seen first: `written` settles only after `synced` has.
    const written = synced.then(
      () => r.written,
      () => r.written,
    );
    return { written, synced };
  }
  write(fd: number, data: Buffer, position: number): Promise<void> {
    this.writes++;
    return this.inner.write(fd, data, position);
  }
  fdatasync(fd: number, opts?: { completedOnly?: boolean }): Promise<void> {
    this.fdatasyncs++;
    return this.#track(this.inner.fdatasync(fd, opts));
  }
  fallocate(fd: number, offset: number, length: number, keepSize: boolean): Promise<void> {
    return this.inner.fallocate(fd, offset, length, keepSize);
  }
  stats() {
    return this.inner.stats();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

describe.each(engines)('OffsetTracker flush scheduling on $name engine', ({ create }) => {
  let dir: string;
  let engine: CountingEngine;
  let log: PartitionLog | null = null;

  async function open(): Promise<PartitionLog> {
    dir = path.join(tempDir(), 't-0');
    engine = new CountingEngine(await create());
    log = await PartitionLog.open({ dir, topic: 't', partition: 0, engine });
    return log;
  }

  afterEach(async () => {
    engine.openGate(); // a test that failed with fdatasyncs held must not hang close()
    await log?.close().catch(() => {});
    log = null;
    await engine.close();
    removeDir(path.dirname(dir));
  });

  function checkInvariant(l: PartitionLog): void {
    expect(l.flushedOffset).toBeLessThanOrEqual(l.writtenOffset);
    expect(l.writtenOffset).toBeLessThanOrEqual(l.appendedOffset);
  }

  it('acks=-1 appends one at a time: one fdatasync each (engine-issued where the engine can), flushed follows', async () => {
    const l = await open();
    for (let i = 0; i < 20; i++) {
      const r = await l.append(batchOf(1 + (i % 3), 100 + i * 37, i), { acks: -1 });
      checkInvariant(l);
      expect(l.flushedOffset).toBe(r.lastOffset + 1);
    }
    if (engine.writeAndSync) {
      expect(engine.writeAndSyncs).toBe(20);
      expect(engine.fdatasyncs).toBe(0);
      expect(engine.writes).toBe(0);
    } else {
      expect(engine.fdatasyncs).toBe(20); // one round each
      expect(engine.writes).toBe(20);
    }
  });

  it("acks=-1 appends issued in one turn share the first one's engine-issued fdatasync where the engine can", async () => {
    const l = await open();
    await l.append(batchOf(1, 100, 0), { acks: -1 });
    const before = { writeAndSyncs: engine.writeAndSyncs, fdatasyncs: engine.fdatasyncs, writes: engine.writes };
    const batches = Array.from({ length: 8 }, (_, i) => batchOf(1 + (i % 2), 300 + i * 50, i + 1));
    const results = await Promise.all(batches.map((b) => l.append(b, { acks: -1 })));
    checkInvariant(l);
    expect(l.flushedOffset).toBe(l.appendedOffset);
    expect(l.flushedOffset).toBe(results[7].lastOffset + 1);
    if (!engine.joinLinkedSync) return; // the sync engine: rounds, covered by the next test
    expect(engine.writeAndSyncs - before.writeAndSyncs).toBe(1);
    expect(engine.joins).toBe(7);
    expect(engine.fdatasyncs - before.fdatasyncs).toBe(0);
    expect(engine.writes - before.writes).toBe(0);
    expect(engine.maxSyncsInFlight).toBe(1);
    // The joined bytes landed where their offsets say: each batch reads back as appended (from byte 16 on, past the
    // baseOffset and partitionLeaderEpoch the log assigns).
    const ranges = await l.read(results[0].baseOffset, 1 << 20);
    const bytes = Buffer.concat(await Promise.all(ranges.map((r) => l.readBytes(r))));
    expect(bytes.length).toBe(batches.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const [i, b] of batches.entries()) {
      expect(bytes.readBigInt64BE(at)).toBe(BigInt(results[i].baseOffset));
      expect(bytes.subarray(at + 16, at + b.length).equals(b.subarray(16))).toBe(true);
      at += b.length;
    }
  });

  it('a failed shared engine-issued fdatasync rejects every append that joined it', async () => {
    const l = await open();
    if (!engine.joinLinkedSync) return;
    await l.append(batchOf(1, 100, 0), { acks: -1 });
    const flushedBefore = l.flushedOffset;
    engine.failLinkedSync = true;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 4 }, (_, i) => l.append(batchOf(1, 200, i + 1), { acks: -1 })),
    );
    expect(engine.joins).toBe(3);
    for (const o of outcomes) {
      expect(o.status).toBe('rejected');
      expect((o as PromiseRejectedResult).reason).toBeInstanceOf(StorageError);
    }
    expect(l.flushedOffset).toBe(flushedBefore);
    expect(l.offlineError).toBeInstanceOf(StorageError);
    checkInvariant(l);
  });

  it('overlapping acks=-1 appends share fdatasyncs, one in flight at a time, each resolved once flushed', async () => {
    const l = await open();
    const rnd = rng(11);
    const appends: Promise<void>[] = [];
    for (let burst = 0; burst < 10; burst++) {
      for (let i = 0; i < 10; i++) {
        appends.push(
          l
            .append(batchOf(1 + Math.floor(rnd() * 4), 50 + Math.floor(rnd() * 3000), burst * 10 + i), { acks: -1 })
            .then((r) => {
              checkInvariant(l);
              expect(l.flushedOffset).toBeGreaterThan(r.lastOffset);
            }),
        );
      }
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(appends);
    checkInvariant(l);
    expect(l.flushedOffset).toBe(l.appendedOffset);
    const syncs = engine.fdatasyncs + engine.writeAndSyncs;
    expect(syncs).toBeGreaterThan(0);
    expect(syncs).toBeLessThan(100); // group commit: far fewer than one per append
    expect(engine.maxSyncsInFlight).toBe(1);
  });

  it('acks=1 resolves when written, without waiting for a flush; acks=-1 behind it waits for flushed', async () => {
    const l = await open();
    const order: string[] = [];
    const all: Promise<void>[] = [];
    for (let i = 0; i < 30; i++) {
      const acks = i % 3 === 0 ? -1 : 1;
      all.push(
        l.append(batchOf(2, 500, i), { acks }).then((r) => {
          checkInvariant(l);
          expect(l.writtenOffset).toBeGreaterThan(r.lastOffset);
          if (acks === -1) expect(l.flushedOffset).toBeGreaterThan(r.lastOffset);
          order.push(`${acks}`);
        }),
      );
    }
    await Promise.all(all);
    expect(order).toHaveLength(30);
    // Nothing forced a flush of the acks=1 tail beyond what acks=-1 needed.
    expect(l.flushedOffset).toBeLessThanOrEqual(l.writtenOffset);
    await l.flush();
    expect(l.flushedOffset).toBe(l.appendedOffset);
  });

  it('applies an engine-issued fdatasync whose completion is seen before its write completion', async () => {
    const l = await open();
    if (!engine.writeAndSync) return; // the sync engine has no engine-issued fdatasync: nothing to test there
    engine.syncBeforeWrite = true;
    for (let i = 0; i < 5; i++) {
      const r = await l.append(batchOf(1, 200, i), { acks: -1 });
      expect(l.flushedOffset).toBe(r.lastOffset + 1);
      checkInvariant(l);
    }
    expect(engine.fdatasyncs).toBe(0);
  });

  it('a failed engine-issued fdatasync rejects the append, takes the partition offline, is never flushed', async () => {
    const l = await open();
    if (!engine.writeAndSync) return; // sync engine: round failures are fault-injection.test.ts's
    await l.append(batchOf(1, 100, 1), { acks: -1 });
    const flushedBefore = l.flushedOffset;
    engine.failLinkedSync = true;
    const err = await l.append(batchOf(1, 100, 2), { acks: -1 }).catch((e) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(l.flushedOffset).toBe(flushedBefore);
    expect(l.writtenOffset).toBe(flushedBefore + 1); // the write itself landed and is readable
    expect(l.offlineError).toBeInstanceOf(StorageError);
    await expect(l.append(batchOf(1, 100, 3), { acks: 1 })).rejects.toBeInstanceOf(StorageError);
    checkInvariant(l);
  });

  it('close() waits for an engine-issued fdatasync in flight and leaves everything flushed', async () => {
    const l = await open();
    const p = l.append(batchOf(3, 4000, 9), { acks: -1 });
    await l.close();
    await p;
    expect(l.flushedOffset).toBe(l.appendedOffset);
    log = null;
  });

  describe('durable writes held while an fdatasync is in flight', () => {
    const turn = () => new Promise((r) => setImmediate(r));

    /** One acks=-1 append whose fdatasync is gated, so that the next appends find an fdatasync in flight. */
    async function busyLog(): Promise<{ l: PartitionLog; first: Promise<unknown>; open: () => void }> {
      const l = await open();
      await l.append(batchOf(1, 100, 0), { acks: -1 }); // warm: segment files exist and are flushed
      const openGate = engine.gateSyncs();
      const first = l.append(batchOf(1, 100, 1), { acks: -1 });
      // Its write done and its fdatasync in flight (on the sync engine a round starts from the write's completion).
      while (l.writtenOffset < 2 || engine.syncsInFlight === 0) await turn();
      return { l, first, open: openGate };
    }

    it('go to the engine only when the fdatasync ends, in order, behind one more fdatasync', async () => {
      const { l, first, open: openGate } = await busyLog();
      if (!engine.joinLinkedSync) {
        // Nothing to gain without writes that share an fdatasync: the sync engine writes each at once.
        const writes = engine.writes;
        const p = l.append(batchOf(2, 300, 10), { acks: -1 });
        expect(engine.writes).toBe(writes + 1);
        openGate();
        await Promise.all([first, p]);
        return;
      }
      const writtenBefore = l.writtenOffset;
      const issuedBefore = engine.writes + engine.writeAndSyncs + engine.joins;
      const syncsBefore = engine.fdatasyncs + engine.writeAndSyncs;
      const held: Promise<{ lastOffset: number }>[] = [];
      for (let i = 0; i < 10; i++) {
        held.push(l.append(batchOf(2, 300, 10 + i), { acks: -1 }));
        await turn(); // one append per event-loop turn: nothing to coalesce them but the holding
      }
      expect(engine.writes + engine.writeAndSyncs + engine.joins).toBe(issuedBefore); // none reached the engine
      expect(l.writtenOffset).toBe(writtenBefore);
      expect(l.appendedOffset).toBe(writtenBefore + 20);
      openGate();
      await first;
      const results = await Promise.all(held);
      expect(results.map((r) => r.lastOffset)).toEqual(results.map((_, i) => writtenBefore + 2 * i + 1));
      checkInvariant(l);
      expect(l.flushedOffset).toBe(l.appendedOffset);
      // The ten went out together: one write carrying an fdatasync, nine riding on it.
      expect(engine.fdatasyncs + engine.writeAndSyncs - syncsBefore).toBe(1);
      expect(engine.joins).toBe(9);
      const ranges = await l.read(writtenBefore, 1 << 20);
      const bytes = Buffer.concat(await Promise.all(ranges.map((r) => l.readBytes(r))));
      expect(bytes.length).toBe(10 * batchOf(2, 300, 0).length);
    });

    it('an acks=1 append behind held ones sends them first and is answered without waiting for the fdatasync', async () => {
      const { l, first, open: openGate } = await busyLog();
      const held = [0, 1, 2].map((i) => l.append(batchOf(1, 200, 20 + i), { acks: -1 }));
      const r = await l.append(batchOf(1, 200, 30), { acks: 1 });
      expect(l.writtenOffset).toBe(r.lastOffset + 1); // the held ones before it are written too
      expect(l.flushedOffset).toBeLessThan(r.lastOffset);
      openGate();
      await first;
      await Promise.all(held);
      checkInvariant(l);
    });

    it('a large durable write is not held', async () => {
      const { l, first, open: openGate } = await busyLog();
      const writtenBefore = l.writtenOffset;
      const big = l.append(batchOf(1, 100 * 1024, 40), { acks: -1 });
      await new Promise<void>((resolve) => {
        const off = l.onWritten((leo) => {
          if (leo > writtenBefore) {
            off();
            resolve();
          }
        });
      });
      expect(l.writtenOffset).toBe(writtenBefore + 1); // written while the fdatasync before it is still held
      openGate();
      await first;
      await big;
      expect(l.flushedOffset).toBe(l.appendedOffset);
    });

    it('a failed fdatasync rejects the held writes, which never reach the disk', async () => {
      const { l, first, open: openGate } = await busyLog();
      const writtenBefore = l.writtenOffset;
      const held = [0, 1, 2].map((i) => l.append(batchOf(1, 200, 50 + i), { acks: -1 }).catch((e) => e));
      engine.failSyncs = true;
      openGate();
      expect(await first.catch((e) => e)).toBeInstanceOf(StorageError);
      for (const e of await Promise.all(held)) expect(e).toBeInstanceOf(StorageError);
      // Held, they were never written; the sync engine holds nothing, so there they are written but never flushed.
      expect(l.writtenOffset).toBe(engine.joinLinkedSync ? writtenBefore : writtenBefore + 3);
      expect(l.flushedOffset).toBeLessThan(writtenBefore);
      expect(l.offlineError).toBeInstanceOf(StorageError);
      await l.drain(); // nothing is left pending
      checkInvariant(l);
    });

    it('close() sends the held writes and leaves everything flushed', async () => {
      const { l, first, open: openGate } = await busyLog();
      const held = [0, 1, 2].map((i) => l.append(batchOf(1, 200, 60 + i), { acks: -1 }));
      const closed = l.close();
      await turn();
      openGate();
      await closed;
      await first;
      await Promise.all(held);
      expect(l.flushedOffset).toBe(l.appendedOffset);
      log = null;
    });
  });
});
