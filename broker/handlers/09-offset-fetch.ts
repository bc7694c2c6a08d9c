/**
 * OffsetFetch (key 9), v1-10. Answers committed offsets (-1 and empty metadata where none is committed; metadata
 * as committed, a null commit reads back as ""). Topics null (v2+) means every offset the group has. v8+ batch
 * groups, each answered with its own error code; v10 names topics by id (UNKNOWN_TOPIC_ID for an unknown id).
 * RequireStable (v7+) needs no waiting: transactions are not served, so no offset commit is ever pending.
 * v9+ may name a KIP-848 member and its epoch: UNKNOWN_MEMBER_ID / STALE_MEMBER_EPOCH for the group when they do
 * not match (classic groups ignore them, as Kafka does).
 */

import { ErrorCode as E } from '../../protocol/error-codes.js';
import {
  OffsetFetch,
  type OffsetFetchRequest,
  type OffsetFetchResponseInput,
  type OffsetFetchResponseOffsetFetchResponsePartitionsInput as PartitionAnswer,
} from '../../protocol/generated/offset-fetch.js';
import type { BrokerContext } from '../broker-context.js';
import { defineHandler } from '../handler.js';

interface TopicAsk {
  name?: string;
  topicId?: string;
  partitionIndexes: number[];
}

interface TopicAnswer {
  name?: string;
  topicId?: string;
  partitions: PartitionAnswer[];
}

function partitionAnswer(broker: BrokerContext, groupId: string, topic: string, partition: number, v: number) {
  const c = broker.groups.committed(groupId, topic, partition);
  return {
    partitionIndex: partition,
    committedOffset: c ? c.offset : -1n,
    committedLeaderEpoch: v >= 5 ? (c?.leaderEpoch ?? -1) : undefined,
    metadata: c ? (c.metadata ?? '') : '',
    errorCode: E.NONE,
  };
}

function answerGroup(broker: BrokerContext, groupId: string, topics: TopicAsk[] | null, v: number): TopicAnswer[] {
  if (topics === null) {
    const byTopic = new Map<string, number[]>();
    for (const c of broker.groups.allCommitted(groupId)) {
      const list = byTopic.get(c.topic) ?? [];
      list.push(c.partition);
      byTopic.set(c.topic, list);
    }
    const out: TopicAnswer[] = [];
    for (const [name, partitions] of [...byTopic].sort(([a], [b]) => a.localeCompare(b))) {
      const topicId = broker.topics.get(name)?.topicId;
      if (v >= 10 && topicId === undefined) continue;
      out.push({
        name,
        topicId,
        partitions: partitions.sort((a, b) => a - b).map((p) => partitionAnswer(broker, groupId, name, p, v)),
      });
    }
    return out;
  }
  return topics.map((t) => {
    const name = v >= 10 ? broker.topics.getById(t.topicId ?? '')?.name : t.name;
    if (name === undefined)
      return {
        name: t.name,
        topicId: t.topicId,
        partitions: t.partitionIndexes.map((p) => ({
          partitionIndex: p,
          committedOffset: -1n,
          committedLeaderEpoch: -1,
          metadata: '',
          errorCode: E.UNKNOWN_TOPIC_ID,
        })),
      };
    return {
      name: t.name,
      topicId: t.topicId,
      partitions: t.partitionIndexes.map((p) => partitionAnswer(broker, groupId, name, p, v)),
    };
  });
}

function groupError(groupId: string): number {
  return groupId === '' ? E.INVALID_GROUP_ID : E.NONE;
}

function respond(
  req: OffsetFetchRequest,
  v: number,
  each: (
    groupId: string,
    topics: TopicAsk[] | null,
    member: { memberId: string | null; memberEpoch: number },
  ) => { errorCode: number; topics: TopicAnswer[] },
): OffsetFetchResponseInput {
  if (v >= 8) {
    return {
      throttleTimeMs: 0,
      groups: (req.groups ?? []).map((g) => {
        const r = each(g.groupId, g.topics, { memberId: g.memberId ?? null, memberEpoch: g.memberEpoch ?? -1 });
        return { groupId: g.groupId, errorCode: r.errorCode, topics: r.topics };
      }),
    };
  }
  const topics = v >= 2 ? (req.topics ?? null) : (req.topics ?? []);
  const r = each(req.groupId ?? '', topics, { memberId: null, memberEpoch: -1 });
  const res: OffsetFetchResponseInput = {
    throttleTimeMs: 0,
    topics: r.topics.map((t) => ({
      name: t.name ?? '',
      partitions: t.partitions.map((p) => ({ ...p, errorCode: p.errorCode !== E.NONE ? p.errorCode : r.errorCode })),
    })),
  };
  if (v >= 2) res.errorCode = r.errorCode;
  return res;
}

export default defineHandler({
  codec: OffsetFetch,
  minVersion: 1,
  maxVersion: 10,
  handle(req, ctx) {
    const { broker, version } = ctx;
    return respond(req, version, (groupId, topics, member) => {
      let errorCode = broker.closing ? E.NOT_COORDINATOR : groupError(groupId);
      if (errorCode === E.NONE) errorCode = broker.groups.validateFetch(groupId, member.memberId, member.memberEpoch);
      if (errorCode !== E.NONE)
        return { errorCode, topics: version >= 2 ? [] : answerGroup(broker, '', topics ?? [], version) };
      return { errorCode, topics: answerGroup(broker, groupId, topics, version) };
    });
  },
  errorResponse(req, errorCode, ctx) {
    return respond(req, ctx.version, () => ({ errorCode, topics: [] }));
  },
});
