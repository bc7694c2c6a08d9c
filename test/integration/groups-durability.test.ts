/**
 * Committed offsets and group metadata survive a broker restart: a clean stop, and kill -9 of a child broker
 * process (run from dist/, so `npx tsc -p tsconfig.json` must have run) right after acknowledged commits.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaClient } from '../../cli/kafka-client.js';
import { ErrorCode as E } from '../../protocol/error-codes.js';
import { CreateTopics } from '../../protocol/generated/create-topics.js';
import { DescribeGroups } from '../../protocol/generated/describe-groups.js';
import { JoinGroup } from '../../protocol/generated/join-group.js';
import { OffsetCommit } from '../../protocol/generated/offset-commit.js';
import { OffsetFetch } from '../../protocol/generated/offset-fetch.js';
import { SyncGroup } from '../../protocol/generated/sync-group.js';
import { connectClient, startTestBroker } from '../helpers/broker.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'groups-helper-durable-'));
  dirs.push(d);
  return d;
}

async function createTopic(c: KafkaClient, name: string, partitions: number) {
  const r = await c.request(CreateTopics, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  expect(r.topics[0].errorCode).toBe(0);
}

function commit(c: KafkaClient, groupId: string, partition: number, offset: bigint, metadata: string) {
  return c.send(OffsetCommit, 9, {
    groupId,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [
      {
        name: 'durable',
        partitions: [
          { partitionIndex: partition, committedOffset: offset, committedLeaderEpoch: 0, committedMetadata: metadata },
        ],
      },
    ],
  });
}

async function fetchAll(c: KafkaClient, groupId: string) {
  const r = await c.send(OffsetFetch, 7, { groupId, topics: null, requireStable: true });
  return r.topics!.flatMap((t) => t.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.metadata]));
}

describe('group durability', () => {
  it('keeps offsets and an Empty group protocol type and generation across a clean restart', async () => {
    const dir = dataDir();
    let broker = await startTestBroker({ dataDir: dir, config: { 'group.initial.rebalance.delay.ms': 0 } });
    let c = await connectClient(broker);
    await createTopic(c, 'durable', 2);
    const first = await c.send(JoinGroup, 9, {
      groupId: 'kept',
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: '',
      groupInstanceId: 'static-1',
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      reason: null,
    });
    expect(first.errorCode).toBe(E.NONE);
    await c.send(SyncGroup, 5, {
      groupId: 'kept',
      generationId: first.generationId!,
      memberId: first.memberId,
      groupInstanceId: 'static-1',
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [],
    });
    const member = await c.send(OffsetCommit, 9, {
      groupId: 'kept',
      generationIdOrMemberEpoch: first.generationId!,
      memberId: first.memberId,
      groupInstanceId: 'static-1',
      topics: [
        {
          name: 'durable',
          partitions: [
            { partitionIndex: 1, committedOffset: 42n, committedLeaderEpoch: 0, committedMetadata: 'by member' },
          ],
        },
      ],
    });
    expect(member.topics[0].partitions[0].errorCode).toBe(E.NONE);
    c.close();
    await broker.stop();

    broker = await startTestBroker({ dataDir: dir });
    c = await connectClient(broker);
    expect(await fetchAll(c, 'kept')).toEqual([[1, 42n, 'by member']]);
    const d = await c.send(DescribeGroups, 5, { groups: ['kept'], includeAuthorizedOperations: false });
    expect(d.groups[0]).toMatchObject({ groupState: 'Empty', protocolType: 'consumer' });
    expect(broker.broker.groups.group('kept')?.generationId).toBe(first.generationId);
    c.close();
    await broker.stop();
  });

  it('keeps every acknowledged commit when the broker process is killed with SIGKILL', async () => {
    const dir = dataDir();
    const entry = resolve('dist/broker/index.js');
    const script =
      `const { startBroker } = await import(${JSON.stringify(entry)});` +
      `const b = await startBroker({ dataDir: ${JSON.stringify(dir)} });` +
      'process.stdout.write("PORT " + b.port + "\\n");';
    const child: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const port = await new Promise<number>((res, rej) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /PORT (\d+)/.exec(out);
          if (m) res(Number(m[1]));
        });
        child.once('exit', (code) => rej(new Error(`child broker exited with ${code}`)));
      });
      const c = await KafkaClient.connect({ host: '127.0.0.1', port });
      await createTopic(c, 'durable', 4);
      // Many concurrent commits (group-committed), each acknowledged before the kill.
      const acks = await Promise.all(
        Array.from({ length: 40 }, (_, i) => commit(c, `g${i % 4}`, i % 4, BigInt(1000 + i), `m${i}`)),
      );
      expect(acks.every((a) => a.topics[0].partitions[0].errorCode === 0)).toBe(true);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      c.close();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }

    const broker = await startTestBroker({ dataDir: dir });
    const c = await connectClient(broker);
    for (let g = 0; g < 4; g++) {
      // The last commit of group g went to partition g with offset 1000 + 36 + g.
      expect(await fetchAll(c, `g${g}`)).toEqual([[g, BigInt(1036 + g), `m${36 + g}`]]);
    }
    c.close();
    await broker.stop();
  });
});
