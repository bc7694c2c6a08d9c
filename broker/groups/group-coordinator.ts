/**
 * The group coordinator of this (single) broker: owns every classic group, their committed offsets (OffsetStore)
 * and offsets retention. Handlers call it with decoded requests; it answers with Kafka error codes, per group and
 * per member, never by throwing for a group-level condition.
 *
 * Group lifecycle: a group exists once it has members, metadata or offsets. Classic groups rebuilt at start-up are
 * Empty (classic members never survive a coordinator restart: clients see UNKNOWN_MEMBER_ID and rejoin) with their
 * protocol type and generation. KIP-848 consumer groups are rebuilt whole (epochs, members, assignments), as Kafka
 * does: a heartbeat's changes are durable before it is answered. An Empty group whose offsets have all expired or were deleted is forgotten.
 * Offsets retention: offsets of an Empty group expire offsets.retention.minutes after the later of the group
 * becoming empty and the offset's commit.
 */
import type { Logger } from 'pino';
import { ErrorCode as E } from '../../protocol/error-codes.js';
import { ClassicGroup, type JoinParams, type MemberIdentity, type SyncParams } from './classic-group.js';
import type { JoinResult, SyncResult } from './classic-member.js';
import {
  ConsumerGroup,
  type ConsumerGroupEnv,
  type ConsumerHeartbeat,
  type ConsumerHeartbeatResult,
  type TopicView,
} from './consumer-group.js';
import { subscribedTopics } from './consumer-protocol.js';
import { type GroupTimers, realTimers, type TimerHandle } from './group-timers.js';
import { type CommittedOffset, OffsetStore } from './offset-store.js';

export interface GroupCoordinatorConfig {
  initialRebalanceDelayMs: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  maxSize: number;
  offsetsRetentionMs: number;
  offsetsRetentionCheckIntervalMs: number;
  /** KIP-848 consumer groups. */
  consumerSessionTimeoutMs: number;
  consumerHeartbeatIntervalMs: number;
}

/** How the coordinator sees topics (KIP-848 assignment needs ids and partition counts). */
export interface GroupTopics {
  byName(name: string): TopicView | undefined;
  byId(id: string): TopicView | undefined;
}

const NO_TOPICS: GroupTopics = { byName: () => undefined, byId: () => undefined };

export interface GroupSummary {
  groupId: string;
  state: string;
  protocolType: string;
  protocolName: string;
  groupType: 'classic' | 'consumer';
  members: Array<{
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    metadata: Buffer;
    assignment: Buffer;
  }>;
}

export interface OffsetCommitEntry {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
}

export class GroupCoordinator {
  private readonly groups = new Map<string, ClassicGroup>();
  /** KIP-848 groups; a group id is in at most one of the two maps. */
  private readonly consumerGroups = new Map<string, ConsumerGroup>();
  private retentionTimer: TimerHandle | null = null;
  private stopping = false;

  private constructor(
    private readonly config: GroupCoordinatorConfig,
    readonly offsets: OffsetStore,
    private readonly timers: GroupTimers,
    private readonly log: Logger | null,
    private readonly topics: GroupTopics,
  ) {}

  static async open(opts: {
    dir: string;
    config: GroupCoordinatorConfig;
    timers?: GroupTimers;
    log?: Logger;
    topics?: GroupTopics;
  }): Promise<GroupCoordinator> {
    const store = await OffsetStore.open(opts.dir, {
      onError: (err) => opts.log?.error({ err }, 'groups.log compaction failed'),
    });
    const c = new GroupCoordinator(
      opts.config,
      store,
      opts.timers ?? realTimers(),
      opts.log ?? null,
      opts.topics ?? NO_TOPICS,
    );
    for (const meta of store.knownGroups()) {
      const g = c.newGroup(meta.groupId);
      g.protocolType = meta.protocolType;
      g.generationId = meta.generationId;
    }
    for (const state of store.consumerGroups()) {
      const g = ConsumerGroup.restore(state, c.consumerEnv(state.groupId));
      c.consumerGroups.set(state.groupId, g);
    }
    c.scheduleRetention();
    return c;
  }

  group(groupId: string): ClassicGroup | undefined {
    return this.groups.get(groupId);
  }

  // ---- classic protocol ----

  join(groupId: string, p: JoinParams): Promise<JoinResult> {
    const fail = (errorCode: number): Promise<JoinResult> =>
      Promise.resolve({
        errorCode,
        generationId: -1,
        protocolType: null,
        protocolName: null,
        leader: '',
        memberId: p.memberId,
        members: [],
      });
    if (this.stopping) return fail(E.NOT_COORDINATOR);
    if (groupId === '') return fail(E.INVALID_GROUP_ID);
    if (p.sessionTimeoutMs < this.config.minSessionTimeoutMs || p.sessionTimeoutMs > this.config.maxSessionTimeoutMs)
      return fail(E.INVALID_SESSION_TIMEOUT);
    const consumer = this.consumerGroups.get(groupId);
    if (consumer && consumer.members.size > 0) return fail(E.INCONSISTENT_GROUP_PROTOCOL);
    if (consumer) {
      this.consumerGroups.delete(groupId);
      consumer.shutdown();
      this.offsets
        .writeConsumerGroup(groupId, [{ t: 'cg-del', g: groupId }])
        .catch((err) => this.log?.error({ err, groupId }, 'could not persist the end of a consumer group'));
    }
    let group = this.groups.get(groupId);
    if (!group) {
      // A join naming a member id for a group we do not know cannot be valid (e.g. after a restart).
      if (p.memberId !== '') return fail(E.UNKNOWN_MEMBER_ID);
      group = this.newGroup(groupId);
    }
    return group.join(p);
  }

  sync(groupId: string, p: SyncParams): Promise<SyncResult> {
    const group = this.groups.get(groupId);
    const code = this.stopping ? E.NOT_COORDINATOR : groupId === '' ? E.INVALID_GROUP_ID : E.UNKNOWN_MEMBER_ID;
    if (this.stopping || !group)
      return Promise.resolve({ errorCode: code, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) });
    return group.sync(p);
  }

  heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (this.stopping) return E.NOT_COORDINATOR;
    if (groupId === '') return E.INVALID_GROUP_ID;
    const group = this.groups.get(groupId);
    if (!group) return E.UNKNOWN_MEMBER_ID;
    return group.heartbeat(memberId, groupInstanceId, generationId);
  }

  leave(groupId: string, who: readonly MemberIdentity[]): { errorCode: number; memberCodes: number[] } {
    if (this.stopping) return { errorCode: E.NOT_COORDINATOR, memberCodes: who.map(() => E.NOT_COORDINATOR) };
    if (groupId === '') return { errorCode: E.INVALID_GROUP_ID, memberCodes: who.map(() => E.INVALID_GROUP_ID) };
    const group = this.groups.get(groupId);
    if (!group) return { errorCode: E.NONE, memberCodes: who.map(() => E.UNKNOWN_MEMBER_ID) };
    return { errorCode: E.NONE, memberCodes: group.leave(who) };
  }

  // ---- offsets ----

  /** Checks who may commit to `groupId`; returns NONE or the error for every partition of the request. */
  validateCommit(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (this.stopping) return E.NOT_COORDINATOR;
    if (groupId === '') return E.INVALID_GROUP_ID;
    const consumer = this.consumerGroups.get(groupId);
    if (consumer) return consumer.checkCommit(memberId, generationId);
    const group = this.groups.get(groupId);
    if (!group) return generationId < 0 ? E.NONE : E.ILLEGAL_GENERATION;
    if (group.state === 'Dead') return E.COORDINATOR_NOT_AVAILABLE;
    // Commits from outside the group (admin tools, manual assignment) are allowed only while it is Empty.
    if (generationId < 0 && group.state === 'Empty') return E.NONE;
    return group.checkMember(memberId, groupInstanceId, generationId);
  }

  /** OffsetFetch v9+: a KIP-848 member fetching must be current. */
  validateFetch(groupId: string, memberId: string | null, memberEpoch: number): number {
    const consumer = this.consumerGroups.get(groupId);
    if (!consumer || memberId === null || memberId === '') return E.NONE;
    return consumer.checkCommit(memberId, memberEpoch);
  }

  async commitOffsets(groupId: string, entries: readonly OffsetCommitEntry[]): Promise<void> {
    if (!this.groups.has(groupId) && !this.consumerGroups.has(groupId)) this.newGroup(groupId);
    const now = this.timers.now();
    await this.offsets.commit(
      groupId,
      entries.map((e): CommittedOffset => ({ ...e, commitTimestamp: now })),
    );
  }

  committed(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(groupId, topic, partition);
  }

  allCommitted(groupId: string): CommittedOffset[] {
    return this.offsets.all(groupId);
  }

  /** OffsetDelete: group-level error, then per partition (GROUP_SUBSCRIBED_TO_TOPIC for consumed topics). */
  async deleteOffsets(
    groupId: string,
    partitions: ReadonlyArray<[string, number]>,
  ): Promise<{ errorCode: number; partitionCodes: number[] }> {
    const none = { errorCode: E.NONE, partitionCodes: [] as number[] };
    if (this.stopping) return { ...none, errorCode: E.NOT_COORDINATOR };
    if (groupId === '') return { ...none, errorCode: E.INVALID_GROUP_ID };
    const group = this.groups.get(groupId);
    if (!group || group.state === 'Dead') return { ...none, errorCode: E.GROUP_ID_NOT_FOUND };
    let subscribed = new Set<string>();
    if (group.state !== 'Empty') {
      if (group.protocolType !== 'consumer') return { ...none, errorCode: E.NON_EMPTY_GROUP };
      for (const m of group.members.values()) {
        for (const t of subscribedTopics(m.metadataFor(group.protocolName)) ?? []) subscribed.add(t);
      }
    } else subscribed = new Set();
    const codes = partitions.map(([topic]) => (subscribed.has(topic) ? E.GROUP_SUBSCRIBED_TO_TOPIC : E.NONE));
    await this.offsets.deleteOffsets(
      groupId,
      partitions.filter((_, i) => codes[i] === E.NONE),
    );
    this.forgetIfUnused(group);
    return { errorCode: E.NONE, partitionCodes: codes };
  }

  // ---- administration ----

  describe(groupId: string): GroupSummary | null {
    const cg = this.consumerGroups.get(groupId);
    if (cg)
      return {
        groupId,
        state: cg.state,
        protocolType: 'consumer',
        protocolName: cg.assignorName,
        groupType: 'consumer',
        members: [...cg.members.values()].map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.instanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          metadata: Buffer.alloc(0),
          assignment: Buffer.alloc(0),
        })),
      };
    const g = this.groups.get(groupId);
    if (!g || g.state === 'Dead') return null;
    const stable = g.state === 'Stable';
    return {
      groupId,
      state: g.state,
      protocolType: g.protocolType ?? '',
      protocolName: stable ? (g.protocolName ?? '') : '',
      groupType: 'classic',
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: stable ? m.metadataFor(g.protocolName) : Buffer.alloc(0),
        assignment: stable ? m.assignment : Buffer.alloc(0),
      })),
    };
  }

  list(): Array<{ groupId: string; state: string; protocolType: string; groupType: 'classic' | 'consumer' }> {
    const classic = [...this.groups.values()]
      .filter((g) => g.state !== 'Dead')
      .map((g) => ({
        groupId: g.groupId,
        state: g.state as string,
        protocolType: g.protocolType ?? '',
        groupType: 'classic' as const,
      }));
    const consumer = [...this.consumerGroups.values()].map((g) => ({
      groupId: g.groupId,
      state: g.state as string,
      protocolType: 'consumer',
      groupType: 'consumer' as const,
    }));
    return [...classic, ...consumer];
  }

  // ---- KIP-848 consumer groups ----

  /** Answers once the heartbeat's changes to the group are durable in groups.log. */
  async consumerHeartbeat(groupId: string, req: ConsumerHeartbeat): Promise<ConsumerHeartbeatResult> {
    const fail = (errorCode: number, errorMessage: string | null = null): ConsumerHeartbeatResult => ({
      errorCode,
      errorMessage,
      memberId: null,
      memberEpoch: -1,
      heartbeatIntervalMs: 0,
      assignment: null,
    });
    if (this.stopping) return fail(E.NOT_COORDINATOR);
    if (groupId === '') return fail(E.INVALID_REQUEST, 'group id is empty');
    let g = this.consumerGroups.get(groupId);
    if (!g) {
      const classic = this.groups.get(groupId);
      if (classic && classic.state !== 'Empty') return fail(E.GROUP_ID_NOT_FOUND, `${groupId} is a classic group`);
      if (req.memberEpoch !== 0) return fail(E.UNKNOWN_MEMBER_ID);
      if (classic) {
        // An Empty classic group (offsets only) becomes a consumer group; its offsets stay.
        classic.shutdown(E.COORDINATOR_NOT_AVAILABLE);
        this.groups.delete(groupId);
      }
      g = new ConsumerGroup(groupId, this.consumerEnv(groupId));
      this.consumerGroups.set(groupId, g);
    }
    const result = g.heartbeat(req);
    try {
      await this.offsets.writeConsumerGroup(groupId, g.drainRecords());
    } catch (err) {
      this.log?.error({ err, groupId }, 'could not persist consumer group changes');
      return fail(E.COORDINATOR_NOT_AVAILABLE, 'the group state could not be written');
    }
    return result;
  }

  private consumerEnv(groupId: string): ConsumerGroupEnv {
    return {
      timers: this.timers,
      sessionTimeoutMs: this.config.consumerSessionTimeoutMs,
      heartbeatIntervalMs: this.config.consumerHeartbeatIntervalMs,
      topicByName: (n) => this.topics.byName(n),
      topicById: (id) => this.topics.byId(id),
      onChange: () => {
        const g = this.consumerGroups.get(groupId);
        if (!g || this.stopping) return;
        this.offsets
          .writeConsumerGroup(groupId, g.drainRecords())
          .catch((err) => this.log?.error({ err, groupId }, 'could not persist consumer group changes'));
      },
    };
  }

  consumerGroup(groupId: string): ConsumerGroup | undefined {
    return this.consumerGroups.get(groupId);
  }

  async deleteGroup(groupId: string): Promise<number> {
    if (this.stopping) return E.NOT_COORDINATOR;
    if (groupId === '') return E.INVALID_GROUP_ID;
    const cg = this.consumerGroups.get(groupId);
    if (cg) {
      if (cg.members.size > 0) return E.NON_EMPTY_GROUP;
      this.consumerGroups.delete(groupId);
      await this.offsets.deleteGroup(groupId);
      return E.NONE;
    }
    const g = this.groups.get(groupId);
    if (!g || g.state === 'Dead') return E.GROUP_ID_NOT_FOUND;
    if (g.state !== 'Empty') return E.NON_EMPTY_GROUP;
    g.shutdown(E.COORDINATOR_NOT_AVAILABLE);
    this.groups.delete(groupId);
    await this.offsets.deleteGroup(groupId);
    return E.NONE;
  }

  /** Drops offsets of Empty groups past retention; forgets groups left with nothing. Returns partitions removed. */
  async expireOffsets(): Promise<number> {
    const now = this.timers.now();
    let removed = 0;
    for (const g of [...this.groups.values()]) {
      if (g.state !== 'Empty') continue;
      const r = await this.expireGroupOffsets(g.groupId, g.emptySince, now);
      removed += r.removed;
      if (r.gone) {
        g.shutdown(E.COORDINATOR_NOT_AVAILABLE);
        this.groups.delete(g.groupId);
        await this.offsets.deleteGroup(g.groupId);
      }
    }
    for (const g of [...this.consumerGroups.values()]) {
      if (g.members.size > 0) continue;
      const r = await this.expireGroupOffsets(g.groupId, g.emptySince, now);
      removed += r.removed;
      if (r.gone) {
        this.consumerGroups.delete(g.groupId);
        await this.offsets.deleteGroup(g.groupId);
      }
    }
    return removed;
  }

  /**
   * Deletes an empty group's offsets committed (or left, counting from when the group went empty) longer than
   * retention ago. `gone`: nothing is left and the group has been empty past retention, so it can be forgotten.
   */
  private async expireGroupOffsets(
    groupId: string,
    emptySince: number,
    now: number,
  ): Promise<{ removed: number; gone: boolean }> {
    const retention = this.config.offsetsRetentionMs;
    const expired = this.offsets
      .all(groupId)
      .filter((o) => now - Math.max(o.commitTimestamp, emptySince) >= retention)
      .map((o): [string, number] => [o.topic, o.partition]);
    if (expired.length > 0) await this.offsets.deleteOffsets(groupId, expired);
    return { removed: expired.length, gone: !this.offsets.hasOffsets(groupId) && now - emptySince >= retention };
  }

  /** Stops taking part in groups: timers stop and parked requests are answered NOT_COORDINATOR, so clients go
   * looking for the coordinator again (which is what a restarted broker needs them to do). */
  beginShutdown(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.timers.clear(this.retentionTimer);
    this.retentionTimer = null;
    for (const g of this.groups.values()) g.shutdown(E.NOT_COORDINATOR);
    for (const g of this.consumerGroups.values()) g.shutdown();
  }

  async close(): Promise<void> {
    this.beginShutdown();
    await this.offsets.close();
  }

  private newGroup(groupId: string): ClassicGroup {
    const group = new ClassicGroup(groupId, {
      timers: this.timers,
      initialRebalanceDelayMs: this.config.initialRebalanceDelayMs,
      maxSize: this.config.maxSize,
      onGenerationChange: (g) => {
        this.offsets
          .writeGroup({ groupId: g.groupId, protocolType: g.protocolType, generationId: g.generationId })
          .catch((err) => this.log?.error({ err, groupId: g.groupId }, 'could not persist group metadata'));
      },
    });
    this.groups.set(groupId, group);
    return group;
  }

  private forgetIfUnused(group: ClassicGroup): void {
    if (group.state === 'Empty' && group.members.size === 0 && !this.offsets.hasOffsets(group.groupId)) {
      group.shutdown(E.COORDINATOR_NOT_AVAILABLE);
      this.groups.delete(group.groupId);
      this.offsets
        .deleteGroup(group.groupId)
        .catch((err) => this.log?.error({ err, groupId: group.groupId }, 'could not persist group deletion'));
    }
  }

  private scheduleRetention(): void {
    this.retentionTimer = this.timers.set(() => {
      this.expireOffsets()
        .catch((err) => this.log?.error({ err }, 'offsets retention failed'))
        .finally(() => {
          if (!this.stopping) this.scheduleRetention();
        });
    }, this.config.offsetsRetentionCheckIntervalMs);
  }
}
