import { describe, expect, it } from 'vitest';
import { ClassicGroup, type JoinParams } from '../../../../broker/groups/classic-group.js';
import type { JoinResult, SyncResult } from '../../../../broker/groups/classic-member.js';
import { ManualTimers } from '../../../../broker/groups/group-timers.js';
import { ErrorCode as E } from '../../../../protocol/error-codes.js';

function setup(initialRebalanceDelayMs = 0, maxSize = 100) {
  const timers = new ManualTimers();
  const generations: number[] = [];
  const group = new ClassicGroup('g', {
    timers,
    initialRebalanceDelayMs,
    maxSize,
    onGenerationChange: (g) => generations.push(g.generationId),
  });
  return { timers, group, generations };
}

function params(over: Partial<JoinParams> = {}): JoinParams {
  return {
    memberId: '',
    groupInstanceId: null,
    clientId: 'c',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.from('m') }],
    requireKnownMemberId: false,
    ...over,
  };
}

/** Tracks a promise's settlement without awaiting it (the state machine resolves synchronously). */
function track<T>(p: Promise<T>): { value: T | undefined } {
  const box: { value: T | undefined } = { value: undefined };
  void p.then((v) => {
    box.value = v;
  });
  return box;
}

const flush = () => new Promise((r) => setImmediate(r));

describe('ClassicGroup', () => {
  it('runs Empty -> PreparingRebalance -> CompletingRebalance -> Stable and distributes assignments', async () => {
    const { group, generations } = setup();
    const a = track(group.join(params({ clientId: 'a' })));
    await flush();
    expect(a.value?.errorCode).toBe(E.NONE);
    expect(group.state).toBe('CompletingRebalance');
    expect(a.value!.generationId).toBe(1);
    expect(a.value!.leader).toBe(a.value!.memberId);
    expect(a.value!.members.map((m) => m.memberId)).toEqual([a.value!.memberId]);
    const s = track(
      group.sync({
        memberId: a.value!.memberId,
        groupInstanceId: null,
        generationId: 1,
        protocolType: 'consumer',
        protocolName: 'range',
        assignments: [{ memberId: a.value!.memberId, assignment: Buffer.from('A') }],
      }),
    );
    await flush();
    expect(s.value?.errorCode).toBe(E.NONE);
    expect(s.value?.assignment.toString()).toBe('A');
    expect(group.state).toBe('Stable');
    expect(generations).toEqual([1]);
  });

  it('waits the initial rebalance delay so that members starting together share one generation', async () => {
    const { group, timers } = setup(3000);
    const joins = [0, 1, 2].map((i) => track(group.join(params({ clientId: `m${i}` }))));
    timers.advance(2000);
    await flush();
    expect(joins.every((j) => j.value === undefined)).toBe(true);
    const late = track(group.join(params({ clientId: 'late' })));
    timers.advance(2999);
    await flush();
    expect(late.value).toBeUndefined();
    timers.advance(1);
    await flush();
    const all = [...joins, late].map((j) => j.value!);
    expect(all.every((r) => r.errorCode === E.NONE && r.generationId === 1)).toBe(true);
    expect(all.filter((r) => r.members.length === 4)).toHaveLength(1);
  });

  it('never drops a concurrent join: members joining during a rebalance all end in the same generation', async () => {
    const { group } = setup();
    const first = track(group.join(params({ clientId: 'a' })));
    await flush();
    const sync = (r: JoinResult, assignments: Array<{ memberId: string; assignment: Buffer }> = []) =>
      track(
        group.sync({
          memberId: r.memberId,
          groupInstanceId: null,
          generationId: r.generationId,
          protocolType: null,
          protocolName: null,
          assignments,
        }),
      );
    sync(first.value!, [{ memberId: first.value!.memberId, assignment: Buffer.from('x') }]);
    await flush();
    expect(group.state).toBe('Stable');
    // Three new members arrive at once (KIP-394: each must come back with its id).
    const required = [1, 2, 3].map((i) => track(group.join(params({ clientId: `n${i}`, requireKnownMemberId: true }))));
    await flush();
    expect(required.map((r) => r.value!.errorCode)).toEqual([
      E.MEMBER_ID_REQUIRED,
      E.MEMBER_ID_REQUIRED,
      E.MEMBER_ID_REQUIRED,
    ]);
    expect(group.pendingMemberCount).toBe(3);
    expect(group.state).toBe('Stable');
    const rejoins = required.map((r) =>
      track(group.join(params({ memberId: r.value!.memberId, requireKnownMemberId: true }))),
    );
    await flush();
    // The group is rebalancing and waits for the old member too.
    expect(group.state).toBe('PreparingRebalance');
    expect(rejoins.every((r) => r.value === undefined)).toBe(true);
    const old = track(group.join(params({ memberId: first.value!.memberId, clientId: 'a' })));
    await flush();
    const results = [old, ...rejoins].map((r) => r.value!);
    expect(results.map((r) => r.errorCode)).toEqual([E.NONE, E.NONE, E.NONE, E.NONE]);
    expect(new Set(results.map((r) => r.generationId))).toEqual(new Set([2]));
    expect(group.members.size).toBe(4);
    const leader = results.find((r) => r.memberId === r.leader)!;
    expect(leader.members).toHaveLength(4);
    const followers = results.filter((r) => r !== leader).map((r) => sync(r));
    await flush();
    expect(followers.every((f) => f.value === undefined)).toBe(true);
    const leaderSync = sync(
      leader,
      results.map((r) => ({ memberId: r.memberId, assignment: Buffer.from(`for-${r.memberId}`) })),
    );
    await flush();
    for (const [i, f] of followers.entries()) {
      const r = results.filter((x) => x !== leader)[i];
      expect((f.value as SyncResult).assignment.toString()).toBe(`for-${r.memberId}`);
    }
    expect(leaderSync.value?.assignment.toString()).toBe(`for-${leader.memberId}`);
    expect(group.state).toBe('Stable');
  });

  it('removes members that do not rejoin within the rebalance timeout', async () => {
    const { group, timers } = setup();
    const a = track(group.join(params({ clientId: 'a', rebalanceTimeoutMs: 5000 })));
    await flush();
    const b = track(group.join(params({ clientId: 'b', rebalanceTimeoutMs: 5000 })));
    await flush();
    // b's join started a new rebalance; a's first generation is abandoned and a does not rejoin.
    expect(group.state).toBe('PreparingRebalance');
    expect(b.value).toBeUndefined();
    timers.advance(5000);
    await flush();
    expect(b.value?.errorCode).toBe(E.NONE);
    expect(group.members.size).toBe(1);
    expect(group.members.has(a.value!.memberId)).toBe(false);
    expect(b.value!.leader).toBe(b.value!.memberId);
  });

  it('expires a silent member after its session timeout and rebalances the rest', async () => {
    const { group, timers } = setup();
    const a = track(group.join(params({ clientId: 'a' })));
    await flush();
    const b = track(group.join(params({ clientId: 'b' })));
    const a2 = track(group.join(params({ clientId: 'a', memberId: a.value!.memberId })));
    await flush();
    const gen = b.value!.generationId;
    const leader = [a2.value!, b.value!].find((r) => r.memberId === r.leader)!;
    track(
      group.sync({
        memberId: leader.memberId,
        groupInstanceId: null,
        generationId: gen,
        protocolType: null,
        protocolName: null,
        assignments: [],
      }),
    );
    await flush();
    expect(group.state).toBe('Stable');
    for (let t = 0; t < 2; t++) {
      timers.advance(4000);
      expect(group.heartbeat(b.value!.memberId, null, gen)).toBe(E.NONE);
    }
    expect(group.members.size).toBe(2);
    timers.advance(4000);
    expect(group.members.has(a.value!.memberId)).toBe(false);
    expect(group.heartbeat(b.value!.memberId, null, gen)).toBe(E.REBALANCE_IN_PROGRESS);
    expect(group.heartbeat(a.value!.memberId, null, gen)).toBe(E.UNKNOWN_MEMBER_ID);
  });

  it('expires a KIP-394 pending member id that never comes back, and then completes the rebalance', async () => {
    const { group, timers } = setup();
    const a = track(group.join(params({ clientId: 'a', requireKnownMemberId: true })));
    await flush();
    expect(a.value!.errorCode).toBe(E.MEMBER_ID_REQUIRED);
    const ghost = track(group.join(params({ clientId: 'ghost', requireKnownMemberId: true })));
    await flush();
    expect(ghost.value!.errorCode).toBe(E.MEMBER_ID_REQUIRED);
    const joined = track(group.join(params({ memberId: a.value!.memberId, requireKnownMemberId: true })));
    await flush();
    expect(joined.value).toBeUndefined();
    timers.advance(10_000);
    await flush();
    expect(joined.value?.errorCode).toBe(E.NONE);
    expect(group.members.size).toBe(1);
  });

  it('lets a restarted static member take its place without a rebalance, and fences the old incarnation', async () => {
    const { group, generations } = setup();
    const a = track(group.join(params({ clientId: 'a', groupInstanceId: 'ia' })));
    await flush();
    const b = track(group.join(params({ clientId: 'b', groupInstanceId: 'ib' })));
    const a2 = track(group.join(params({ clientId: 'a', groupInstanceId: 'ia', memberId: a.value!.memberId })));
    await flush();
    const results = [a2.value!, b.value!];
    const leader = results.find((r) => r.memberId === r.leader)!;
    const follower = results.find((r) => r !== leader)!;
    const followerInstance = follower === b.value ? 'ib' : 'ia';
    const syncs = results.map((r) =>
      track(
        group.sync({
          memberId: r.memberId,
          groupInstanceId: r === b.value ? 'ib' : 'ia',
          generationId: r.generationId,
          protocolType: null,
          protocolName: null,
          assignments:
            r === leader ? results.map((x) => ({ memberId: x.memberId, assignment: Buffer.from(x.memberId) })) : [],
        }),
      ),
    );
    await flush();
    expect(syncs.every((s) => s.value?.errorCode === E.NONE)).toBe(true);
    const generationBefore = group.generationId;
    const rejoined = track(group.join(params({ clientId: 'x', groupInstanceId: followerInstance })));
    await flush();
    expect(rejoined.value!.errorCode).toBe(E.NONE);
    expect(rejoined.value!.memberId).not.toBe(follower.memberId);
    expect(rejoined.value!.generationId).toBe(generationBefore);
    expect(group.state).toBe('Stable');
    expect(generations.at(-1)).toBe(generationBefore);
    const s = track(
      group.sync({
        memberId: rejoined.value!.memberId,
        groupInstanceId: followerInstance,
        generationId: generationBefore,
        protocolType: null,
        protocolName: null,
        assignments: [],
      }),
    );
    await flush();
    expect(s.value!.assignment.toString()).toBe(follower.memberId);
    expect(group.heartbeat(follower.memberId, followerInstance, generationBefore)).toBe(E.FENCED_INSTANCE_ID);
    expect(group.leave([{ memberId: follower.memberId, groupInstanceId: followerInstance }])).toEqual([
      E.FENCED_INSTANCE_ID,
    ]);
  });

  it('selects the protocol all members support by their votes, and refuses members with none in common', async () => {
    const { group } = setup();
    const proto = (...names: string[]) => names.map((name) => ({ name, metadata: Buffer.from(name) }));
    const a = track(group.join(params({ clientId: 'a', protocols: proto('sticky', 'range') })));
    await flush();
    const bad = track(group.join(params({ clientId: 'bad', protocols: proto('roundrobin') })));
    await flush();
    expect(bad.value!.errorCode).toBe(E.INCONSISTENT_GROUP_PROTOCOL);
    const b = track(group.join(params({ clientId: 'b', protocols: proto('range', 'sticky') })));
    const c = track(group.join(params({ clientId: 'c', protocols: proto('range', 'sticky', 'x') })));
    const a2 = track(group.join(params({ memberId: a.value!.memberId, protocols: proto('sticky', 'range') })));
    await flush();
    expect([a2, b, c].map((r) => r.value!.protocolName)).toEqual(['range', 'range', 'range']);
    const wrongType = track(group.join(params({ clientId: 'd', protocolType: 'connect' })));
    await flush();
    expect(wrongType.value!.errorCode).toBe(E.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('answers parked followers REBALANCE_IN_PROGRESS when a member leaves before the leader syncs', async () => {
    const { group } = setup();
    const a = track(group.join(params({ clientId: 'a' })));
    await flush();
    const b = track(group.join(params({ clientId: 'b' })));
    const a2 = track(group.join(params({ memberId: a.value!.memberId })));
    await flush();
    const follower = [a2.value!, b.value!].find((r) => r.memberId !== r.leader)!;
    const leader = [a2.value!, b.value!].find((r) => r.memberId === r.leader)!;
    const s = track(
      group.sync({
        memberId: follower.memberId,
        groupInstanceId: null,
        generationId: follower.generationId,
        protocolType: null,
        protocolName: null,
        assignments: [],
      }),
    );
    await flush();
    expect(s.value).toBeUndefined();
    expect(group.leave([{ memberId: leader.memberId, groupInstanceId: null }])).toEqual([E.NONE]);
    await flush();
    expect(s.value!.errorCode).toBe(E.REBALANCE_IN_PROGRESS);
    expect(group.state).toBe('PreparingRebalance');
    const again = track(group.join(params({ memberId: follower.memberId })));
    await flush();
    expect(again.value!.errorCode).toBe(E.NONE);
    expect(again.value!.leader).toBe(follower.memberId);
    expect(group.leave([{ memberId: follower.memberId, groupInstanceId: null }])).toEqual([E.NONE]);
    expect(group.state).toBe('Empty');
  });

  it('turns Empty when the last member leaves, with a new generation', async () => {
    const { group, generations } = setup();
    const a = track(group.join(params({ clientId: 'a' })));
    await flush();
    track(
      group.sync({
        memberId: a.value!.memberId,
        groupInstanceId: null,
        generationId: 1,
        protocolType: null,
        protocolName: null,
        assignments: [],
      }),
    );
    await flush();
    expect(group.leave([{ memberId: a.value!.memberId, groupInstanceId: null }])).toEqual([E.NONE]);
    expect(group.state).toBe('Empty');
    expect(generations).toEqual([1, 2]);
    expect(group.leave([{ memberId: a.value!.memberId, groupInstanceId: null }])).toEqual([E.UNKNOWN_MEMBER_ID]);
  });

  it('removes members that do not SyncGroup within the rebalance timeout', async () => {
    const { group, timers } = setup();
    const a = track(group.join(params({ clientId: 'a', rebalanceTimeoutMs: 5000 })));
    await flush();
    expect(group.state).toBe('CompletingRebalance');
    timers.advance(5000);
    await flush();
    expect(group.members.has(a.value!.memberId)).toBe(false);
    expect(group.state).toBe('Empty');
  });

  it('refuses members beyond group.max.size, counting member ids still pending (KIP-394)', async () => {
    const { group } = setup(0, 2);
    const a = track(group.join(params({ clientId: 'a', requireKnownMemberId: true })));
    const b = track(group.join(params({ clientId: 'b', groupInstanceId: 'ib' })));
    const c = track(group.join(params({ clientId: 'c', requireKnownMemberId: true })));
    await flush();
    expect(a.value!.errorCode).toBe(E.MEMBER_ID_REQUIRED);
    expect(c.value!.errorCode).toBe(E.GROUP_MAX_SIZE_REACHED);
    const a2 = track(group.join(params({ memberId: a.value!.memberId, requireKnownMemberId: true })));
    await flush();
    expect([a2.value!.errorCode, b.value!.errorCode]).toEqual([E.NONE, E.NONE]);
  });

  it('lets a restarted static leader rejoin a Stable group without a rebalance (skipAssignment)', async () => {
    const { group } = setup();
    const a = track(group.join(params({ clientId: 'a', groupInstanceId: 'ia' })));
    await flush();
    track(
      group.sync({
        memberId: a.value!.memberId,
        groupInstanceId: 'ia',
        generationId: 1,
        protocolType: null,
        protocolName: null,
        assignments: [{ memberId: a.value!.memberId, assignment: Buffer.from('mine') }],
      }),
    );
    await flush();
    const again = track(group.join(params({ clientId: 'a', groupInstanceId: 'ia' })));
    await flush();
    expect(again.value).toMatchObject({ errorCode: E.NONE, generationId: 1, skipAssignment: true });
    expect(again.value!.leader).toBe(again.value!.memberId);
    expect(again.value!.members).toHaveLength(1);
    expect(group.state).toBe('Stable');
    const s = track(
      group.sync({
        memberId: again.value!.memberId,
        groupInstanceId: 'ia',
        generationId: 1,
        protocolType: null,
        protocolName: null,
        assignments: [],
      }),
    );
    await flush();
    expect(s.value!.assignment.toString()).toBe('mine');
  });
});
