import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import type { KafkaClient } from '../../cli/kafka-client.js';
import { ErrorCode as E } from '../../protocol/error-codes.js';
import { ConsumerGroupDescribe } from '../../protocol/generated/consumer-group-describe.js';
import { ConsumerGroupHeartbeat } from '../../protocol/generated/consumer-group-heartbeat.js';
import { CreateTopics } from '../../protocol/generated/create-topics.js';
import { JoinGroup } from '../../protocol/generated/join-group.js';
import { ListGroups } from '../../protocol/generated/list-groups.js';
import { OffsetCommit } from '../../protocol/generated/offset-commit.js';
import { OffsetFetch } from '../../protocol/generated/offset-fetch.js';
import { connectClient, startTestBroker } from '../helpers/broker.js';

describe('KIP-848 consumer groups through our own client', () => {
  let broker: RunningBroker;
  let c: KafkaClient;
  let topicId = '';

  beforeAll(async () => {
    broker = await startTestBroker();
    c = await connectClient(broker);
    const r = await c.request(CreateTopics, {
      topics: [{ name: 'kip848', numPartitions: 4, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    topicId = r.topics[0].topicId!;
  });

  afterAll(async () => {
    c?.close();
    await broker?.stop();
  });

  const join = (version: number, memberId: string, groupId = 'cg') =>
    c.send(ConsumerGroupHeartbeat, version, {
      groupId,
      memberId,
      memberEpoch: 0,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: ['kip848'],
      serverAssignor: 'uniform',
      topicPartitions: [],
    });

  it('joins (v0 names the member, v1 requires the client to), assigns, describes, lists, and guards commits', async () => {
    const a = await join(0, '');
    expect(a.errorCode).toBe(E.NONE);
    expect(a.memberId).toBeTruthy();
    expect(a.heartbeatIntervalMs).toBe(5000);
    expect(a.assignment?.topicPartitions).toEqual([{ topicId, partitions: [0, 1, 2, 3] }]);
    expect((await join(1, '')).errorCode).toBe(E.INVALID_REQUEST);
    const b = await join(1, 'member-b');
    expect(b.memberId).toBe('member-b');
    expect(b.assignment?.topicPartitions ?? []).toEqual([]);

    for (const v of [0, 1]) {
      const d = await c.send(ConsumerGroupDescribe, v, {
        groupIds: ['cg', 'nope'],
        includeAuthorizedOperations: false,
      });
      expect(d.groups[0].errorCode).toBe(E.NONE);
      expect(d.groups[0].groupState).toBe('Reconciling');
      expect(d.groups[0].assignorName).toBe('uniform');
      expect(d.groups[0].members.map((m) => m.memberId).sort()).toEqual([a.memberId, 'member-b'].sort());
      const target = d.groups[0].members.find((m) => m.memberId === 'member-b')!.targetAssignment;
      expect(target.topicPartitions[0].topicName).toBe('kip848');
      expect(target.topicPartitions[0].partitions).toHaveLength(2);
      expect(d.groups[1].errorCode).toBe(E.GROUP_ID_NOT_FOUND);
    }

    const listed = await c.send(ListGroups, 5, { statesFilter: [], typesFilter: ['consumer'] });
    expect(listed.groups.map((g) => [g.groupId, g.groupType])).toEqual([['cg', 'consumer']]);

    const classic = await c.send(JoinGroup, 9, {
      groupId: 'cg',
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      reason: null,
    });
    expect(classic.errorCode).toBe(E.INCONSISTENT_GROUP_PROTOCOL);

    const commit = (memberId: string, epoch: number) =>
      c.send(OffsetCommit, 9, {
        groupId: 'cg',
        generationIdOrMemberEpoch: epoch,
        memberId,
        groupInstanceId: null,
        topics: [
          {
            name: 'kip848',
            partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }],
          },
        ],
      });
    expect((await commit(a.memberId!, a.memberEpoch)).topics[0].partitions[0].errorCode).toBe(E.NONE);
    expect((await commit(a.memberId!, a.memberEpoch - 1)).topics[0].partitions[0].errorCode).toBe(E.STALE_MEMBER_EPOCH);
    expect((await commit('ghost', 1)).topics[0].partitions[0].errorCode).toBe(E.UNKNOWN_MEMBER_ID);

    const fetch = (memberId: string, memberEpoch: number) =>
      c.send(OffsetFetch, 9, {
        groups: [{ groupId: 'cg', memberId, memberEpoch, topics: null }],
        requireStable: false,
      });
    const fetched = await fetch(a.memberId!, a.memberEpoch);
    expect(fetched.groups![0].errorCode).toBe(E.NONE);
    expect(fetched.groups![0].topics[0].partitions[0].committedOffset).toBe(1n);
    expect((await fetch(a.memberId!, a.memberEpoch + 7)).groups![0].errorCode).toBe(E.STALE_MEMBER_EPOCH);

    for (const [id, epoch] of [
      [a.memberId!, a.memberEpoch],
      ['member-b', b.memberEpoch],
    ] as const) {
      const left = await c.send(ConsumerGroupHeartbeat, 1, { groupId: 'cg', memberId: id, memberEpoch: -1 });
      expect(left.errorCode).toBe(E.NONE);
      expect(epoch).toBeGreaterThan(0);
    }
    const d = await c.send(ConsumerGroupDescribe, 1, { groupIds: ['cg'], includeAuthorizedOperations: false });
    expect(d.groups[0].groupState).toBe('Empty');
  });
});
