/**
 * The classic group protocol's state machine (JoinGroup / SyncGroup / Heartbeat / LeaveGroup) for one group:
 *
 *   Empty ──join──▶ PreparingRebalance ──all known members rejoined, or rebalance timeout──▶ CompletingRebalance
 *     ▲                   ▲      │                                                            │ leader's SyncGroup
 *     └── last member ────┘      └── no member left ──▶ Empty                                 ▼
 *         gone                   ◀──── join / leave / session expiry / metadata change ──── Stable
 *
 * Rules kept from Kafka:
 * - A join during PreparingRebalance parks until the rebalance completes; it is never thrown away because some
 *   other member joined. The rebalance completes when every known member has rejoined and no member id handed out
 *   with MEMBER_ID_REQUIRED (KIP-394) is still outstanding, or when the rebalance timeout (the largest of the
 *   members') expires; members that did not rejoin are then removed.
 * - The first rebalance of an empty group waits group.initial.rebalance.delay.ms, re-armed by each new member and
 *   capped by the rebalance timeout, so that consumers starting together land in one generation.
 * - Protocol: the protocols every member supports are the candidates; each member votes for its most preferred
 *   candidate and the most votes win (ties go to the earlier candidate in the leader's preference order).
 * - Static members (KIP-345): an instance id that rejoins with an empty member id takes over its old member,
 *   whose parked requests are answered FENCED_INSTANCE_ID; in Stable with unchanged protocols this does not
 *   rebalance. A request naming the instance with a different member id is fenced.
 * - After the join phase the members must SyncGroup within the rebalance timeout, or those that did not are
 *   removed and the group rebalances again (so a dead leader cannot wedge the group).
 * The caller (GroupCoordinator) validates session timeouts and group ids; this class owns the members.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode as E } from '../../protocol/error-codes.js';
import {
  ClassicMember,
  EMPTY_BYTES,
  type JoinParams,
  type JoinResult,
  joinError,
  type MemberIdentity,
  type SyncParams,
  type SyncResult,
  syncError,
} from './classic-member.js';
import { selectProtocol, supportsProtocols } from './classic-protocols.js';
import type { GroupTimers, TimerHandle } from './group-timers.js';

export type { JoinParams, MemberIdentity, SyncParams } from './classic-member.js';

export type ClassicGroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface ClassicGroupEnv {
  timers: GroupTimers;
  initialRebalanceDelayMs: number;
  maxSize: number;
  /** Called after a generation completes its join phase or the group turns Empty (to persist its metadata). */
  onGenerationChange(group: ClassicGroup): void;
}

export class ClassicGroup {
  state: ClassicGroupState = 'Empty';
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  /** When the group last became Empty (offsets retention counts from here). */
  emptySince: number;
  readonly members = new Map<string, ClassicMember>();
  private readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED that have not joined yet, with their expiry timers. */
  private readonly pendingMembers = new Map<string, TimerHandle>();
  private joinTimer: TimerHandle | null = null;
  private syncTimer: TimerHandle | null = null;
  private initialDelayDeadline = -1;

  constructor(
    readonly groupId: string,
    private readonly env: ClassicGroupEnv,
  ) {
    this.emptySince = env.timers.now();
  }

  get pendingMemberCount(): number {
    return this.pendingMembers.size;
  }

  memberByInstance(groupInstanceId: string): ClassicMember | undefined {
    const id = this.staticMembers.get(groupInstanceId);
    return id === undefined ? undefined : this.members.get(id);
  }

  // ---- JoinGroup ----

  join(p: JoinParams): Promise<JoinResult> {
    if (this.state === 'Dead') return Promise.resolve(joinError(E.COORDINATOR_NOT_AVAILABLE, p.memberId));
    if (!supportsProtocols(this.members.values(), this.protocolType, p.protocolType, p.protocols, p.memberId))
      return Promise.resolve(joinError(E.INCONSISTENT_GROUP_PROTOCOL, p.memberId));
    return p.memberId === '' ? this.joinUnknownMember(p) : this.joinKnownMember(p);
  }

  private joinUnknownMember(p: JoinParams): Promise<JoinResult> {
    if (p.groupInstanceId !== null) {
      const newId = `${p.groupInstanceId}-${randomUUID()}`;
      const existing = this.memberByInstance(p.groupInstanceId);
      if (existing) return this.replaceStaticMember(existing, newId, p);
      if (this.members.size >= this.env.maxSize) return Promise.resolve(joinError(E.GROUP_MAX_SIZE_REACHED, ''));
      return this.addMemberAndRebalance(newId, p);
    }
    if (this.members.size + this.pendingMembers.size >= this.env.maxSize)
      return Promise.resolve(joinError(E.GROUP_MAX_SIZE_REACHED, ''));
    const newId = `${p.clientId}-${randomUUID()}`;
    if (p.requireKnownMemberId) {
      this.pendingMembers.set(
        newId,
        this.env.timers.set(() => this.expirePending(newId), p.sessionTimeoutMs),
      );
      return Promise.resolve(joinError(E.MEMBER_ID_REQUIRED, newId));
    }
    return this.addMemberAndRebalance(newId, p);
  }

  private joinKnownMember(p: JoinParams): Promise<JoinResult> {
    const pendingTimer = this.pendingMembers.get(p.memberId);
    if (pendingTimer !== undefined) {
      this.env.timers.clear(pendingTimer);
      this.pendingMembers.delete(p.memberId);
      return this.addMemberAndRebalance(p.memberId, p);
    }
    const fenced = this.checkFenced(p.memberId, p.groupInstanceId);
    if (fenced !== E.NONE) return Promise.resolve(joinError(fenced, p.memberId));
    const m = this.members.get(p.memberId)!;
    switch (this.state) {
      case 'PreparingRebalance':
        this.updateMember(m, p);
        return this.rebalanceWith(m);
      case 'CompletingRebalance':
        // A retried join with unchanged metadata gets the current generation again.
        if (m.sameProtocols(p.protocols)) return Promise.resolve(this.joinResponseFor(m));
        this.updateMember(m, p);
        return this.rebalanceWith(m);
      case 'Stable':
        if (m.memberId !== this.leaderId && m.sameProtocols(p.protocols)) {
          this.touchSession(m);
          return Promise.resolve(this.joinResponseFor(m));
        }
        this.updateMember(m, p);
        return this.rebalanceWith(m);
      default:
        return Promise.resolve(joinError(E.UNKNOWN_MEMBER_ID, p.memberId));
    }
  }

  private replaceStaticMember(m: ClassicMember, newId: string, p: JoinParams): Promise<JoinResult> {
    const oldId = m.memberId;
    this.answerParked(m, E.FENCED_INSTANCE_ID);
    this.members.delete(oldId);
    m.memberId = newId;
    this.members.set(newId, m);
    this.staticMembers.set(p.groupInstanceId!, newId);
    if (this.leaderId === oldId) this.leaderId = newId;
    const unchanged = m.sameProtocols(p.protocols);
    this.updateMember(m, p);
    if (this.state === 'Stable' && unchanged) {
      // KIP-345: a restarted static member takes its old place and assignment without a rebalance. A leader gets
      // the members (and, v9+, skipAssignment: KIP-814); its SyncGroup in Stable returns the current assignment.
      this.touchSession(m);
      return Promise.resolve({ ...this.joinResponseFor(m), skipAssignment: m.memberId === this.leaderId });
    }
    return this.rebalanceWith(m);
  }

  private addMemberAndRebalance(memberId: string, p: JoinParams): Promise<JoinResult> {
    const m = new ClassicMember(
      memberId,
      p.groupInstanceId,
      p.clientId,
      p.clientHost,
      p.sessionTimeoutMs,
      p.rebalanceTimeoutMs,
      p.protocolType,
      p.protocols,
    );
    // The first member of an empty group sets its protocol type (a restored Empty group's type may differ).
    if (this.members.size === 0) this.protocolType = p.protocolType;
    this.members.set(memberId, m);
    if (p.groupInstanceId !== null) this.staticMembers.set(p.groupInstanceId, memberId);
    if (this.leaderId === null) this.leaderId = memberId;
    if (this.initialDelayDeadline >= 0) this.armInitialDelay();
    return this.rebalanceWith(m);
  }

  private rebalanceWith(m: ClassicMember): Promise<JoinResult> {
    const promise = this.awaitJoin(m);
    if (this.state !== 'PreparingRebalance') this.prepareRebalance();
    else this.tryCompleteJoin();
    return promise;
  }

  private updateMember(m: ClassicMember, p: JoinParams): void {
    m.clientId = p.clientId;
    m.clientHost = p.clientHost;
    m.sessionTimeoutMs = p.sessionTimeoutMs;
    m.rebalanceTimeoutMs = p.rebalanceTimeoutMs;
    m.protocolType = p.protocolType;
    m.protocols = p.protocols;
  }

  private awaitJoin(m: ClassicMember): Promise<JoinResult> {
    // A member that joins again while its previous join is parked (a client retry) supersedes it.
    m.joinWaiter?.(joinError(E.REBALANCE_IN_PROGRESS, m.memberId));
    const promise = new Promise<JoinResult>((resolve) => {
      m.joinWaiter = resolve;
    });
    this.touchSession(m);
    return promise;
  }

  // ---- rebalance ----

  private prepareRebalance(): void {
    if (this.state === 'CompletingRebalance') {
      for (const m of this.members.values()) {
        m.assignment = EMPTY_BYTES;
        const w = m.syncWaiter;
        m.syncWaiter = null;
        w?.(syncError(E.REBALANCE_IN_PROGRESS));
      }
    }
    this.env.timers.clear(this.syncTimer);
    this.syncTimer = null;
    const initial = this.state === 'Empty';
    this.state = 'PreparingRebalance';
    this.env.timers.clear(this.joinTimer);
    if (initial && this.env.initialRebalanceDelayMs > 0) {
      this.initialDelayDeadline = this.env.timers.now() + this.rebalanceTimeoutMs();
      this.armInitialDelay();
    } else {
      this.initialDelayDeadline = -1;
      this.joinTimer = this.env.timers.set(() => this.completeJoin(), this.rebalanceTimeoutMs());
      this.tryCompleteJoin();
    }
  }

  private armInitialDelay(): void {
    this.env.timers.clear(this.joinTimer);
    const remaining = Math.max(0, this.initialDelayDeadline - this.env.timers.now());
    this.joinTimer = this.env.timers.set(
      () => {
        this.initialDelayDeadline = -1;
        this.completeJoin();
      },
      Math.min(this.env.initialRebalanceDelayMs, remaining),
    );
  }

  private rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  private tryCompleteJoin(): void {
    if (this.state !== 'PreparingRebalance' || this.initialDelayDeadline >= 0 || this.pendingMembers.size > 0) return;
    for (const m of this.members.values()) if (!m.joinWaiter) return;
    this.completeJoin();
  }

  private completeJoin(): void {
    if (this.state !== 'PreparingRebalance') return;
    this.env.timers.clear(this.joinTimer);
    this.joinTimer = null;
    this.initialDelayDeadline = -1;
    for (const m of [...this.members.values()]) if (!m.joinWaiter) this.removeMember(m);
    this.generationId++;
    if (this.members.size === 0) {
      this.state = 'Empty';
      this.protocolName = null;
      this.leaderId = null;
      this.emptySince = this.env.timers.now();
      this.env.onGenerationChange(this);
      return;
    }
    this.protocolName = selectProtocol([...this.members.values()], this.leaderId);
    if (this.leaderId === null || !this.members.has(this.leaderId)) this.leaderId = this.members.keys().next().value!;
    this.state = 'CompletingRebalance';
    this.env.onGenerationChange(this);
    for (const m of this.members.values()) {
      const w = m.joinWaiter!;
      m.joinWaiter = null;
      this.touchSession(m);
      w(this.joinResponseFor(m));
    }
    this.syncTimer = this.env.timers.set(() => this.onSyncTimeout(), this.rebalanceTimeoutMs());
  }

  private onSyncTimeout(): void {
    this.syncTimer = null;
    if (this.state !== 'CompletingRebalance') return;
    for (const m of [...this.members.values()]) if (!m.syncWaiter) this.removeMember(m);
    this.prepareRebalance();
  }

  private joinResponseFor(m: ClassicMember): JoinResult {
    const isLeader = m.memberId === this.leaderId;
    return {
      errorCode: E.NONE,
      generationId: this.generationId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      leader: this.leaderId ?? '',
      memberId: m.memberId,
      members: isLeader
        ? [...this.members.values()].map((o) => ({
            memberId: o.memberId,
            groupInstanceId: o.groupInstanceId,
            metadata: o.metadataFor(this.protocolName),
          }))
        : [],
    };
  }

  // ---- SyncGroup ----

  sync(p: SyncParams): Promise<SyncResult> {
    if (this.state === 'Dead') return Promise.resolve(syncError(E.COORDINATOR_NOT_AVAILABLE));
    const fenced = this.checkFenced(p.memberId, p.groupInstanceId);
    if (fenced !== E.NONE) return Promise.resolve(syncError(fenced));
    if (p.generationId !== this.generationId) return Promise.resolve(syncError(E.ILLEGAL_GENERATION));
    if (
      (p.protocolType !== null && p.protocolType !== this.protocolType) ||
      (p.protocolName !== null && p.protocolName !== this.protocolName)
    )
      return Promise.resolve(syncError(E.INCONSISTENT_GROUP_PROTOCOL));
    const m = this.members.get(p.memberId)!;
    switch (this.state) {
      case 'PreparingRebalance':
        return Promise.resolve(syncError(E.REBALANCE_IN_PROGRESS));
      case 'Stable':
        this.touchSession(m);
        return Promise.resolve(this.syncResult(m));
      case 'CompletingRebalance': {
        m.syncWaiter?.(syncError(E.REBALANCE_IN_PROGRESS));
        const promise = new Promise<SyncResult>((resolve) => {
          m.syncWaiter = resolve;
        });
        this.touchSession(m);
        if (m.memberId === this.leaderId) this.completeSync(p.assignments);
        return promise;
      }
      default:
        return Promise.resolve(syncError(E.UNKNOWN_MEMBER_ID));
    }
  }

  private completeSync(assignments: SyncParams['assignments']): void {
    const byMember = new Map(assignments.map((a) => [a.memberId, a.assignment]));
    for (const m of this.members.values()) m.assignment = byMember.get(m.memberId) ?? EMPTY_BYTES;
    this.state = 'Stable';
    this.env.timers.clear(this.syncTimer);
    this.syncTimer = null;
    for (const m of this.members.values()) {
      const w = m.syncWaiter;
      m.syncWaiter = null;
      w?.(this.syncResult(m));
    }
  }

  private syncResult(m: ClassicMember): SyncResult {
    return {
      errorCode: E.NONE,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      assignment: m.assignment,
    };
  }

  // ---- Heartbeat, LeaveGroup, sessions ----

  heartbeat(memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (this.state === 'Dead') return E.COORDINATOR_NOT_AVAILABLE;
    const fenced = this.checkFenced(memberId, groupInstanceId);
    if (fenced !== E.NONE) return fenced;
    if (this.state === 'Empty') return E.UNKNOWN_MEMBER_ID;
    if (generationId !== this.generationId) return E.ILLEGAL_GENERATION;
    this.touchSession(this.members.get(memberId)!);
    return this.state === 'PreparingRebalance' ? E.REBALANCE_IN_PROGRESS : E.NONE;
  }

  /** Removes the named members; returns an error code per member, in order. */
  leave(who: readonly MemberIdentity[]): number[] {
    let removed = false;
    const codes = who.map(({ memberId, groupInstanceId }) => {
      if (groupInstanceId === null && this.pendingMembers.has(memberId)) {
        this.env.timers.clear(this.pendingMembers.get(memberId)!);
        this.pendingMembers.delete(memberId);
        removed = true;
        return E.NONE;
      }
      let m: ClassicMember | undefined;
      if (groupInstanceId !== null) {
        m = this.memberByInstance(groupInstanceId);
        if (!m) return E.UNKNOWN_MEMBER_ID;
        if (memberId !== '' && m.memberId !== memberId) return E.FENCED_INSTANCE_ID;
      } else {
        m = this.members.get(memberId);
        if (!m) return E.UNKNOWN_MEMBER_ID;
        if (m.groupInstanceId !== null) return E.FENCED_INSTANCE_ID;
      }
      this.removeMember(m);
      removed = true;
      return E.NONE;
    });
    if (removed) this.afterMembersRemoved();
    return codes;
  }

  /** Validates a member's identity for offset commits; NONE when it may commit for `generationId`. */
  checkMember(memberId: string, groupInstanceId: string | null, generationId: number): number {
    const fenced = this.checkFenced(memberId, groupInstanceId);
    if (fenced !== E.NONE) return fenced;
    if (generationId !== this.generationId) return E.ILLEGAL_GENERATION;
    if (this.state === 'CompletingRebalance') return E.REBALANCE_IN_PROGRESS;
    this.touchSession(this.members.get(memberId)!);
    return E.NONE;
  }

  /** UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID checks shared by every request that names a member. */
  private checkFenced(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const owner = this.staticMembers.get(groupInstanceId);
      if (owner !== undefined && owner !== memberId) return E.FENCED_INSTANCE_ID;
    }
    const m = this.members.get(memberId);
    if (!m) return E.UNKNOWN_MEMBER_ID;
    if (m.groupInstanceId !== null && groupInstanceId !== null && m.groupInstanceId !== groupInstanceId)
      return E.FENCED_INSTANCE_ID;
    return E.NONE;
  }

  private touchSession(m: ClassicMember): void {
    this.env.timers.clear(m.sessionTimer);
    m.sessionTimer = this.env.timers.set(() => this.onSessionExpired(m), m.sessionTimeoutMs);
  }

  private onSessionExpired(m: ClassicMember): void {
    m.sessionTimer = null;
    if (this.members.get(m.memberId) !== m) return;
    if (m.isParked) {
      this.touchSession(m);
      return;
    }
    this.removeMember(m);
    this.afterMembersRemoved();
  }

  private expirePending(memberId: string): void {
    if (!this.pendingMembers.delete(memberId)) return;
    this.tryCompleteJoin();
  }

  private removeMember(m: ClassicMember): void {
    this.env.timers.clear(m.sessionTimer);
    m.sessionTimer = null;
    this.members.delete(m.memberId);
    if (m.groupInstanceId !== null && this.staticMembers.get(m.groupInstanceId) === m.memberId)
      this.staticMembers.delete(m.groupInstanceId);
    this.answerParked(m, E.UNKNOWN_MEMBER_ID);
    if (this.leaderId === m.memberId) this.leaderId = this.members.keys().next().value ?? null;
  }

  /** Answers the member's parked JoinGroup / SyncGroup with `errorCode`. */
  private answerParked(m: ClassicMember, errorCode: number): void {
    const jw = m.joinWaiter;
    const sw = m.syncWaiter;
    m.joinWaiter = null;
    m.syncWaiter = null;
    jw?.(joinError(errorCode, m.memberId));
    sw?.(syncError(errorCode));
  }

  private afterMembersRemoved(): void {
    if (this.state === 'Stable' || this.state === 'CompletingRebalance') this.prepareRebalance();
    else this.tryCompleteJoin();
  }

  /** Turns the group Dead (deleted, or the coordinator stopping): parked requests get `errorCode`. */
  shutdown(errorCode: number): void {
    this.env.timers.clear(this.joinTimer);
    this.env.timers.clear(this.syncTimer);
    this.joinTimer = null;
    this.syncTimer = null;
    for (const t of this.pendingMembers.values()) this.env.timers.clear(t);
    this.pendingMembers.clear();
    for (const m of this.members.values()) {
      this.env.timers.clear(m.sessionTimer);
      this.answerParked(m, errorCode);
    }
    this.members.clear();
    this.staticMembers.clear();
    this.state = 'Dead';
  }
}
