import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConsumerHeartbeat } from '../../../../broker/groups/consumer-group.js';
import { GroupCoordinator } from '../../../../broker/groups/group-coordinator.js';
import { ManualTimers } from '../../../../broker/groups/group-timers.js';
import { ErrorCode as E } from '../../../../protocol/error-codes.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const topics = new Map([
  ['orders', { topicId: 'T-orders', name: 'orders', partitions: 6 }],
  ['audit', { topicId: 'T-audit', name: 'audit', partitions: 2 }],
]);

async function open(dir: string, timers = new ManualTimers()) {
  const coordinator = await GroupCoordinator.open({
    dir,
    timers,
    topics: { byName: (n) => topics.get(n), byId: (id) => [...topics.values()].find((t) => t.topicId === id) },
    config: {
      initialRebalanceDelayMs: 0,
      minSessionTimeoutMs: 1000,
      maxSessionTimeoutMs: 60_000,
      maxSize: 100,
      offsetsRetentionMs: 600_000,
      offsetsRetentionCheckIntervalMs: 60_000,
      consumerSessionTimeoutMs: 45_000,
      consumerHeartbeatIntervalMs: 5000,
    },
  });
  return { coordinator, timers };
}

function hb(over: Partial<ConsumerHeartbeat>): ConsumerHeartbeat {
  return {
    memberId: '',
    memberEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: 30_000,
    subscribedTopicNames: ['orders'],
    serverAssignor: null,
    topicPartitions: [],
    clientId: 'c',
    clientHost: '/h',
    brokerAssignsMemberId: false,
    ...over,
  };
}

const owned = (r: { assignment: Array<{ topicId: string; partitions: number[] }> | null }) => r.assignment ?? [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'groups-helper-cgdur-'));
  dirs.push(d);
  return d;
}

describe('KIP-848 consumer groups across a coordinator restart', () => {
  it('rebuilds epochs, members and assignments; members carry on with their epochs, unfenced', async () => {
    const dir = tempDir();
    const { coordinator: c } = await open(dir);
    const a = await c.consumerHeartbeat(
      'cg',
      hb({ memberId: 'a', instanceId: 'inst-a', rackId: 'r1', serverAssignor: 'range', clientId: 'ca' }),
    );
    const b = await c.consumerHeartbeat('cg', hb({ memberId: 'b', subscribedTopicNames: ['orders', 'audit'] }));
    // a must give up half of orders before b gets it: a's revocation is in flight at the restart.
    const a2 = await c.consumerHeartbeat(
      'cg',
      hb({ memberId: 'a', memberEpoch: a.memberEpoch, topicPartitions: null }),
    );
    expect(a2.errorCode).toBe(E.NONE);
    const before = c.consumerGroup('cg')!;
    const snapshot = {
      groupEpoch: before.groupEpoch,
      assignmentEpoch: before.assignmentEpoch,
      assignor: before.assignorName,
      members: [...before.members.values()].map((m) => ({
        id: m.memberId,
        epoch: m.memberEpoch,
        previous: m.previousMemberEpoch,
        instance: m.instanceId,
        rack: m.rackId,
        subs: m.subscribedTopicNames,
        assigned: before.describeAssignment(m.assigned),
        revoking: before.describeAssignment(m.revoking),
        target: before.describeAssignment(before.targetOf(m.memberId)),
        clientId: m.clientId,
      })),
    };
    expect(snapshot.members.find((m) => m.id === 'a')!.revoking.length).toBeGreaterThan(0);
    await c.close();

    const { coordinator: r, timers } = await open(dir);
    const g = r.consumerGroup('cg')!;
    expect({
      groupEpoch: g.groupEpoch,
      assignmentEpoch: g.assignmentEpoch,
      assignor: g.assignorName,
      members: [...g.members.values()].map((m) => ({
        id: m.memberId,
        epoch: m.memberEpoch,
        previous: m.previousMemberEpoch,
        instance: m.instanceId,
        rack: m.rackId,
        subs: m.subscribedTopicNames,
        assigned: g.describeAssignment(m.assigned),
        revoking: g.describeAssignment(m.revoking),
        target: g.describeAssignment(g.targetOf(m.memberId)),
        clientId: m.clientId,
      })),
    }).toEqual(snapshot);
    expect(r.list()).toEqual([
      { groupId: 'cg', state: 'Reconciling', protocolType: 'consumer', groupType: 'consumer' },
    ]);

    // a confirms its revocation with its pre-restart epoch; b then gets what a gave up. Nobody is fenced.
    const aKeeps = snapshot.members.find((m) => m.id === 'a')!.assigned;
    const a3 = await r.consumerHeartbeat(
      'cg',
      hb({
        memberId: 'a',
        memberEpoch: a2.memberEpoch,
        subscribedTopicNames: null,
        topicPartitions: aKeeps.map((t) => ({ topicId: t.topicId, partitions: t.partitions })),
      }),
    );
    expect(a3.errorCode).toBe(E.NONE);
    expect(a3.memberEpoch).toBe(g.assignmentEpoch);
    const b2 = await r.consumerHeartbeat(
      'cg',
      hb({ memberId: 'b', memberEpoch: b.memberEpoch, subscribedTopicNames: null, topicPartitions: null }),
    );
    expect(b2.errorCode).toBe(E.NONE);
    expect(b2.memberEpoch).toBe(g.assignmentEpoch);
    const all = [...owned(a3), ...owned(b2)].flatMap((t) => t.partitions.map((p) => `${t.topicId}:${p}`));
    expect(new Set(all).size).toBe(8);
    expect(g.state).toBe('Stable');
    // Sessions restarted at load: a member that never comes back is expired one session timeout later.
    timers.advance(45_001);
    expect(g.members.size).toBe(0);
    await r.close();

    // The expiry was persisted too.
    const { coordinator: again } = await open(dir);
    expect(again.consumerGroup('cg')?.members.size).toBe(0);
    expect(again.consumerGroup('cg')?.state).toBe('Empty');
    await again.close();
  });

  it('forgets a consumer group deleted, or taken over by a classic member, but keeps its offsets', async () => {
    const dir = tempDir();
    const { coordinator: c } = await open(dir);
    const a = await c.consumerHeartbeat('gone', hb({ memberId: 'a' }));
    await c.consumerHeartbeat('classic-next', hb({ memberId: 'x' }));
    await c.commitOffsets('classic-next', [
      { topic: 'orders', partition: 0, offset: 5n, leaderEpoch: 0, metadata: null },
    ]);
    for (const [g, id, epoch] of [
      ['gone', 'a', a.memberEpoch],
      ['classic-next', 'x', 1],
    ] as const) {
      const left = await c.consumerHeartbeat(g, hb({ memberId: id, memberEpoch: -1 }));
      expect(left.errorCode).toBe(E.NONE);
      expect(epoch).toBeGreaterThan(0);
    }
    expect(await c.deleteGroup('gone')).toBe(E.NONE);
    const joined = await c.join('classic-next', {
      memberId: '',
      groupInstanceId: null,
      clientId: 'c',
      clientHost: '/h',
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      requireKnownMemberId: false,
    });
    expect(joined.errorCode).toBe(E.NONE);
    await c.close();
    const { coordinator: r } = await open(dir);
    expect(r.consumerGroup('gone')).toBeUndefined();
    expect(r.consumerGroup('classic-next')).toBeUndefined();
    expect(r.list().map((g) => [g.groupId, g.groupType])).toEqual([['classic-next', 'classic']]);
    expect(r.committed('classic-next', 'orders', 0)?.offset).toBe(5n);
    expect(statSync(join(dir, 'groups.log')).size).toBeGreaterThan(0);
    await r.close();
  });
});
