/**
 * What the admin API and the lag metric need from the group coordinator. The coordinator implements this and hands
 * it to `Broker.setGroupsView()`; until then /v1/groups answers 503 and the lag gauge stays empty. Lag is computed
 * here from the committed offsets and each partition's high watermark, so the coordinator need not know about logs.
 */
import type { Gauge } from 'prom-client';
import type { PartitionRegistry } from '../partition-registry.js';
import { decodeConsumerAssignment } from './consumer-assignment.js';

export interface GroupSummary {
  groupId: string;
  /** 'consumer' for Kafka consumer groups; '' for groups that only commit offsets. */
  protocolType: string;
  /** Kafka's state names: Empty, PreparingRebalance, CompletingRebalance, Stable, Dead. */
  state: string;
  members: number;
}

export interface GroupMemberView {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** Decoded from the member's ConsumerProtocolAssignment (empty when not a consumer group). */
  assignment: Array<{ topic: string; partitions: number[] }>;
}

export interface GroupDetail {
  groupId: string;
  state: string;
  protocolType: string;
  /** The chosen assignor ('range', 'cooperative-sticky', ...), '' when none. */
  protocol: string;
  members: GroupMemberView[];
  offsets: Array<{ topic: string; partition: number; committedOffset: number; metadata: string | null }>;
}

export interface GroupsView {
  listGroups(): GroupSummary[];
  /** null when the group does not exist. */
  describeGroup(groupId: string): GroupDetail | null;
}

export interface GroupOffsetLag {
  topic: string;
  partition: number;
  committedOffset: number;
  logEndOffset: number | null;
  lag: number | null;
  metadata: string | null;
}

/** Joins committed offsets to high watermarks. A partition that no longer exists has no lag (null). */
export function offsetsWithLag(partitions: PartitionRegistry, detail: GroupDetail): GroupOffsetLag[] {
  return detail.offsets.map((o) => {
    const handle = partitions.get(o.topic, o.partition);
    const logEndOffset = handle ? handle.log.writtenOffset : null;
    const lag = logEndOffset === null ? null : Math.max(0, logEndOffset - Math.max(o.committedOffset, 0));
    return { ...o, logEndOffset, lag };
  });
}

/** Collects `berth_consumer_group_lag{group,topic,partition}` from the view, when there is one. */
export function collectGroupLag(gauge: Gauge<string>, view: GroupsView | null, partitions: PartitionRegistry): void {
  gauge.reset();
  if (!view) return;
  for (const g of view.listGroups()) {
    const detail = view.describeGroup(g.groupId);
    if (!detail) continue;
    for (const o of offsetsWithLag(partitions, detail)) {
      if (o.lag !== null) gauge.set({ group: g.groupId, topic: o.topic, partition: String(o.partition) }, o.lag);
    }
  }
}

/**
 * What groupsViewFrom needs of the group coordinator. Structural, so that this module does not import the
 * coordinator: `GroupCoordinator` (broker/groups/group-coordinator.ts) has these three methods.
 */
export interface CoordinatorLike {
  list(): Array<{ groupId: string; state: string; protocolType: string }>;
  describe(groupId: string): {
    groupId: string;
    state: string;
    protocolType: string;
    protocolName: string;
    members: Array<{
      memberId: string;
      groupInstanceId: string | null;
      clientId: string;
      clientHost: string;
      assignment: Buffer;
    }>;
  } | null;
  allCommitted(groupId: string): Array<{ topic: string; partition: number; offset: bigint; metadata: string | null }>;
}

/** Adapts the coordinator to the admin API: `broker.setGroupsView(groupsViewFrom(broker.groups))`. */
export function groupsViewFrom(coordinator: CoordinatorLike): GroupsView {
  return {
    listGroups() {
      return coordinator
        .list()
        .map((g) => ({
          groupId: g.groupId,
          protocolType: g.protocolType,
          state: g.state,
          members: coordinator.describe(g.groupId)?.members.length ?? 0,
        }))
        .sort((a, b) => a.groupId.localeCompare(b.groupId));
    },
    describeGroup(groupId) {
      const d = coordinator.describe(groupId);
      const offsets = coordinator.allCommitted(groupId);
      if (!d && offsets.length === 0) return null;
      return {
        groupId,
        state: d?.state ?? 'Empty',
        protocolType: d?.protocolType ?? '',
        protocol: d?.protocolName ?? '',
        members: (d?.members ?? []).map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          assignment: d?.protocolType === 'consumer' ? decodeConsumerAssignment(m.assignment) : [],
        })),
        offsets: offsets
          .map((o) => ({
            topic: o.topic,
            partition: o.partition,
            committedOffset: Number(o.offset),
            metadata: o.metadata,
          }))
          .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition),
      };
    },
  };
}
