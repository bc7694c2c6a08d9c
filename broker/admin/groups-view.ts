/**
 * What the admin API and the lag metric need from the group coordinator. The coordinator implements this and hands
 * it to `Broker.setGroupsView()`; until then /v1/groups answers 503 and the lag gauge stays empty. Lag is computed
 * here from the committed offsets and each partition's high watermark, so the coordinator need not know about logs.
 */
import type { Gauge } from 'prom-client';
import type { PartitionRegistry } from '../partition-registry.js';

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
