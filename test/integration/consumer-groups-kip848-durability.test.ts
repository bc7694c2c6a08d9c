/**
 * KIP-848 consumer groups survive a broker restart, clean (SIGTERM) and unclean (SIGKILL right after the
 * heartbeats were answered): epochs, members and assignments come back, and members heartbeating with their
 * epochs carry on without being fenced or reassigned. The broker is a child process run from dist/
 * (`npx tsc -p tsconfig.json` first).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { KafkaClient } from '../../cli/kafka-client.js';
import { ErrorCode as E } from '../../protocol/error-codes.js';
import { ConsumerGroupDescribe } from '../../protocol/generated/consumer-group-describe.js';
import { ConsumerGroupHeartbeat } from '../../protocol/generated/consumer-group-heartbeat.js';
import { CreateTopics } from '../../protocol/generated/create-topics.js';
import { OffsetCommit } from '../../protocol/generated/offset-commit.js';
import { OffsetFetch } from '../../protocol/generated/offset-fetch.js';
import { type ChildBroker, startChildBroker } from '../helpers/child-broker.js';

const dirs: string[] = [];
const running: ChildBroker[] = [];
afterEach(async () => {
  for (const b of running.splice(0)) await b.kill();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Owned = Array<{ topicId: string; partitions: number[] }>;

async function heartbeat(c: KafkaClient, memberId: string, memberEpoch: number, owned: Owned | null) {
  return c.send(ConsumerGroupHeartbeat, 1, {
    groupId: 'durable-cg',
    memberId,
    memberEpoch,
    instanceId: null,
    rackId: memberEpoch === 0 ? `rack-${memberId}` : null,
    rebalanceTimeoutMs: memberEpoch === 0 ? 30_000 : -1,
    subscribedTopicNames: memberEpoch === 0 ? ['cg-durable'] : null,
    serverAssignor: memberEpoch === 0 ? 'range' : null,
    topicPartitions: owned,
  });
}

/** Heartbeats both members, each confirming what it was given, until the group is Stable. */
async function settle(c: KafkaClient, members: Map<string, { epoch: number; owned: Owned }>) {
  for (let round = 0; round < 20; round++) {
    for (const [id, m] of members) {
      const r = await heartbeat(c, id, m.epoch, m.owned);
      expect(r.errorCode, `heartbeat of ${id}`).toBe(E.NONE);
      m.epoch = r.memberEpoch;
      if (r.assignment) m.owned = r.assignment.topicPartitions;
    }
    const d = await describeGroup(c);
    if (d.groupState === 'Stable') return d;
  }
  throw new Error('the group did not settle');
}

async function describeGroup(c: KafkaClient) {
  const r = await c.send(ConsumerGroupDescribe, 1, { groupIds: ['durable-cg'], includeAuthorizedOperations: false });
  return r.groups[0];
}

describe('KIP-848 consumer group durability', () => {
  it.each(['SIGTERM', 'SIGKILL'])('members continue with their epochs after a %s restart', async (signal) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'groups-helper-cg-restart-'));
    dirs.push(dataDir);
    let broker = await startChildBroker({ dataDir });
    running.push(broker);
    let c = await KafkaClient.connect({ host: '127.0.0.1', port: broker.port });
    const created = await c.request(CreateTopics, {
      topics: [{ name: 'cg-durable', numPartitions: 4, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(created.topics[0].errorCode).toBe(E.NONE);
    const members = new Map<string, { epoch: number; owned: Owned }>();
    for (const id of ['m-a', 'm-b']) {
      const r = await heartbeat(c, id, 0, []);
      expect(r.errorCode).toBe(E.NONE);
      members.set(id, { epoch: r.memberEpoch, owned: r.assignment?.topicPartitions ?? [] });
    }
    const before = await settle(c, members);
    const commit = await c.send(OffsetCommit, 9, {
      groupId: 'durable-cg',
      generationIdOrMemberEpoch: members.get('m-a')!.epoch,
      memberId: 'm-a',
      groupInstanceId: null,
      topics: [
        {
          name: 'cg-durable',
          partitions: [{ partitionIndex: 0, committedOffset: 7n, committedLeaderEpoch: -1, committedMetadata: 'a' }],
        },
      ],
    });
    expect(commit.topics[0].partitions[0].errorCode).toBe(E.NONE);
    c.close();
    if (signal === 'SIGKILL') await broker.kill();
    else await broker.stop();
    running.splice(0);

    broker = await startChildBroker({ dataDir });
    running.push(broker);
    c = await KafkaClient.connect({ host: '127.0.0.1', port: broker.port });
    const after = await describeGroup(c);
    const view = (d: typeof before) => ({
      state: d.groupState,
      groupEpoch: d.groupEpoch,
      assignmentEpoch: d.assignmentEpoch,
      assignor: d.assignorName,
      members: d.members
        .map((m) => ({
          id: m.memberId,
          epoch: m.memberEpoch,
          rack: m.rackId,
          subs: m.subscribedTopicNames,
          assignment: m.assignment,
          target: m.targetAssignment,
        }))
        .sort((x, y) => (x.id < y.id ? -1 : 1)),
    });
    expect(view(after)).toEqual(view(before));
    for (const [id, m] of members) {
      const r = await heartbeat(c, id, m.epoch, null);
      expect(r.errorCode, `${id} after the restart`).toBe(E.NONE);
      expect(r.memberEpoch).toBe(m.epoch);
      // The first heartbeat after a restart repeats the assignment: the same partitions.
      expect(r.assignment?.topicPartitions).toEqual(m.owned);
    }
    expect((await describeGroup(c)).groupEpoch).toBe(before.groupEpoch);
    const fetched = await c.send(OffsetFetch, 9, {
      groups: [{ groupId: 'durable-cg', memberId: 'm-b', memberEpoch: members.get('m-b')!.epoch, topics: null }],
      requireStable: true,
    });
    expect(fetched.groups![0].errorCode).toBe(E.NONE);
    expect(fetched.groups![0].topics[0].partitions[0]).toMatchObject({ committedOffset: 7n, metadata: 'a' });
    c.close();
  });
});
