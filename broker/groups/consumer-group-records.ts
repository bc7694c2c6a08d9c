/**
 * The durable form of a KIP-848 consumer group in groups.log, after the records Kafka keeps in __consumer_offsets
 * for consumer groups: the group epoch with the subscribed-topics signature (ConsumerGroupMetadata and
 * ConsumerGroupPartitionMetadata), each member's metadata (ConsumerGroupMemberMetadata), the target assignment
 * with its epoch and assignor (ConsumerGroupTargetAssignmentMetadata and ...Member), each member's current
 * assignment with its epochs and the partitions it still has to revoke (ConsumerGroupCurrentMemberAssignment),
 * and tombstones. A heartbeat's changes are one 'cg-batch' record, so they are replayed all or not at all.
 */

/** [topic id, partitions] */
export type TopicPartitionsTuple = [string, number[]];

export interface PersistedMember {
  id: string;
  instanceId: string | null;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  subscribed: string[];
  serverAssignor: string | null;
  rebalanceTimeoutMs: number;
}

export interface PersistedCurrent {
  id: string;
  epoch: number;
  previousEpoch: number;
  assigned: TopicPartitionsTuple[];
  revoking: TopicPartitionsTuple[];
}

export type ConsumerGroupRecord =
  | { t: 'cg'; g: string; epoch: number; sig: string }
  | { t: 'cg-member'; g: string; m: PersistedMember }
  | { t: 'cg-member-del'; g: string; id: string }
  | { t: 'cg-target'; g: string; epoch: number; assignor: string; a: Array<[string, TopicPartitionsTuple[]]> }
  | { t: 'cg-current'; g: string; c: PersistedCurrent }
  /** The group stops being a consumer group (deleted, or taken over by the classic protocol); offsets stay. */
  | { t: 'cg-del'; g: string };

/** Everything replay knows of one consumer group. */
export interface ConsumerGroupState {
  groupId: string;
  epoch: number;
  topicsSignature: string;
  assignmentEpoch: number;
  assignor: string;
  targets: Map<string, TopicPartitionsTuple[]>;
  members: Map<string, PersistedMember>;
  current: Map<string, PersistedCurrent>;
}

function emptyState(groupId: string): ConsumerGroupState {
  return {
    groupId,
    epoch: 0,
    topicsSignature: '',
    assignmentEpoch: 0,
    assignor: 'uniform',
    targets: new Map(),
    members: new Map(),
    current: new Map(),
  };
}

/** Applies one record to `states`. */
export function applyConsumerGroupRecord(states: Map<string, ConsumerGroupState>, r: ConsumerGroupRecord): void {
  if (r.t === 'cg-del') {
    states.delete(r.g);
    return;
  }
  let s = states.get(r.g);
  if (!s) {
    s = emptyState(r.g);
    states.set(r.g, s);
  }
  switch (r.t) {
    case 'cg':
      s.epoch = r.epoch;
      s.topicsSignature = r.sig;
      break;
    case 'cg-member':
      s.members.set(r.m.id, r.m);
      break;
    case 'cg-member-del':
      s.members.delete(r.id);
      s.current.delete(r.id);
      s.targets.delete(r.id);
      break;
    case 'cg-target':
      s.assignmentEpoch = r.epoch;
      s.assignor = r.assignor;
      s.targets = new Map(r.a);
      break;
    case 'cg-current':
      s.current.set(r.c.id, r.c);
      break;
  }
}

/** The records that rebuild `s` (for compaction). */
export function consumerGroupSnapshot(s: ConsumerGroupState): ConsumerGroupRecord[] {
  const g = s.groupId;
  const out: ConsumerGroupRecord[] = [{ t: 'cg', g, epoch: s.epoch, sig: s.topicsSignature }];
  for (const m of s.members.values()) out.push({ t: 'cg-member', g, m });
  out.push({ t: 'cg-target', g, epoch: s.assignmentEpoch, assignor: s.assignor, a: [...s.targets] });
  for (const c of s.current.values()) out.push({ t: 'cg-current', g, c });
  return out;
}
