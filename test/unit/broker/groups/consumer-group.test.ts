import { describe, expect, it } from 'vitest';
import { rangeAssignor, uniformAssignor } from '../../../../broker/groups/assignors.js';
import { ConsumerGroup, type ConsumerHeartbeat } from '../../../../broker/groups/consumer-group.js';
import { ManualTimers } from '../../../../broker/groups/group-timers.js';
import { ErrorCode as E } from '../../../../protocol/error-codes.js';

const topics = new Map([
  ['orders', { topicId: 'T-orders', name: 'orders', partitions: 6 }],
  ['audit', { topicId: 'T-audit', name: 'audit', partitions: 2 }],
]);

function setup() {
  const timers = new ManualTimers();
  const group = new ConsumerGroup('cg', {
    timers,
    sessionTimeoutMs: 45_000,
    heartbeatIntervalMs: 5000,
    topicByName: (n) => topics.get(n),
    topicById: (id) => [...topics.values()].find((t) => t.topicId === id),
  });
  return { group, timers };
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

const count = (a: Array<{ partitions: number[] }> | null) => (a ?? []).reduce((n, t) => n + t.partitions.length, 0);

describe('assignors', () => {
  const members = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ memberId: `m${i}`, topics: new Set(['A', 'B']), current: new Map() }));
  it('uniform balances within one and is sticky', () => {
    const first = uniformAssignor.assign(
      members(3),
      new Map([
        ['A', 5],
        ['B', 3],
      ]),
    );
    const loads = [...first.values()].map((a) => [...a.values()].reduce((n, s) => n + s.size, 0));
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(1);
    expect(loads.reduce((a, b) => a + b)).toBe(8);
    const withCurrent = members(4).map((m, i) => ({ ...m, current: first.get(`m${i}`) ?? new Map() }));
    const second = uniformAssignor.assign(
      withCurrent,
      new Map([
        ['A', 5],
        ['B', 3],
      ]),
    );
    let moved = 0;
    for (let i = 0; i < 3; i++)
      for (const [t, ps] of first.get(`m${i}`)!) for (const p of ps) if (!second.get(`m${i}`)!.get(t)?.has(p)) moved++;
    expect(moved).toBe(2);
  });
  it('range gives contiguous ranges per topic', () => {
    const r = rangeAssignor.assign(members(2), new Map([['A', 5]]));
    expect([...r.get('m0')!.get('A')!]).toEqual([0, 1, 2]);
    expect([...r.get('m1')!.get('A')!]).toEqual([3, 4]);
  });
});

describe('ConsumerGroup (KIP-848)', () => {
  it('assigns everything to a first member, then revokes before assigning to a second (incremental)', () => {
    const { group } = setup();
    const a = group.heartbeat(hb({ memberId: 'a' }));
    expect(a.errorCode).toBe(E.NONE);
    expect(a.memberEpoch).toBeGreaterThan(0);
    expect(count(a.assignment)).toBe(6);
    expect(group.state).toBe('Stable');

    const b = group.heartbeat(hb({ memberId: 'b' }));
    expect(b.errorCode).toBe(E.NONE);
    // b's target partitions are still owned by a: nothing yet.
    expect(count(b.assignment)).toBe(0);
    expect(group.state).toBe('Reconciling');

    // a is told to keep only its target; its epoch stays until it confirms the revocation.
    const a2 = group.heartbeat(
      hb({ memberId: 'a', memberEpoch: a.memberEpoch, subscribedTopicNames: null, topicPartitions: null }),
    );
    expect(count(a2.assignment)).toBe(3);
    expect(a2.memberEpoch).toBe(a.memberEpoch);
    const kept = a2.assignment!;
    const a3 = group.heartbeat(
      hb({ memberId: 'a', memberEpoch: a.memberEpoch, subscribedTopicNames: null, topicPartitions: kept }),
    );
    expect(a3.memberEpoch).toBe(group.assignmentEpoch);

    const b2 = group.heartbeat(
      hb({ memberId: 'b', memberEpoch: b.memberEpoch, subscribedTopicNames: null, topicPartitions: [] }),
    );
    expect(count(b2.assignment)).toBe(3);
    const owned = new Set([...kept[0].partitions, ...b2.assignment![0].partitions]);
    expect(owned.size).toBe(6);
    group.heartbeat(
      hb({ memberId: 'b', memberEpoch: b2.memberEpoch, subscribedTopicNames: null, topicPartitions: b2.assignment }),
    );
    expect(group.state).toBe('Stable');
  });

  it('sends an assignment again until the member reports owning it (a lost response does not strand a member)', () => {
    const { group } = setup();
    const partial = (memberId: string, topicPartitions: ConsumerHeartbeat['topicPartitions'] = null) =>
      group.heartbeat(
        hb({
          memberId,
          memberEpoch: group.members.get(memberId)!.memberEpoch,
          subscribedTopicNames: null,
          topicPartitions,
        }),
      );
    const a = group.heartbeat(hb({ memberId: 'a' }));
    partial('a', a.assignment);
    // Confirmed: partial heartbeats carry no assignment.
    expect(partial('a').assignment).toBeNull();

    group.heartbeat(hb({ memberId: 'b' }));
    // a's answer telling it to give up three partitions is lost (its client timed the request out)...
    expect(count(partial('a').assignment)).toBe(3);
    // ...so the next partial heartbeat carries it again, and so on until a reports what it keeps.
    const again = partial('a').assignment;
    expect(count(again)).toBe(3);
    partial('a', again);
    expect(partial('a').assignment).toBeNull();

    // b's first assignment is lost too: it is repeated until b reports owning it.
    expect(count(partial('b', []).assignment)).toBe(3);
    const bAgain = partial('b').assignment;
    expect(count(bAgain)).toBe(3);
    partial('b', bAgain);
    expect(partial('b').assignment).toBeNull();
    expect(group.state).toBe('Stable');
  });

  it('fences stale epochs, rejects unknown members and assignors, and lets members leave', () => {
    const { group } = setup();
    const a = group.heartbeat(hb({ memberId: 'a' }));
    expect(
      group.heartbeat(hb({ memberId: 'a', memberEpoch: a.memberEpoch + 5, subscribedTopicNames: null })).errorCode,
    ).toBe(E.FENCED_MEMBER_EPOCH);
    expect(group.heartbeat(hb({ memberId: 'zz', memberEpoch: 3 })).errorCode).toBe(E.UNKNOWN_MEMBER_ID);
    expect(group.heartbeat(hb({ memberId: 'b', serverAssignor: 'sticky' })).errorCode).toBe(E.UNSUPPORTED_ASSIGNOR);
    expect(group.heartbeat(hb({ memberId: '' })).errorCode).toBe(E.INVALID_REQUEST);
    const left = group.heartbeat(hb({ memberId: 'a', memberEpoch: -1 }));
    expect(left.memberEpoch).toBe(-1);
    expect(group.state).toBe('Empty');
  });

  it('expires a member whose session times out, and one that never confirms a revocation', () => {
    const { group, timers } = setup();
    const a = group.heartbeat(hb({ memberId: 'a' }));
    group.heartbeat(hb({ memberId: 'b' }));
    // a never answers: it is removed after the session timeout; b then gets everything.
    timers.advance(30_000);
    const b = group.heartbeat(
      hb({
        memberId: 'b',
        memberEpoch: group.members.get('b')!.memberEpoch,
        subscribedTopicNames: null,
        topicPartitions: [],
      }),
    );
    expect(group.members.has('a')).toBe(true);
    timers.advance(16_000);
    expect(group.members.has('a')).toBe(false);
    const b2 = group.heartbeat(
      hb({ memberId: 'b', memberEpoch: b.memberEpoch, subscribedTopicNames: null, topicPartitions: b.assignment }),
    );
    expect(count(b2.assignment)).toBe(6);
    expect(a.memberEpoch).toBeGreaterThan(0);
  });

  it('uses the range assignor when members ask for it and follows subscription changes', () => {
    const { group } = setup();
    const a = group.heartbeat(
      hb({ memberId: 'a', serverAssignor: 'range', subscribedTopicNames: ['orders', 'audit'] }),
    );
    expect(group.assignorName).toBe('range');
    expect(count(a.assignment)).toBe(8);
    const a2 = group.heartbeat(
      hb({ memberId: 'a', memberEpoch: a.memberEpoch, subscribedTopicNames: ['audit'], topicPartitions: a.assignment }),
    );
    expect(a2.assignment?.map((t) => t.topicId)).toEqual(['T-audit']);
  });
});
