import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import type { KafkaClient } from '../../cli/kafka-client.js';
import { ErrorCode as E } from '../../protocol/error-codes.js';
import { CreateTopics } from '../../protocol/generated/create-topics.js';
import { DeleteGroups } from '../../protocol/generated/delete-groups.js';
import { DescribeGroups } from '../../protocol/generated/describe-groups.js';
import { FindCoordinator } from '../../protocol/generated/find-coordinator.js';
import { Heartbeat } from '../../protocol/generated/heartbeat.js';
import { JoinGroup, type JoinGroupResponse } from '../../protocol/generated/join-group.js';
import { LeaveGroup } from '../../protocol/generated/leave-group.js';
import { ListGroups } from '../../protocol/generated/list-groups.js';
import { OffsetCommit } from '../../protocol/generated/offset-commit.js';
import { OffsetDelete } from '../../protocol/generated/offset-delete.js';
import { OffsetFetch } from '../../protocol/generated/offset-fetch.js';
import { SyncGroup } from '../../protocol/generated/sync-group.js';
import { connectClient, startTestBroker } from '../helpers/broker.js';

/** A consumer-protocol subscription (version 0) to `topics`, as the member metadata of a classic consumer. */
function subscription(topics: string[]): Buffer {
  const parts = [Buffer.from([0, 0]), Buffer.alloc(4)];
  parts[1].writeInt32BE(topics.length);
  for (const t of topics) {
    const len = Buffer.alloc(2);
    len.writeInt16BE(Buffer.byteLength(t));
    parts.push(len, Buffer.from(t));
  }
  parts.push(Buffer.from([0xff, 0xff, 0xff, 0xff]));
  return Buffer.concat(parts);
}

describe('consumer groups through our own client', () => {
  let broker: RunningBroker;
  let admin: KafkaClient;
  const clients: KafkaClient[] = [];
  let topicId = '';

  async function member(): Promise<KafkaClient> {
    const c = await connectClient(broker, 'member');
    clients.push(c);
    return c;
  }

  function join(c: KafkaClient, version: number, groupId: string, memberId = '', instance: string | null = null) {
    return c.send(JoinGroup, version, {
      groupId,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId,
      groupInstanceId: version >= 5 ? instance : undefined,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: subscription(['grp-topic']) }],
      reason: version >= 8 ? 'test' : undefined,
    });
  }

  /** JoinGroup, following MEMBER_ID_REQUIRED once (v4+). */
  async function joinFully(c: KafkaClient, version: number, groupId: string, instance: string | null = null) {
    let r = await join(c, version, groupId, '', instance);
    if (r.errorCode === E.MEMBER_ID_REQUIRED) r = await join(c, version, groupId, r.memberId, instance);
    return r;
  }

  function sync(
    c: KafkaClient,
    version: number,
    groupId: string,
    j: JoinGroupResponse,
    instance: string | null = null,
  ) {
    return c.send(SyncGroup, version, {
      groupId,
      generationId: j.generationId ?? -1,
      memberId: j.memberId,
      groupInstanceId: version >= 3 ? instance : undefined,
      protocolType: version >= 5 ? 'consumer' : undefined,
      protocolName: version >= 5 ? j.protocolName : undefined,
      assignments:
        j.leader === j.memberId
          ? j.members.map((m) => ({ memberId: m.memberId, assignment: Buffer.from(`assigned:${m.memberId}`) }))
          : [],
    });
  }

  beforeAll(async () => {
    broker = await startTestBroker({
      config: { 'group.initial.rebalance.delay.ms': 50, 'group.min.session.timeout.ms': 200 },
    });
    admin = await connectClient(broker);
    const created = await admin.request(CreateTopics, {
      topics: [{ name: 'grp-topic', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(created.topics[0].errorCode).toBe(0);
    topicId = created.topics[0].topicId!;
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    admin?.close();
    await broker?.stop();
  });

  it('FindCoordinator answers every version; batched keys from v4; transaction keys get an honest error', async () => {
    for (let v = 0; v <= 3; v++) {
      const r = await admin.send(FindCoordinator, v, { key: 'g', keyType: v >= 1 ? 0 : undefined });
      expect(r.errorCode).toBe(E.NONE);
      expect(r.port).toBe(broker.port);
      expect(r.nodeId).toBe(broker.broker.nodeId);
    }
    const txn = await admin.send(FindCoordinator, 3, { key: 'tx', keyType: 1 });
    expect(txn.errorCode).toBe(E.COORDINATOR_NOT_AVAILABLE);
    for (let v = 4; v <= 6; v++) {
      const r = await admin.send(FindCoordinator, v, { keyType: 0, coordinatorKeys: ['a', 'b'] });
      expect(r.coordinators?.map((c) => [c.key, c.errorCode, c.port])).toEqual([
        ['a', 0, broker.port],
        ['b', 0, broker.port],
      ]);
      const t = await admin.send(FindCoordinator, v, { keyType: 1, coordinatorKeys: ['tx'] });
      expect(t.coordinators?.[0].errorCode).toBe(E.COORDINATOR_NOT_AVAILABLE);
      expect(t.coordinators?.[0].errorMessage).toMatch(/transactions/);
    }
  });

  it.each([
    [0, 0, 0, 0],
    [1, 1, 1, 1],
    [3, 2, 2, 2],
    [5, 3, 3, 3],
    [7, 4, 4, 4],
    [9, 5, 4, 5],
  ])('join/sync/heartbeat/leave: JoinGroup v%i SyncGroup v%i Heartbeat v%i LeaveGroup v%i', async (jv, sv, hv, lv) => {
    const groupId = `flow-${jv}`;
    const c = await member();
    if (jv >= 4) {
      const first = await join(c, jv, groupId);
      expect(first.errorCode).toBe(E.MEMBER_ID_REQUIRED);
      expect(first.memberId).not.toBe('');
    }
    const j = await joinFully(c, jv, groupId);
    expect(j.errorCode).toBe(E.NONE);
    expect(j.generationId).toBe(1);
    expect(j.leader).toBe(j.memberId);
    expect(j.protocolName).toBe('range');
    if (jv >= 7) expect(j.protocolType).toBe('consumer');
    const s = await sync(c, sv, groupId, j);
    expect(s.errorCode).toBe(E.NONE);
    expect(s.assignment.toString()).toBe(`assigned:${j.memberId}`);
    if (sv >= 5) expect(s.protocolName).toBe('range');
    const h = await c.send(Heartbeat, hv, { groupId, generationId: 1, memberId: j.memberId });
    expect(h.errorCode).toBe(E.NONE);
    const stale = await c.send(Heartbeat, hv, { groupId, generationId: 0, memberId: j.memberId });
    expect(stale.errorCode).toBe(E.ILLEGAL_GENERATION);
    const l =
      lv >= 3
        ? await c.send(LeaveGroup, lv, { groupId, members: [{ memberId: j.memberId, groupInstanceId: null }] })
        : await c.send(LeaveGroup, lv, { groupId, memberId: j.memberId });
    expect(l.errorCode).toBe(E.NONE);
    if (lv >= 3) expect(l.members?.map((m) => m.errorCode)).toEqual([E.NONE]);
    const gone = await c.send(Heartbeat, hv, { groupId, generationId: 1, memberId: j.memberId });
    expect(gone.errorCode).toBe(E.UNKNOWN_MEMBER_ID);
  });

  it('SyncGroup v5 checks the protocol type and name', async () => {
    const c = await member();
    const j = await joinFully(c, 9, 'proto-check');
    const s = await c.send(SyncGroup, 5, {
      groupId: 'proto-check',
      generationId: j.generationId ?? -1,
      memberId: j.memberId,
      protocolType: 'consumer',
      protocolName: 'roundrobin',
      assignments: [],
    });
    expect(s.errorCode).toBe(E.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('five members joining concurrently all end Stable in one generation with their assignments', async () => {
    const groupId = 'concurrent';
    const members = await Promise.all([0, 1, 2, 3, 4].map(() => member()));
    const joins = await Promise.all(members.map((c, i) => joinFully(c, i % 2 === 0 ? 9 : 3, groupId)));
    expect(joins.map((j) => j.errorCode)).toEqual([0, 0, 0, 0, 0]);
    expect(new Set(joins.map((j) => j.generationId)).size).toBe(1);
    const leader = joins.find((j) => j.leader === j.memberId)!;
    expect(leader.members).toHaveLength(5);
    const syncs = await Promise.all(members.map((c, i) => sync(c, 5, groupId, joins[i])));
    expect(syncs.map((s) => s.assignment.toString())).toEqual(joins.map((j) => `assigned:${j.memberId}`));
    const d = await admin.send(DescribeGroups, 5, { groups: [groupId], includeAuthorizedOperations: false });
    expect(d.groups[0].groupState).toBe('Stable');
    expect(d.groups[0].members).toHaveLength(5);
  });

  it('static membership: a restarted instance rejoins without a rebalance; the old one is fenced', async () => {
    const groupId = 'static';
    const a = await member();
    const b = await member();
    const [ja, jb] = await Promise.all([joinFully(a, 9, groupId, 'ia'), joinFully(b, 9, groupId, 'ib')]);
    await Promise.all([sync(a, 5, groupId, ja, 'ia'), sync(b, 5, groupId, jb, 'ib')]);
    const follower = ja.leader === ja.memberId ? { c: b, j: jb, id: 'ib' } : { c: a, j: ja, id: 'ia' };
    const restarted = await member();
    const again = await join(restarted, 9, groupId, '', follower.id);
    expect(again.errorCode).toBe(E.NONE);
    expect(again.generationId).toBe(follower.j.generationId);
    expect(again.memberId).not.toBe(follower.j.memberId);
    const s = await sync(restarted, 5, groupId, again, follower.id);
    expect(s.assignment.toString()).toBe(`assigned:${follower.j.memberId}`);
    const old = await follower.c.send(Heartbeat, 4, {
      groupId,
      generationId: follower.j.generationId ?? -1,
      memberId: follower.j.memberId,
      groupInstanceId: follower.id,
    });
    expect(old.errorCode).toBe(E.FENCED_INSTANCE_ID);
    const d = await admin.send(DescribeGroups, 5, { groups: [groupId], includeAuthorizedOperations: false });
    expect(d.groups[0].groupState).toBe('Stable');
    expect(d.groups[0].members.map((m) => m.groupInstanceId).sort()).toEqual(['ia', 'ib']);
    const left = await a.send(LeaveGroup, 5, {
      groupId,
      members: [
        { memberId: '', groupInstanceId: 'ia' },
        { memberId: '', groupInstanceId: 'ib' },
        { memberId: 'nobody', groupInstanceId: null },
      ],
    });
    expect(left.members?.map((m) => m.errorCode)).toEqual([E.NONE, E.NONE, E.UNKNOWN_MEMBER_ID]);
  });

  it('evicts a member whose session times out', async () => {
    const groupId = 'session';
    const c = await member();
    const first = await join(c, 9, groupId);
    const j = await c.send(JoinGroup, 9, {
      groupId,
      sessionTimeoutMs: 300,
      rebalanceTimeoutMs: 300,
      memberId: first.memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: subscription(['grp-topic']) }],
      reason: null,
    });
    await sync(c, 5, groupId, j);
    let code: number = E.NONE;
    for (let i = 0; i < 100 && code === E.NONE; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const d = await admin.send(DescribeGroups, 5, { groups: [groupId], includeAuthorizedOperations: false });
      if (d.groups[0].members.length === 0) code = E.UNKNOWN_MEMBER_ID;
    }
    expect(code).toBe(E.UNKNOWN_MEMBER_ID);
    const h = await c.send(Heartbeat, 4, { groupId, generationId: j.generationId ?? -1, memberId: j.memberId });
    expect(h.errorCode).toBe(E.UNKNOWN_MEMBER_ID);
  });

  it('OffsetCommit v2-10 and OffsetFetch v1-10 round-trip offsets and metadata, all-offsets and batched groups', async () => {
    for (let v = 2; v <= 10; v++) {
      const groupId = `offsets-v${v}`;
      const topic = v >= 10 ? { topicId } : { name: 'grp-topic' };
      const r = await admin.send(OffsetCommit, v, {
        groupId,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        groupInstanceId: v >= 7 ? null : undefined,
        retentionTimeMs: v >= 2 && v <= 4 ? -1n : undefined,
        topics: [
          {
            ...topic,
            partitions: [
              {
                partitionIndex: 0,
                committedOffset: 10n + BigInt(v),
                committedLeaderEpoch: v >= 6 ? 0 : undefined,
                committedMetadata: `meta-${v}`,
              },
              {
                partitionIndex: 2,
                committedOffset: 3n,
                committedLeaderEpoch: v >= 6 ? 0 : undefined,
                committedMetadata: null,
              },
              {
                partitionIndex: 9,
                committedOffset: 1n,
                committedLeaderEpoch: v >= 6 ? 0 : undefined,
                committedMetadata: '',
              },
            ],
          },
        ],
      });
      expect(r.topics[0].partitions.map((p) => p.errorCode)).toEqual([0, 0, E.UNKNOWN_TOPIC_OR_PARTITION]);
    }
    const big = await admin.send(OffsetCommit, 9, {
      groupId: 'offsets-v9',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: 'grp-topic',
          partitions: [
            { partitionIndex: 1, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: 'x'.repeat(5000) },
          ],
        },
      ],
    });
    expect(big.topics[0].partitions[0].errorCode).toBe(E.OFFSET_METADATA_TOO_LARGE);
    const unknownTopic = await admin.send(OffsetCommit, 10, {
      groupId: 'offsets-v10',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          topicId: 'AAAAAAAAAAAAAAAAAAAAAQ',
          partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }],
        },
      ],
    });
    expect(unknownTopic.topics[0].partitions[0].errorCode).toBe(E.UNKNOWN_TOPIC_ID);

    for (let v = 1; v <= 7; v++) {
      const groupId = `offsets-v${Math.max(2, v)}`;
      const named = await admin.send(OffsetFetch, v, {
        groupId,
        topics: [{ name: 'grp-topic', partitionIndexes: [0, 1, 2] }],
        requireStable: v >= 7 ? true : undefined,
      });
      const parts = named.topics![0].partitions;
      expect(parts.map((p) => [p.committedOffset, p.metadata, p.errorCode])).toEqual([
        [10n + BigInt(Math.max(2, v)), `meta-${Math.max(2, v)}`, 0],
        [-1n, '', 0],
        [3n, '', 0],
      ]);
      if (v >= 5) expect(parts[0].committedLeaderEpoch).toBe(v >= 6 ? 0 : -1);
      if (v >= 2) {
        const all = await admin.send(OffsetFetch, v, { groupId, topics: null });
        expect(all.errorCode).toBe(0);
        expect(all.topics!.map((t) => [t.name, t.partitions.map((p) => p.partitionIndex)])).toEqual([
          ['grp-topic', [0, 2]],
        ]);
      }
    }
    for (let v = 8; v <= 10; v++) {
      const r = await admin.send(OffsetFetch, v, {
        groups: [
          {
            groupId: 'offsets-v8',
            memberId: v >= 9 ? null : undefined,
            memberEpoch: v >= 9 ? -1 : undefined,
            topics: null,
          },
          {
            groupId: 'offsets-v10',
            memberId: v >= 9 ? null : undefined,
            memberEpoch: v >= 9 ? -1 : undefined,
            topics: [v >= 10 ? { topicId, partitionIndexes: [0] } : { name: 'grp-topic', partitionIndexes: [0] }],
          },
          { groupId: '', topics: null },
        ],
        requireStable: false,
      });
      expect(r.groups!.map((g) => g.errorCode)).toEqual([0, 0, E.INVALID_GROUP_ID]);
      expect(r.groups![0].topics[0].partitions.map((p) => p.committedOffset)).toEqual([18n, 3n]);
      expect(r.groups![1].topics[0].partitions[0].metadata).toBe('meta-10');
      if (v >= 10) expect(r.groups![0].topics[0].topicId).toBe(topicId);
      else expect(r.groups![0].topics[0].name).toBe('grp-topic');
    }
  });

  it('OffsetDelete removes offsets of an Empty group and refuses topics a live member subscribes to', async () => {
    const del = await admin.send(OffsetDelete, 0, {
      groupId: 'offsets-v3',
      topics: [{ name: 'grp-topic', partitions: [{ partitionIndex: 0 }, { partitionIndex: 7 }] }],
    });
    expect(del.errorCode).toBe(0);
    expect(del.topics[0].partitions.map((p) => p.errorCode)).toEqual([0, E.UNKNOWN_TOPIC_OR_PARTITION]);
    const after = await admin.send(OffsetFetch, 6, { groupId: 'offsets-v3', topics: null });
    expect(after.topics!.flatMap((t) => t.partitions.map((p) => p.partitionIndex))).toEqual([2]);
    const c = await member();
    const j = await joinFully(c, 9, 'subscribed');
    await sync(c, 5, 'subscribed', j);
    const refused = await admin.send(OffsetDelete, 0, {
      groupId: 'subscribed',
      topics: [{ name: 'grp-topic', partitions: [{ partitionIndex: 0 }] }],
    });
    expect(refused.topics[0].partitions[0].errorCode).toBe(E.GROUP_SUBSCRIBED_TO_TOPIC);
    const missing = await admin.send(OffsetDelete, 0, { groupId: 'no-such-group', topics: [] });
    expect(missing.errorCode).toBe(E.GROUP_ID_NOT_FOUND);
  });

  it('DescribeGroups v0-6, ListGroups v0-5 with filters, DeleteGroups v0-3', async () => {
    for (let v = 0; v <= 6; v++) {
      const r = await admin.send(DescribeGroups, v, {
        groups: ['concurrent', 'offsets-v2', 'missing'],
        includeAuthorizedOperations: v >= 3 ? true : undefined,
      });
      expect(r.groups.map((g) => g.groupState)).toEqual(['Stable', 'Empty', 'Dead']);
      expect(r.groups[0].protocolData).toBe('range');
      expect(r.groups[0].members[0].memberAssignment.toString()).toMatch(/^assigned:/);
      expect(r.groups[2].errorCode).toBe(v >= 6 ? E.GROUP_ID_NOT_FOUND : E.NONE);
    }
    for (let v = 0; v <= 5; v++) {
      const r = await admin.send(ListGroups, v, {
        statesFilter: v >= 4 ? ['stable'] : undefined,
        typesFilter: v >= 5 ? ['classic'] : undefined,
      });
      expect(r.errorCode).toBe(0);
      const ids = r.groups.map((g) => g.groupId);
      expect(ids).toContain('concurrent');
      if (v >= 4) {
        expect(ids).not.toContain('offsets-v2');
        expect(r.groups.every((g) => g.groupState === 'Stable')).toBe(true);
      } else expect(ids).toContain('offsets-v2');
      if (v >= 5) expect(r.groups[0].groupType).toBe('classic');
    }
    const none = await admin.send(ListGroups, 5, { statesFilter: [], typesFilter: ['consumer'] });
    expect(none.groups).toEqual([]);
    for (let v = 0; v <= 3; v++) {
      const r = await admin.send(DeleteGroups, v, { groupsNames: [`offsets-v${v + 2}`, 'concurrent', 'missing'] });
      expect(r.results.map((x) => x.errorCode)).toEqual([E.NONE, E.NON_EMPTY_GROUP, E.GROUP_ID_NOT_FOUND]);
      const f = await admin.send(OffsetFetch, 6, { groupId: `offsets-v${v + 2}`, topics: null });
      expect(f.topics).toEqual([]);
    }
  });
});
