/**
 * A KIP-848 consumer group (ConsumerGroupHeartbeat): the broker computes the assignment and every member
 * reconciles towards it with incremental revoke/assign.
 *
 * - groupEpoch bumps on every membership or subscription change (and when a subscribed topic's partition count
 *   changes); the target assignment is recomputed by the assignor when groupEpoch > assignmentEpoch.
 * - A member first gives up what its target no longer holds: it is told its reduced assignment, keeps its epoch,
 *   and must confirm (owned partitions in a later heartbeat) within its rebalance timeout or it is fenced. Then it
 *   moves to the assignment epoch and gets the partitions of its target that nobody else still owns; partitions
 *   still held by a member that has yet to revoke them are given on a later heartbeat.
 * - Epochs: a heartbeat must carry the member's epoch (or its previous epoch, if it owns nothing outside its
 *   current assignment), else FENCED_MEMBER_EPOCH. Epoch 0 joins, -1 leaves, -2 leaves a static member's place.
 * - Sessions expire after the session timeout without a heartbeat.
 * - Durability: every change is drained as records (drainRecords(), consumer-group-records.ts) that the coordinator
 *   writes to groups.log before it answers; restore() rebuilds the group at start-up, members with their epochs and
 *   assignments, and gives every member a fresh session (and a member still revoking a fresh rebalance timeout),
 *   so a member heartbeating with its epoch after a broker restart carries on unfenced, as with Kafka.
 * Not done: regex subscriptions, rack awareness, static-member slot keeping (-2 removes the member like -1).
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode as E } from '../../protocol/error-codes.js';
import { type Assignment, assignors } from './assignors.js';
import type {
  ConsumerGroupRecord,
  ConsumerGroupState,
  PersistedCurrent,
  PersistedMember,
  TopicPartitionsTuple,
} from './consumer-group-records.js';
import type { GroupTimers, TimerHandle } from './group-timers.js';

export interface TopicView {
  topicId: string;
  name: string;
  partitions: number;
}

export interface ConsumerGroupEnv {
  timers: GroupTimers;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  topicByName(name: string): TopicView | undefined;
  topicById(id: string): TopicView | undefined;
  /** Called after a change made by a timer (an expired session or revocation), so that it is persisted. */
  onChange?: () => void;
}

export interface ConsumerHeartbeat {
  memberId: string;
  memberEpoch: number;
  instanceId: string | null;
  rackId: string | null;
  rebalanceTimeoutMs: number;
  subscribedTopicNames: string[] | null;
  serverAssignor: string | null;
  topicPartitions: Array<{ topicId: string; partitions: number[] }> | null;
  clientId: string;
  clientHost: string;
  /** v0: the broker names new members; v1+: the client does. */
  brokerAssignsMemberId: boolean;
}

export interface ConsumerHeartbeatResult {
  errorCode: number;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  assignment: Array<{ topicId: string; partitions: number[] }> | null;
}

export class ConsumerMember {
  memberEpoch = 0;
  previousMemberEpoch = -1;
  assigned: Assignment = new Map();
  revoking: Assignment = new Map();
  subscribedTopicNames: string[] = [];
  serverAssignor: string | null = null;
  rebalanceTimeoutMs = 300_000;
  rackId: string | null = null;
  sessionTimer: TimerHandle | null = null;
  revocationTimer: TimerHandle | null = null;
  /** What the member last said it owns (a heartbeat's topicPartitions), as toList serializes it; null: not yet. */
  reported: string | null = null;

  constructor(
    readonly memberId: string,
    readonly instanceId: string | null,
    public clientId: string,
    public clientHost: string,
  ) {}
}

const key = (topicId: string, p: number) => `${topicId}:${p}`;

function toTuples(a: Assignment): TopicPartitionsTuple[] {
  return toList(a).map((tp) => [tp.topicId, tp.partitions]);
}

function fromTuples(tuples: readonly TopicPartitionsTuple[]): Assignment {
  return new Map(tuples.map(([t, ps]) => [t, new Set(ps)]));
}

function memberMetadata(m: ConsumerMember): PersistedMember {
  return {
    id: m.memberId,
    instanceId: m.instanceId,
    rackId: m.rackId,
    clientId: m.clientId,
    clientHost: m.clientHost,
    subscribed: m.subscribedTopicNames,
    serverAssignor: m.serverAssignor,
    rebalanceTimeoutMs: m.rebalanceTimeoutMs,
  };
}

function memberCurrent(m: ConsumerMember): PersistedCurrent {
  return {
    id: m.memberId,
    epoch: m.memberEpoch,
    previousEpoch: m.previousMemberEpoch,
    assigned: toTuples(m.assigned),
    revoking: toTuples(m.revoking),
  };
}

function toList(a: Assignment): Array<{ topicId: string; partitions: number[] }> {
  return [...a]
    .filter(([, s]) => s.size > 0)
    .sort(([x], [y]) => (x < y ? -1 : 1))
    .map(([topicId, s]) => ({ topicId, partitions: [...s].sort((x, y) => x - y) }));
}

export class ConsumerGroup {
  groupEpoch = 0;
  assignmentEpoch = 0;
  readonly members = new Map<string, ConsumerMember>();
  private targets = new Map<string, Assignment>();
  private topicsSignature = '';
  assignorName = 'uniform';
  /** When the group last became empty (offsets retention). */
  emptySince: number;
  // What groups.log already holds, so that drainRecords() writes only changes.
  private readonly dirty = new Set<string>();
  private readonly removed = new Set<string>();
  private persistedEpoch = -1;
  private persistedSignature = '';
  private persistedAssignmentEpoch = -1;
  private readonly persistedMeta = new Map<string, string>();
  private readonly persistedCurrent = new Map<string, string>();

  constructor(
    readonly groupId: string,
    private readonly env: ConsumerGroupEnv,
  ) {
    this.emptySince = env.timers.now();
  }

  /** Rebuilds a group from what replay of groups.log found. */
  static restore(state: ConsumerGroupState, env: ConsumerGroupEnv): ConsumerGroup {
    const g = new ConsumerGroup(state.groupId, env);
    g.groupEpoch = state.epoch;
    g.topicsSignature = state.topicsSignature;
    g.assignmentEpoch = state.assignmentEpoch;
    g.assignorName = state.assignor;
    g.targets = new Map([...state.targets].map(([id, tuples]) => [id, fromTuples(tuples)]));
    for (const pm of state.members.values()) {
      const m = new ConsumerMember(pm.id, pm.instanceId, pm.clientId, pm.clientHost);
      m.rackId = pm.rackId;
      m.subscribedTopicNames = pm.subscribed;
      m.serverAssignor = pm.serverAssignor;
      m.rebalanceTimeoutMs = pm.rebalanceTimeoutMs;
      const c = state.current.get(pm.id);
      if (c) {
        m.memberEpoch = c.epoch;
        m.previousMemberEpoch = c.previousEpoch;
        m.assigned = fromTuples(c.assigned);
        m.revoking = fromTuples(c.revoking);
      }
      g.members.set(m.memberId, m);
      g.touchSession(m);
      if (m.revoking.size > 0) g.startRevocationTimer(m);
      g.persistedMeta.set(m.memberId, JSON.stringify(memberMetadata(m)));
      g.persistedCurrent.set(m.memberId, JSON.stringify(memberCurrent(m)));
    }
    g.persistedEpoch = g.groupEpoch;
    g.persistedSignature = g.topicsSignature;
    g.persistedAssignmentEpoch = g.assignmentEpoch;
    return g;
  }

  /** The records that bring groups.log up to date with this group; marks them as written. */
  drainRecords(): ConsumerGroupRecord[] {
    const g = this.groupId;
    const out: ConsumerGroupRecord[] = [];
    if (this.groupEpoch !== this.persistedEpoch || this.topicsSignature !== this.persistedSignature) {
      out.push({ t: 'cg', g, epoch: this.groupEpoch, sig: this.topicsSignature });
      this.persistedEpoch = this.groupEpoch;
      this.persistedSignature = this.topicsSignature;
    }
    for (const id of this.removed) {
      if (this.members.has(id)) continue;
      out.push({ t: 'cg-member-del', g, id });
      this.persistedMeta.delete(id);
      this.persistedCurrent.delete(id);
    }
    this.removed.clear();
    for (const id of this.dirty) {
      const m = this.members.get(id);
      if (!m) continue;
      const meta = memberMetadata(m);
      const metaJson = JSON.stringify(meta);
      if (metaJson !== this.persistedMeta.get(id)) {
        out.push({ t: 'cg-member', g, m: meta });
        this.persistedMeta.set(id, metaJson);
      }
      const current = memberCurrent(m);
      const currentJson = JSON.stringify(current);
      if (currentJson !== this.persistedCurrent.get(id)) {
        out.push({ t: 'cg-current', g, c: current });
        this.persistedCurrent.set(id, currentJson);
      }
    }
    this.dirty.clear();
    if (this.assignmentEpoch !== this.persistedAssignmentEpoch) {
      const a = [...this.targets].map(([id, t]): [string, TopicPartitionsTuple[]] => [id, toTuples(t)]);
      out.push({ t: 'cg-target', g, epoch: this.assignmentEpoch, assignor: this.assignorName, a });
      this.persistedAssignmentEpoch = this.assignmentEpoch;
    }
    return out;
  }

  get state(): 'Empty' | 'Assigning' | 'Reconciling' | 'Stable' {
    if (this.members.size === 0) return 'Empty';
    if (this.groupEpoch > this.assignmentEpoch) return 'Assigning';
    for (const m of this.members.values()) {
      if (m.memberEpoch !== this.assignmentEpoch || m.revoking.size > 0) return 'Reconciling';
      if (JSON.stringify(toList(m.assigned)) !== JSON.stringify(toList(this.targetOf(m.memberId))))
        return 'Reconciling';
    }
    return 'Stable';
  }

  targetOf(memberId: string): Assignment {
    return this.targets.get(memberId) ?? new Map();
  }

  heartbeat(req: ConsumerHeartbeat): ConsumerHeartbeatResult {
    const fail = (errorCode: number, errorMessage: string | null = null): ConsumerHeartbeatResult => ({
      errorCode,
      errorMessage,
      memberId: null,
      memberEpoch: -1,
      heartbeatIntervalMs: 0,
      assignment: null,
    });
    if (req.serverAssignor !== null && !assignors.has(req.serverAssignor))
      return fail(E.UNSUPPORTED_ASSIGNOR, `assignor ${req.serverAssignor} is not served (uniform, range)`);
    if (req.memberEpoch === -1 || req.memberEpoch === -2) {
      const m = this.members.get(req.memberId);
      if (!m) return fail(E.UNKNOWN_MEMBER_ID);
      this.removeMember(m);
      return { ...fail(E.NONE), memberId: req.memberId, memberEpoch: req.memberEpoch };
    }
    let m: ConsumerMember | undefined;
    let full = false;
    if (req.memberEpoch === 0) {
      if (req.subscribedTopicNames === null || req.topicPartitions === null || req.rebalanceTimeoutMs < 0)
        return fail(E.INVALID_REQUEST, 'a joining member must send its subscription, owned partitions and timeout');
      if (!req.brokerAssignsMemberId && req.memberId === '') return fail(E.INVALID_REQUEST, 'member id is required');
      const memberId = req.memberId === '' ? randomUUID() : req.memberId;
      if (req.instanceId !== null) {
        const holder = [...this.members.values()].find((x) => x.instanceId === req.instanceId);
        if (holder && holder.memberId !== memberId) return fail(E.UNRELEASED_INSTANCE_ID);
      }
      const old = this.members.get(memberId);
      if (old) this.removeMember(old);
      m = new ConsumerMember(memberId, req.instanceId, req.clientId, req.clientHost);
      this.members.set(memberId, m);
      this.groupEpoch++;
      full = true;
    } else {
      m = this.members.get(req.memberId);
      if (!m) return fail(E.UNKNOWN_MEMBER_ID);
      if (req.memberEpoch !== m.memberEpoch) {
        const ownsOnlyCurrent = (req.topicPartitions ?? []).every((tp) =>
          tp.partitions.every((p) => m!.assigned.get(tp.topicId)?.has(p) ?? false),
        );
        if (req.memberEpoch !== m.previousMemberEpoch || !ownsOnlyCurrent) return fail(E.FENCED_MEMBER_EPOCH);
      }
    }
    if (req.subscribedTopicNames !== null) {
      const subs = [...new Set(req.subscribedTopicNames)].sort();
      if (subs.join('\0') !== m.subscribedTopicNames.join('\0')) {
        m.subscribedTopicNames = subs;
        this.groupEpoch++;
      }
    }
    if (req.serverAssignor !== null) m.serverAssignor = req.serverAssignor;
    if (req.rebalanceTimeoutMs >= 0) m.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    if (req.rackId !== null) m.rackId = req.rackId;
    this.touchSession(m);
    if (req.topicPartitions !== null) {
      this.acknowledge(m, req.topicPartitions);
      m.reported = JSON.stringify(toList(fromTuples(req.topicPartitions.map((tp) => [tp.topicId, tp.partitions]))));
    }
    this.refreshTopics();
    if (this.groupEpoch > this.assignmentEpoch) this.computeTargets();
    this.reconcile(m);
    this.dirty.add(m.memberId);
    const list = toList(m.assigned);
    const serialized = JSON.stringify(list);
    // The assignment goes out until the member reports owning exactly it. A response can be lost: a client that
    // timed out its heartbeat (librdkafka waits about a second, while a slow fdatasync can hold the answer longer)
    // goes on with partial heartbeats, and a broker that had sent the change once would never send it again: the
    // member would never revoke, or never fetch partitions the group counts as its own.
    const send = full || req.topicPartitions !== null || serialized !== m.reported;
    return {
      errorCode: E.NONE,
      errorMessage: null,
      memberId: m.memberId,
      memberEpoch: m.memberEpoch,
      heartbeatIntervalMs: this.env.heartbeatIntervalMs,
      assignment: send ? list : null,
    };
  }

  /** The member confirmed what it owns: revoked partitions it no longer lists are released. */
  private acknowledge(m: ConsumerMember, owned: ReadonlyArray<{ topicId: string; partitions: number[] }>): void {
    if (m.revoking.size === 0) return;
    const stillOwned = new Set<string>();
    for (const tp of owned) for (const p of tp.partitions) stillOwned.add(key(tp.topicId, p));
    for (const [t, parts] of m.revoking) {
      for (const p of [...parts]) if (!stillOwned.has(key(t, p))) parts.delete(p);
      if (parts.size === 0) m.revoking.delete(t);
    }
    if (m.revoking.size === 0) {
      this.env.timers.clear(m.revocationTimer);
      m.revocationTimer = null;
    }
  }

  /** A change to a subscribed topic's partitions (or its creation/deletion) is a new group epoch. */
  private refreshTopics(): void {
    const names = new Set<string>();
    for (const m of this.members.values()) for (const n of m.subscribedTopicNames) names.add(n);
    const sig = [...names]
      .sort()
      .map((n) => {
        const t = this.env.topicByName(n);
        return t ? `${t.topicId}/${t.partitions}` : '-';
      })
      .join(',');
    if (sig !== this.topicsSignature) {
      this.topicsSignature = sig;
      this.groupEpoch++;
    }
  }

  private computeTargets(): void {
    const votes = new Map<string, number>();
    for (const m of this.members.values())
      if (m.serverAssignor) votes.set(m.serverAssignor, (votes.get(m.serverAssignor) ?? 0) + 1);
    let name = 'uniform';
    for (const [n, v] of votes) if (v > (votes.get(name) ?? 0)) name = n;
    this.assignorName = name;
    const counts = new Map<string, number>();
    const members = [...this.members.values()].map((m) => {
      const topics = new Set<string>();
      for (const n of m.subscribedTopicNames) {
        const t = this.env.topicByName(n);
        if (!t) continue;
        topics.add(t.topicId);
        counts.set(t.topicId, t.partitions);
      }
      return { memberId: m.memberId, topics, current: m.assigned };
    });
    this.targets = assignors.get(name)!.assign(members, counts);
    this.assignmentEpoch = this.groupEpoch;
  }

  private reconcile(m: ConsumerMember): void {
    if (m.revoking.size > 0) return;
    const target = this.targetOf(m.memberId);
    const revoke: Assignment = new Map();
    const keep: Assignment = new Map();
    for (const [t, parts] of m.assigned) {
      for (const p of parts) {
        const into = target.get(t)?.has(p) ? keep : revoke;
        if (!into.has(t)) into.set(t, new Set());
        into.get(t)!.add(p);
      }
    }
    if (revoke.size > 0) {
      m.assigned = keep;
      m.revoking = revoke;
      this.startRevocationTimer(m);
      return;
    }
    const ownedByOthers = new Set<string>();
    for (const o of this.members.values()) {
      if (o === m) continue;
      for (const a of [o.assigned, o.revoking])
        for (const [t, ps] of a) for (const p of ps) ownedByOthers.add(key(t, p));
    }
    for (const [t, parts] of target) {
      for (const p of parts) {
        if (ownedByOthers.has(key(t, p))) continue;
        if (!m.assigned.has(t)) m.assigned.set(t, new Set());
        m.assigned.get(t)!.add(p);
      }
    }
    if (m.memberEpoch !== this.assignmentEpoch) {
      m.previousMemberEpoch = m.memberEpoch;
      m.memberEpoch = this.assignmentEpoch;
    }
  }

  /** A member told to revoke must confirm within its rebalance timeout, or it is fenced (removed). */
  private startRevocationTimer(m: ConsumerMember): void {
    this.env.timers.clear(m.revocationTimer);
    m.revocationTimer = this.env.timers.set(() => {
      if (this.members.get(m.memberId) !== m || m.revoking.size === 0) return;
      this.removeMember(m);
      this.env.onChange?.();
    }, m.rebalanceTimeoutMs);
  }

  private touchSession(m: ConsumerMember): void {
    this.env.timers.clear(m.sessionTimer);
    m.sessionTimer = this.env.timers.set(() => {
      if (this.members.get(m.memberId) !== m) return;
      this.removeMember(m);
      this.env.onChange?.();
    }, this.env.sessionTimeoutMs);
  }

  private removeMember(m: ConsumerMember): void {
    this.env.timers.clear(m.sessionTimer);
    this.env.timers.clear(m.revocationTimer);
    this.members.delete(m.memberId);
    this.targets.delete(m.memberId);
    this.removed.add(m.memberId);
    this.groupEpoch++;
    if (this.members.size === 0) this.emptySince = this.env.timers.now();
  }

  /** Offset commits from members: the epoch must be the member's current one. */
  checkCommit(memberId: string, memberEpoch: number): number {
    if (memberId === '' && memberEpoch < 0) return this.members.size === 0 ? E.NONE : E.UNKNOWN_MEMBER_ID;
    const m = this.members.get(memberId);
    if (!m) return E.UNKNOWN_MEMBER_ID;
    if (memberEpoch !== m.memberEpoch) return E.STALE_MEMBER_EPOCH;
    return E.NONE;
  }

  describeAssignment(a: Assignment): Array<{ topicId: string; topicName: string; partitions: number[] }> {
    return toList(a).map((tp) => ({ ...tp, topicName: this.env.topicById(tp.topicId)?.name ?? '' }));
  }

  shutdown(): void {
    for (const m of this.members.values()) {
      this.env.timers.clear(m.sessionTimer);
      this.env.timers.clear(m.revocationTimer);
    }
    this.members.clear();
  }
}
