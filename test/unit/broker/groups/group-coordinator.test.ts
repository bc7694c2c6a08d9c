import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GroupCoordinator } from '../../../../broker/groups/group-coordinator.js';
import { ManualTimers } from '../../../../broker/groups/group-timers.js';
import { ErrorCode as E } from '../../../../protocol/error-codes.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const MINUTE = 60_000;

async function open(dir: string, timers = new ManualTimers()) {
  const coordinator = await GroupCoordinator.open({
    dir,
    timers,
    config: {
      initialRebalanceDelayMs: 0,
      minSessionTimeoutMs: 1000,
      maxSessionTimeoutMs: 60_000,
      maxSize: 3,
      offsetsRetentionMs: 10 * MINUTE,
      offsetsRetentionCheckIntervalMs: MINUTE,
      consumerSessionTimeoutMs: 45_000,
      consumerHeartbeatIntervalMs: 5000,
    },
  });
  return { coordinator, timers };
}

const join1 = (c: GroupCoordinator, groupId: string, over: { sessionTimeoutMs?: number; memberId?: string } = {}) =>
  c.join(groupId, {
    memberId: over.memberId ?? '',
    groupInstanceId: null,
    clientId: 'c',
    clientHost: '/h',
    sessionTimeoutMs: over.sessionTimeoutMs ?? 10_000,
    rebalanceTimeoutMs: 10_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
    requireKnownMemberId: false,
  });

describe('GroupCoordinator', () => {
  it('validates group ids, session timeouts and who may commit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'groups-helper-coord-'));
    dirs.push(dir);
    const { coordinator: c } = await open(dir);
    expect((await join1(c, '')).errorCode).toBe(E.INVALID_GROUP_ID);
    expect((await join1(c, 'g', { sessionTimeoutMs: 999 })).errorCode).toBe(E.INVALID_SESSION_TIMEOUT);
    expect((await join1(c, 'g', { sessionTimeoutMs: 60_001 })).errorCode).toBe(E.INVALID_SESSION_TIMEOUT);
    expect((await join1(c, 'nope', { memberId: 'ghost' })).errorCode).toBe(E.UNKNOWN_MEMBER_ID);
    const m = await join1(c, 'g');
    expect(m.errorCode).toBe(E.NONE);
    expect(c.validateCommit('g', m.memberId, null, m.generationId)).toBe(E.REBALANCE_IN_PROGRESS);
    expect(c.validateCommit('g', 'other', null, m.generationId)).toBe(E.UNKNOWN_MEMBER_ID);
    expect(c.validateCommit('g', '', null, -1)).toBe(E.UNKNOWN_MEMBER_ID);
    await c.sync('g', {
      memberId: m.memberId,
      groupInstanceId: null,
      generationId: m.generationId,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    expect(c.validateCommit('g', m.memberId, null, m.generationId)).toBe(E.NONE);
    expect(c.validateCommit('g', m.memberId, null, m.generationId + 1)).toBe(E.ILLEGAL_GENERATION);
    expect(c.validateCommit('fresh', '', null, -1)).toBe(E.NONE);
    expect(await c.deleteGroup('g')).toBe(E.NON_EMPTY_GROUP);
    expect(await c.deleteGroup('unknown')).toBe(E.GROUP_ID_NOT_FOUND);
    await c.close();
  });

  it('expires offsets of an Empty group after offsets retention, and forgets the group', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'groups-helper-coord-'));
    dirs.push(dir);
    const { coordinator: c, timers } = await open(dir);
    await c.commitOffsets('g', [{ topic: 't', partition: 0, offset: 5n, leaderEpoch: -1, metadata: 'x' }]);
    timers.advance(5 * MINUTE);
    await c.commitOffsets('g', [{ topic: 't', partition: 1, offset: 6n, leaderEpoch: -1, metadata: null }]);
    expect(await c.expireOffsets()).toBe(0);
    timers.advance(5 * MINUTE);
    expect(await c.expireOffsets()).toBe(1);
    expect(c.committed('g', 't', 0)).toBeUndefined();
    expect(c.committed('g', 't', 1)?.offset).toBe(6n);
    timers.advance(5 * MINUTE);
    expect(await c.expireOffsets()).toBe(1);
    expect(c.list()).toEqual([]);
    await c.close();
    const reopened = await open(dir);
    expect(reopened.coordinator.list()).toEqual([]);
    await reopened.coordinator.close();
  });

  it('rebuilds Empty groups with their protocol type, generation and offsets at start-up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'groups-helper-coord-'));
    dirs.push(dir);
    const { coordinator: c } = await open(dir);
    const m = await join1(c, 'g');
    await c.sync('g', {
      memberId: m.memberId,
      groupInstanceId: null,
      generationId: m.generationId,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    await c.commitOffsets('g', [{ topic: 't', partition: 0, offset: 9n, leaderEpoch: 2, metadata: 'meta' }]);
    await c.close();
    const { coordinator: r } = await open(dir);
    expect(r.list()).toEqual([{ groupId: 'g', state: 'Empty', protocolType: 'consumer', groupType: 'classic' }]);
    expect(r.group('g')?.generationId).toBe(1);
    expect(r.committed('g', 't', 0)).toMatchObject({ offset: 9n, leaderEpoch: 2, metadata: 'meta' });
    expect(r.heartbeat('g', m.memberId, null, 1)).toBe(E.UNKNOWN_MEMBER_ID);
    await r.close();
  });
});
