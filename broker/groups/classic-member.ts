/**
 * One member of a classic group: who it is, what it supports, its assignment, and the JoinGroup / SyncGroup
 * request it may have parked with the coordinator while a rebalance is under way.
 */
import type { TimerHandle } from './group-timers.js';

export interface GroupProtocol {
  name: string;
  metadata: Buffer;
}

export interface JoinParams {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: GroupProtocol[];
  /** JoinGroup v4+: a member with no id is given one and must come back with it (KIP-394). */
  requireKnownMemberId: boolean;
}

export interface SyncParams {
  memberId: string;
  groupInstanceId: string | null;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  assignments: ReadonlyArray<{ memberId: string; assignment: Buffer }>;
}

export interface MemberIdentity {
  memberId: string;
  groupInstanceId: string | null;
}

export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  members: Array<{ memberId: string; groupInstanceId: string | null; metadata: Buffer }>;
  /** A static leader that rejoined a Stable group must not compute a new assignment (KIP-814, v9+). */
  skipAssignment?: boolean;
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export const EMPTY_BYTES = Buffer.alloc(0);

export class ClassicMember {
  assignment: Buffer = EMPTY_BYTES;
  joinWaiter: ((r: JoinResult) => void) | null = null;
  syncWaiter: ((r: SyncResult) => void) | null = null;
  sessionTimer: TimerHandle | null = null;

  constructor(
    public memberId: string,
    readonly groupInstanceId: string | null,
    public clientId: string,
    public clientHost: string,
    public sessionTimeoutMs: number,
    public rebalanceTimeoutMs: number,
    public protocolType: string,
    public protocols: GroupProtocol[],
  ) {}

  supports(name: string): boolean {
    return this.protocols.some((p) => p.name === name);
  }

  metadataFor(name: string | null): Buffer {
    return this.protocols.find((p) => p.name === name)?.metadata ?? EMPTY_BYTES;
  }

  /** This member's most preferred protocol among `candidates`. */
  vote(candidates: ReadonlySet<string>): string | undefined {
    return this.protocols.find((p) => candidates.has(p.name))?.name;
  }

  sameProtocols(protocols: readonly GroupProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every(
      (p, i) => p.name === this.protocols[i].name && Buffer.compare(p.metadata, this.protocols[i].metadata) === 0,
    );
  }

  /** A parked request counts as liveness: Kafka does not expire a member waiting on the coordinator. */
  get isParked(): boolean {
    return this.joinWaiter !== null || this.syncWaiter !== null;
  }
}

export function joinError(errorCode: number, memberId: string): JoinResult {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, members: [] };
}

export function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES };
}
