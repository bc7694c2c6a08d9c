/**
 * Producer state and producer ids across restarts: a clean stop (snapshot at the log end offset) and a kill -9 of
 * a broker in a child process (no clean-shutdown marker; state rebuilt from the roll snapshot and the log after it,
 * and producer ids never handed out twice). The child runs the compiled broker: run `npx tsc` first.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import { KafkaClient } from '../../cli/kafka-client.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { CreateTopics } from '../../protocol/generated/create-topics.js';
import { DescribeProducers } from '../../protocol/generated/describe-producers.js';
import { InitProducerId } from '../../protocol/generated/init-producer-id.js';
import { ListOffsets } from '../../protocol/generated/list-offsets.js';
import { Produce } from '../../protocol/generated/produce.js';
import { encodeRecordBatch } from '../../protocol/records/encode-batch.js';
import { connectClient, startTestBroker } from '../helpers/broker.js';

const DIST_BROKER = resolve(import.meta.dirname, '../../dist/broker/index.js');
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'admin-helper-idem-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function batch(producerId: bigint, producerEpoch: number, baseSequence: number, count: number) {
  return encodeRecordBatch({
    producerId,
    producerEpoch,
    baseSequence,
    records: Array.from({ length: count }, (_, i) => ({ value: Buffer.alloc(200, baseSequence + i) })),
  });
}

async function produce(client: KafkaClient, topic: string, records: Buffer) {
  const res = await client.request(
    Produce,
    {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    },
    12,
  );
  return res.responses[0].partitionResponses[0];
}

async function initProducerId(client: KafkaClient): Promise<bigint> {
  const res = await client.request(InitProducerId, { transactionalId: null, transactionTimeoutMs: 60000 });
  expect(res.errorCode).toBe(ErrorCode.NONE);
  return res.producerId!;
}

async function createTopic(client: KafkaClient, name: string, configs: Record<string, string> = {}) {
  const res = await client.request(CreateTopics, {
    topics: [
      {
        name,
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })),
      },
    ],
    timeoutMs: 5000,
    validateOnly: false,
  });
  expect(res.topics[0].errorCode).toBe(ErrorCode.NONE);
}

async function highWatermark(client: KafkaClient, topic: string): Promise<bigint> {
  const res = await client.request(ListOffsets, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
  });
  return res.topics[0].partitions[0].offset ?? -1n;
}

async function producers(client: KafkaClient, topic: string) {
  const res = await client.send(DescribeProducers, 0, { topics: [{ name: topic, partitionIndexes: [0] }] });
  return res.topics[0].partitions[0].activeProducers;
}

async function startInProcess(dataDir: string): Promise<{ broker: RunningBroker; client: KafkaClient }> {
  const broker = await startTestBroker({ dataDir });
  const client = await connectClient(broker);
  cleanups.push(async () => {
    client.close();
    await broker.stop();
  });
  return { broker, client };
}

/** A broker in a child process (the compiled dist/), so that it can be killed with SIGKILL. */
async function startChild(dataDir: string): Promise<{ child: ChildProcess; client: KafkaClient }> {
  const script = `
    const { startBroker } = await import(${JSON.stringify(DIST_BROKER)});
    const b = await startBroker({ dataDir: ${JSON.stringify(dataDir)}, port: 0 });
    process.stdout.write(JSON.stringify({ port: b.port }) + '\\n');
    setInterval(() => {}, 1 << 30);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const port = await new Promise<number>((res, rej) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) res(JSON.parse(line).port);
    });
    child.once('exit', (code) => rej(new Error(`child broker exited with ${code}`)));
  });
  const client = await KafkaClient.connect({ host: '127.0.0.1', port, clientId: 'idem-restart' });
  cleanups.push(() => client.close());
  return { child, client };
}

async function kill9(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

describe('producer state across restarts', () => {
  it('survives a clean restart through the snapshot written at shutdown', async () => {
    const dataDir = tempDataDir();
    const first = await startInProcess(dataDir);
    await createTopic(first.client, 'clean');
    const pid = await initProducerId(first.client);
    for (let seq = 0; seq < 9; seq += 3)
      expect((await produce(first.client, 'clean', batch(pid, 0, seq, 3))).errorCode).toBe(0);
    first.client.close();
    await first.broker.stop();
    const snapshots = readdirSync(join(dataDir, 'clean-0')).filter((f) => f.endsWith('.snapshot'));
    expect(snapshots).toEqual(['00000000000000000009.snapshot']);

    const second = await startInProcess(dataDir);
    expect(second.broker.broker.logs.hadCleanShutdown).toBe(true);
    expect(await producers(second.client, 'clean')).toEqual([
      expect.objectContaining({ producerId: pid, producerEpoch: 0, lastSequence: 8 }),
    ]);
    expect(await produce(second.client, 'clean', batch(pid, 0, 6, 3))).toMatchObject({ errorCode: 0, baseOffset: 6n });
    expect((await produce(second.client, 'clean', batch(pid, 0, 10, 1))).errorCode).toBe(
      ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
    expect(await produce(second.client, 'clean', batch(pid, 0, 9, 1))).toMatchObject({ errorCode: 0, baseOffset: 9n });
    expect(await produce(second.client, 'clean', batch(pid, 1, 0, 1))).toMatchObject({ errorCode: 0, baseOffset: 10n });
    expect((await produce(second.client, 'clean', batch(pid, 0, 10, 1))).errorCode).toBe(
      ErrorCode.INVALID_PRODUCER_EPOCH,
    );
    expect(await highWatermark(second.client, 'clean')).toBe(11n);
    // A new id after the restart is from a new block: never one handed out before.
    expect(await initProducerId(second.client)).toBe(1000n);
  });

  it('writes no snapshot at a clean stop when nothing was appended since the newest one', async () => {
    const dataDir = tempDataDir();
    const first = await startInProcess(dataDir);
    await createTopic(first.client, 'idle');
    const pid = await initProducerId(first.client);
    expect((await produce(first.client, 'idle', batch(pid, 0, 0, 2))).errorCode).toBe(0);
    first.client.close();
    await first.broker.stop();
    const file = join(dataDir, 'idle-0', '00000000000000000002.snapshot');
    const written = statSync(file).ino;

    const second = await startInProcess(dataDir);
    expect(await producers(second.client, 'idle')).toEqual([
      expect.objectContaining({ producerId: pid, lastSequence: 1 }),
    ]);
    second.client.close();
    await second.broker.stop();
    // The same file: not rewritten (a rewrite renames a new file into place).
    expect(readdirSync(join(dataDir, 'idle-0')).filter((f) => f.endsWith('.snapshot'))).toEqual([
      '00000000000000000002.snapshot',
    ]);
    expect(statSync(file).ino).toBe(written);
  });

  it('survives kill -9: roll snapshot plus log replay, and producer ids are not reused', async () => {
    if (!existsSync(DIST_BROKER)) throw new Error(`${DIST_BROKER} is missing: run npx tsc -p tsconfig.json first`);
    const dataDir = tempDataDir();
    const { child, client } = await startChild(dataDir);
    // Batches of about 2.2 KB and 0.3 KB: the segment rolls once, at offset 22, which writes a snapshot.
    await createTopic(client, 'crash', { 'segment.bytes': '5000' });
    const ids = [await initProducerId(client), await initProducerId(client)];
    const [a, b] = ids;
    for (let seq = 0; seq < 40; seq += 10) {
      expect((await produce(client, 'crash', batch(a, 0, seq, 10))).errorCode).toBe(0);
      expect((await produce(client, 'crash', batch(b, 0, seq / 10, 1))).errorCode).toBe(0);
    }
    const hw = await highWatermark(client, 'crash');
    expect(hw).toBe(44n);
    // Roll snapshots are written in the background: wait until the newest one is there, so that the restart below
    // restores it and replays only the batches after it.
    const partitionDir = join(dataDir, 'crash-0');
    const snapshotsThere = () => readdirSync(partitionDir).filter((f) => f.endsWith('.snapshot'));
    while (snapshotsThere().length < 1) await new Promise((r) => setTimeout(r, 10));
    // One roll, at offset 22 (the batch at 22-31 started a new segment): the snapshot is taken just after it.
    expect(snapshotsThere()).toEqual(['00000000000000000032.snapshot']);
    await kill9(child);
    expect(existsSync(join(dataDir, '.kafka_cleanshutdown'))).toBe(false);

    const restarted = await startInProcess(dataDir);
    expect(restarted.broker.broker.logs.hadCleanShutdown).toBe(false);
    const c = restarted.client;
    expect(await highWatermark(c, 'crash')).toBe(44n);
    const described = await producers(c, 'crash');
    expect(described).toEqual([
      expect.objectContaining({ producerId: a, producerEpoch: 0, lastSequence: 39 }),
      expect.objectContaining({ producerId: b, producerEpoch: 0, lastSequence: 3 }),
    ]);
    // The last batch of each producer is a duplicate; the next sequence is accepted; a gap is refused.
    expect(await produce(c, 'crash', batch(a, 0, 30, 10))).toMatchObject({ errorCode: 0, baseOffset: 33n });
    expect(await produce(c, 'crash', batch(b, 0, 3, 1))).toMatchObject({ errorCode: 0, baseOffset: 43n });
    expect((await produce(c, 'crash', batch(b, 0, 5, 1))).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await produce(c, 'crash', batch(b, 0, 4, 1))).toMatchObject({ errorCode: 0, baseOffset: 44n });
    expect(await highWatermark(c, 'crash')).toBe(45n);
    const fresh = await initProducerId(c);
    expect(ids).not.toContain(fresh);
    expect(fresh).toBe(1000n);
  });
});
