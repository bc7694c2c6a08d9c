/**
 * The Kafka requests behind `berth topics` and `berth groups`, as functions returning plain data. Every field that
 * only exists at some versions is set according to the version negotiated (the generated encoders are strict), and
 * versions are capped where a later one changes addressing (topic ids instead of names).
 */
import { ErrorCode, errorCodeName, KafkaError } from '../protocol/error-codes.js';
import { CreateTopics } from '../protocol/generated/create-topics.js';
import { DeleteGroups } from '../protocol/generated/delete-groups.js';
import { DeleteTopics } from '../protocol/generated/delete-topics.js';
import { DescribeConfigs } from '../protocol/generated/describe-configs.js';
import { DescribeGroups } from '../protocol/generated/describe-groups.js';
import { FindCoordinator } from '../protocol/generated/find-coordinator.js';
import { IncrementalAlterConfigs } from '../protocol/generated/incremental-alter-configs.js';
import { ListGroups } from '../protocol/generated/list-groups.js';
import { ListOffsets } from '../protocol/generated/list-offsets.js';
import { Metadata } from '../protocol/generated/metadata.js';
import { OffsetCommit } from '../protocol/generated/offset-commit.js';
import { OffsetFetch } from '../protocol/generated/offset-fetch.js';
import { decodeConsumerAssignment, type TopicAssignment } from './consumer-protocol.js';
import type { KafkaClient } from './kafka-client.js';

const RESOURCE_TOPIC = 2;
export const EARLIEST = -2n;
export const LATEST = -1n;

/** Throws a KafkaError naming what failed and the error, unless code is NONE. */
export function check(code: number | undefined, what: string, message?: string | null): void {
  if (code === undefined || code === ErrorCode.NONE) return;
  throw new KafkaError(code, `${what}: ${errorCodeName(code)}${message ? ` (${message})` : ''}`);
}

export interface TopicMetadata {
  name: string;
  topicId: string | null;
  internal: boolean;
  partitions: Array<{ partition: number; leader: number; leaderEpoch: number; replicas: number[]; isr: number[] }>;
}

/** Metadata for the named topics (all when null); unknown names throw UNKNOWN_TOPIC_OR_PARTITION. */
export async function topicMetadata(c: KafkaClient, names: string[] | null): Promise<TopicMetadata[]> {
  const v = c.versionFor(Metadata);
  const res = await c.send(Metadata, v, {
    topics: names === null ? null : names.map((name) => ({ name })),
    ...(v >= 4 ? { allowAutoTopicCreation: false } : {}),
  });
  return res.topics
    .map((t) => {
      check(t.errorCode, `topic ${t.name}`);
      return {
        name: t.name ?? '',
        topicId: t.topicId && t.topicId !== 'AAAAAAAAAAAAAAAAAAAAAA' ? t.topicId : null,
        internal: t.isInternal ?? false,
        partitions: t.partitions
          .map((p) => ({
            partition: p.partitionIndex,
            leader: p.leaderId,
            leaderEpoch: p.leaderEpoch ?? -1,
            replicas: p.replicaNodes,
            isr: p.isrNodes,
          }))
          .sort((a, b) => a.partition - b.partition),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

export type PartitionKey = `${string}:${number}`;
export const pkey = (topic: string, partition: number): PartitionKey => `${topic}:${partition}`;

/** ListOffsets for each partition at `timestamp` (EARLIEST, LATEST, or a time in ms). Offset -1: none at that time. */
export async function listOffsets(
  c: KafkaClient,
  partitions: Array<{ topic: string; partition: number }>,
  timestamp: bigint,
): Promise<Map<PartitionKey, { offset: bigint; timestamp: bigint }>> {
  const byTopic = new Map<string, number[]>();
  for (const p of partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
  const out = new Map<PartitionKey, { offset: bigint; timestamp: bigint }>();
  if (byTopic.size === 0) return out;
  const res = await c.request(ListOffsets, {
    replicaId: -1,
    topics: [...byTopic].map(([name, ps]) => ({
      name,
      partitions: ps.map((partitionIndex) => ({ partitionIndex, timestamp })),
    })),
  });
  for (const t of res.topics) {
    for (const p of t.partitions) {
      check(p.errorCode, `ListOffsets ${t.name}-${p.partitionIndex}`);
      out.set(pkey(t.name, p.partitionIndex), { offset: p.offset ?? -1n, timestamp: p.timestamp ?? -1n });
    }
  }
  return out;
}

export interface ConfigEntryView {
  name: string;
  value: string | null;
  source: string;
  readOnly: boolean;
}

const configSources: Record<number, string> = {
  1: 'topic',
  2: 'dynamic-broker',
  3: 'dynamic-default-broker',
  4: 'static-broker',
  5: 'default',
  6: 'dynamic-broker-logger',
  7: 'client-metrics',
  8: 'group',
};

/** The topic's configs, or null when the broker does not serve DescribeConfigs. */
export async function describeTopicConfigs(c: KafkaClient, topic: string): Promise<ConfigEntryView[] | null> {
  let v: number;
  try {
    v = c.versionFor(DescribeConfigs);
  } catch {
    return null;
  }
  const res = await c.send(DescribeConfigs, v, {
    resources: [{ resourceType: RESOURCE_TOPIC, resourceName: topic, configurationKeys: null }],
    includeSynonyms: false,
    ...(v >= 3 ? { includeDocumentation: false } : {}),
  });
  const r = res.results[0];
  check(r.errorCode, `DescribeConfigs ${topic}`, r.errorMessage);
  return r.configs
    .map((e) => ({
      name: e.name,
      value: e.value,
      source: configSources[e.configSource ?? -1] ?? 'unknown',
      readOnly: e.readOnly,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export async function createTopic(
  c: KafkaClient,
  name: string,
  numPartitions: number,
  replicationFactor: number,
  configs: Map<string, string>,
): Promise<{ topicId: string | null; errorCode: number; errorMessage: string | null }> {
  const res = await c.request(CreateTopics, {
    topics: [
      {
        name,
        numPartitions,
        replicationFactor,
        assignments: [],
        configs: [...configs].map(([k, value]) => ({ name: k, value })),
      },
    ],
    timeoutMs: 30_000,
    validateOnly: false,
  });
  const t = res.topics[0];
  return { topicId: t.topicId ?? null, errorCode: t.errorCode, errorMessage: t.errorMessage };
}

export async function deleteTopics(
  c: KafkaClient,
  names: string[],
): Promise<Array<{ name: string; errorCode: number; errorMessage: string | null }>> {
  const v = c.versionFor(DeleteTopics);
  const res = await c.send(DeleteTopics, v, {
    timeoutMs: 30_000,
    ...(v >= 6
      ? { topics: names.map((name) => ({ name, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' })) }
      : { topicNames: names }),
  });
  return res.responses.map((r) => ({
    name: r.name ?? '',
    errorCode: r.errorCode,
    errorMessage: r.errorMessage ?? null,
  }));
}

/** IncrementalAlterConfigs on a topic: set some configs, delete (revert to default) others. */
export async function alterTopicConfigs(
  c: KafkaClient,
  topic: string,
  set: Map<string, string>,
  remove: string[],
): Promise<void> {
  const res = await c.request(IncrementalAlterConfigs, {
    resources: [
      {
        resourceType: RESOURCE_TOPIC,
        resourceName: topic,
        configs: [
          ...[...set].map(([name, value]) => ({ name, configOperation: 0, value })),
          ...remove.map((name) => ({ name, configOperation: 1, value: null })),
        ],
      },
    ],
    validateOnly: false,
  });
  const r = res.responses[0];
  check(r.errorCode, `IncrementalAlterConfigs ${topic}`, r.errorMessage);
}

/** Asks for the group's coordinator; a single-node Berth is its own coordinator, so this checks availability. */
export async function findGroupCoordinator(
  c: KafkaClient,
  group: string,
): Promise<{ nodeId: number; host: string; port: number }> {
  const v = c.versionFor(FindCoordinator);
  const res = await c.send(
    FindCoordinator,
    v,
    v >= 4 ? { keyType: 0, coordinatorKeys: [group] } : { key: group, ...(v >= 1 ? { keyType: 0 } : {}) },
  );
  if (v >= 4) {
    const co = res.coordinators?.[0];
    if (!co) throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `FindCoordinator ${group}: empty answer`);
    check(co.errorCode, `FindCoordinator ${group}`, co.errorMessage);
    return { nodeId: co.nodeId, host: co.host, port: co.port };
  }
  check(res.errorCode, `FindCoordinator ${group}`, res.errorMessage);
  return { nodeId: res.nodeId ?? -1, host: res.host ?? '', port: res.port ?? -1 };
}

export async function listGroups(
  c: KafkaClient,
): Promise<Array<{ groupId: string; protocolType: string; state: string | null }>> {
  const res = await c.request(ListGroups, {});
  check(res.errorCode, 'ListGroups');
  return res.groups
    .map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, state: g.groupState ?? null }))
    .sort((a, b) => a.groupId.localeCompare(b.groupId));
}

export interface GroupDescription {
  groupId: string;
  state: string;
  protocolType: string;
  protocol: string;
  members: Array<{
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    assignment: TopicAssignment[];
  }>;
}

export async function describeGroup(c: KafkaClient, group: string): Promise<GroupDescription> {
  const res = await c.request(DescribeGroups, { groups: [group] });
  const g = res.groups[0];
  check(g.errorCode, `DescribeGroups ${group}`, g.errorMessage);
  return {
    groupId: g.groupId,
    state: g.groupState,
    protocolType: g.protocolType,
    protocol: g.protocolData,
    members: g.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId ?? null,
      clientId: m.clientId,
      clientHost: m.clientHost,
      assignment: g.protocolType === 'consumer' ? decodeConsumerAssignment(m.memberAssignment) : [],
    })),
  };
}

/** Committed offsets of a group (every partition it committed when topics is null). */
export async function fetchGroupOffsets(
  c: KafkaClient,
  group: string,
  topics: Array<{ name: string; partitionIndexes: number[] }> | null = null,
): Promise<Array<{ topic: string; partition: number; offset: bigint; metadata: string | null }>> {
  // v8+ batches several groups in another shape; one group needs no more than v7.
  const res = await c.request(OffsetFetch, { groupId: group, topics }, 7);
  check(res.errorCode, `OffsetFetch ${group}`);
  const out: Array<{ topic: string; partition: number; offset: bigint; metadata: string | null }> = [];
  for (const t of res.topics ?? []) {
    for (const p of t.partitions) {
      check(p.errorCode, `OffsetFetch ${group} ${t.name}-${p.partitionIndex}`);
      if (p.committedOffset >= 0n)
        out.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, metadata: p.metadata });
    }
  }
  return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

/** Commits offsets outside any generation (the group must be empty), as kafka-consumer-groups --reset-offsets. */
export async function commitGroupOffsets(
  c: KafkaClient,
  group: string,
  offsets: Array<{ topic: string; partition: number; offset: bigint }>,
): Promise<void> {
  const byTopic = new Map<string, Array<{ partition: number; offset: bigint }>>();
  for (const o of offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
  // v10 addresses topics by id; names are enough up to v9.
  const res = await c.request(
    OffsetCommit,
    {
      groupId: group,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      topics: [...byTopic].map(([name, ps]) => ({
        name,
        partitions: ps.map((p) => ({ partitionIndex: p.partition, committedOffset: p.offset, committedMetadata: '' })),
      })),
    },
    9,
  );
  for (const t of res.topics)
    for (const p of t.partitions) check(p.errorCode, `OffsetCommit ${group} ${t.name}-${p.partitionIndex}`);
}

export async function deleteGroups(
  c: KafkaClient,
  groups: string[],
): Promise<Array<{ groupId: string; errorCode: number }>> {
  const res = await c.request(DeleteGroups, { groupsNames: groups });
  return res.results.map((r) => ({ groupId: r.groupId, errorCode: r.errorCode }));
}
