/**
 * Restarts on the same data directory, on both io engines and fetch paths:
 * - a clean stop: every acknowledged batch reads back byte-identical (offsets, topic ids and all), and producing
 *   continues at the old log end;
 * - kill -9 of a `berth start` child process right after acknowledgements, with more produces still in flight:
 *   every acknowledged (acks=-1) batch is there byte-identical, the log holds only whole batches that were sent,
 *   with contiguous offsets up to the high watermark.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import { KafkaClient } from '../../cli/kafka-client.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { ListOffsets } from '../../protocol/generated/list-offsets.js';
import { Metadata } from '../../protocol/generated/metadata.js';
import { Produce } from '../../protocol/generated/produce.js';
import { encodeRecordBatch } from '../../protocol/records/encode-batch.js';
import { brokerModes, connectClient, startTestBroker } from '../helpers/broker.js';
import { type BerthProcess, spawnBerth } from '../helpers/compat-process.js';
import { CODECS, compatConfig, createTopic, readPartition, seededBytes } from '../helpers/compat-readback.js';

interface SentBatch {
  id: number;
  partition: number;
  bytes: Buffer;
  count: number;
}

const LARGE = seededBytes(424242, 900 * 1024);

/**
 * Deterministic batches with unique keys (`b<id>-r<n>`), every codec, a few hundred bytes to a few KB each; with
 * `largeEvery`, every so often one uncompressed record of ~900 KB (a write big enough for a kill to land inside it).
 */
function makeBatches(n: number, partitions: number, seed: number, largeEvery = 0): SentBatch[] {
  return Array.from({ length: n }, (_, id) => {
    if (largeEvery > 0 && id % largeEvery === largeEvery - 1) {
      const value = Buffer.concat([Buffer.from(`large-${id}-`), LARGE.subarray(id % 1024)]);
      const bytes = encodeRecordBatch({ records: [{ key: `b${id}-r0`, value, timestamp: 1_700_000_000_000n }] });
      return { id, partition: id % partitions, bytes, count: 1 };
    }
    const count = 1 + ((id * 7) % 12);
    const bytes = encodeRecordBatch({
      compression: CODECS[id % CODECS.length],
      records: Array.from({ length: count }, (_, r) => ({
        key: `b${id}-r${r}`,
        value: seededBytes(seed + id * 100 + r, 20 + ((id * 31 + r * 17) % 600)),
        headers: [{ key: 'id', value: Buffer.from(String(id)) }],
        timestamp: BigInt(1_700_000_000_000 + id),
      })),
    });
    return { id, partition: id % partitions, bytes, count };
  });
}

function produce(client: KafkaClient, topic: string, b: SentBatch) {
  return client
    .request(
      Produce,
      {
        transactionalId: null,
        acks: -1,
        timeoutMs: 10_000,
        topicData: [{ name: topic, partitionData: [{ index: b.partition, records: b.bytes }] }],
      },
      12,
    )
    .then((res) => {
      const p = res.responses[0].partitionResponses[0];
      expect(p.errorCode, `batch ${b.id}`).toBe(ErrorCode.NONE);
      return p.baseOffset;
    });
}

/** The stored batch with the broker-assigned fields (baseOffset, partitionLeaderEpoch) reset to the sent ones. */
function asSent(stored: Buffer, sent: Buffer): Buffer {
  const copy = Buffer.from(stored);
  sent.copy(copy, 0, 0, 8);
  sent.copy(copy, 12, 12, 16);
  return copy;
}

function batchIdOf(key: Buffer | null): number {
  return Number(/^b(\d+)-r0$/.exec(key?.toString() ?? '')?.[1] ?? -1);
}

describe.each(brokerModes)('restart ($name)', ({ config }) => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  function tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'compat-restart-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  async function start(
    dataDir: string,
  ): Promise<{ broker: RunningBroker; client: KafkaClient; stop(): Promise<void> }> {
    const broker = await startTestBroker({ dataDir, config: compatConfig(config) });
    const client = await connectClient(broker);
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      client.close();
      await broker.stop();
    };
    cleanup.push(stop);
    return { broker, client, stop };
  }

  it('a clean stop keeps every acknowledged batch byte-identical', async () => {
    const dataDir = tempDir();
    const first = await start(dataDir);
    await createTopic(first.client, 'r-clean', 3);
    const batches = makeBatches(30, 3, 1);
    const offsets = await Promise.all(batches.map((b) => produce(first.client, 'r-clean', b)));
    const before = await Promise.all([0, 1, 2].map((p) => readPartition(first.client, 'r-clean', p)));
    const topicId = (
      await first.client.request(Metadata, { topics: [{ name: 'r-clean' }], allowAutoTopicCreation: false })
    ).topics[0].topicId;
    await first.stop();

    const second = await start(dataDir);
    const md = await second.client.request(Metadata, { topics: [{ name: 'r-clean' }], allowAutoTopicCreation: false });
    expect(md.topics[0].errorCode).toBe(ErrorCode.NONE);
    expect(md.topics[0].topicId).toBe(topicId);
    expect(md.topics[0].partitions).toHaveLength(3);
    for (const p of [0, 1, 2]) {
      const after = await readPartition(second.client, 'r-clean', p);
      expect(after.highWatermark).toBe(before[p].highWatermark);
      expect(after.batches.map((b) => b.bytes.toString('hex'))).toEqual(
        before[p].batches.map((b) => b.bytes.toString('hex')),
      );
      // And they are the batches that were sent, at the offsets that were acknowledged.
      const mine = batches.filter((b) => b.partition === p);
      expect(after.batches.map((b) => b.header.baseOffset)).toEqual(mine.map((b) => offsets[b.id]));
      after.batches.forEach((b, i) => {
        expect(asSent(b.bytes, mine[i].bytes).equals(mine[i].bytes), `batch ${mine[i].id}`).toBe(true);
      });
    }
    // The log continues where it ended.
    const more = makeBatches(1, 1, 99)[0];
    expect(await produce(second.client, 'r-clean', more)).toBe(before[0].highWatermark);
    const latest = await second.client.request(ListOffsets, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: 'r-clean', partitions: [{ partitionIndex: 0, timestamp: -1n }] }],
    });
    expect(latest.topics[0].partitions[0].offset).toBe(before[0].highWatermark + 1n);
  });

  it('kill -9 right after acknowledgements loses nothing acknowledged and shows nothing partial', async () => {
    const dataDir = tempDir();
    let proc: BerthProcess | null = await spawnBerth(dataDir, compatConfig(config));
    cleanup.push(() => {
      if (proc && proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
    });
    const client = await KafkaClient.connect({ host: '127.0.0.1', port: proc.port, clientId: 'restart-test' });
    await createTopic(client, 'r-kill', 2);

    // A steady stream of pipelined produces (a window of WINDOW in flight on one connection); the broker is killed
    // from the callback of the KILL_AFTER-th acknowledgement, so the batches behind it are somewhere between the
    // socket and the disk.
    const WINDOW = 24;
    const KILL_AFTER = 60;
    const BURST = 16;
    const batches = makeBatches(400, 2, 7, 5);
    const acked = new Map<number, bigint>();
    const failures: unknown[] = [];
    let killed = false;
    let next = 0;
    await new Promise<void>((done) => {
      const inflight = new Set<Promise<void>>();
      const launch = (window = WINDOW) => {
        while (!killed && inflight.size < window && next < batches.length) {
          const b = batches[next++];
          const p: Promise<void> = produce(client, 'r-kill', b)
            .then(
              (baseOffset) => {
                acked.set(b.id, baseOffset);
                if (acked.size === KILL_AFTER) {
                  // A burst just before the kill, so that some produces are surely in flight when it lands.
                  launch(WINDOW + BURST);
                  killed = true;
                  proc!.child.kill('SIGKILL');
                }
              },
              (err) => {
                failures.push(err);
              },
            )
            .finally(() => {
              inflight.delete(p);
              if (inflight.size === 0 && (killed || next >= batches.length)) done();
              else launch();
            });
          inflight.add(p);
        }
      };
      launch();
    });
    client.close();
    expect(killed).toBe(true);
    expect((await proc.exited).signal).toBe('SIGKILL');
    proc = null;
    // A failure may only be the connection dying, never a broker error answer.
    for (const err of failures) expect(String(err)).toMatch(/connection closed|ECONNRESET|EPIPE/);

    const { client: after } = await start(dataDir);
    for (const p of [0, 1]) {
      const back = await readPartition(after, 'r-kill', p);
      // Whole batches only, contiguous from 0 to the high watermark.
      let end = 0n;
      for (const b of back.batches) {
        expect(b.header.baseOffset).toBe(end);
        end = b.header.baseOffset + BigInt(b.header.lastOffsetDelta) + 1n;
      }
      expect(back.highWatermark).toBe(end);
      // Each visible batch is one that was sent to this partition, byte for byte.
      const seen = new Set<number>();
      for (const b of back.batches) {
        const id = batchIdOf(b.records[0].key);
        expect(id, 'an unknown batch').toBeGreaterThanOrEqual(0);
        const sent = batches[id];
        expect(sent.partition).toBe(p);
        expect(seen.has(id), `batch ${id} twice`).toBe(false);
        seen.add(id);
        expect(asSent(b.bytes, sent.bytes).equals(sent.bytes), `batch ${id} differs`).toBe(true);
        if (acked.has(id)) expect(b.header.baseOffset, `batch ${id} moved`).toBe(acked.get(id));
      }
      // Every acknowledged batch survived.
      for (const [id, baseOffset] of acked) {
        if (batches[id].partition !== p) continue;
        expect(seen.has(id), `acknowledged batch ${id} (offset ${baseOffset}) lost`).toBe(true);
      }
    }
  });
});
