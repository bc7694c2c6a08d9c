/**
 * OffsetCommit (key 8), v2-10 (Kafka 4 serves v2+). A commit is acknowledged once its one state-log record is on
 * disk (broker/groups/offset-store.ts). Who may commit: members of the group's current generation (not during
 * CompletingRebalance: REBALANCE_IN_PROGRESS), or anyone with generation -1 while the group is Empty (admin tools,
 * manually assigned consumers). Per partition: UNKNOWN_TOPIC_OR_PARTITION (v10: UNKNOWN_TOPIC_ID, topics by id) and
 * OFFSET_METADATA_TOO_LARGE (offset.metadata.max.bytes). v2-4's retention time is ignored: offsets.retention.minutes
 * applies. CommittedLeaderEpoch from v6, GroupInstanceId from v7.
 */

import { ErrorCode as E } from '../../protocol/error-codes.js';
import {
  OffsetCommit,
  type OffsetCommitRequest,
  type OffsetCommitResponseInput,
} from '../../protocol/generated/offset-commit.js';
import type { OffsetCommitEntry } from '../groups/group-coordinator.js';
import { defineHandler } from '../handler.js';

function errorResponse(req: OffsetCommitRequest, errorCode: number): OffsetCommitResponseInput {
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      name: t.name,
      topicId: t.topicId,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
    })),
  };
}

export default defineHandler({
  codec: OffsetCommit,
  minVersion: 2,
  maxVersion: 10,
  async handle(req, ctx) {
    const { broker, version } = ctx;
    const groupCode = broker.groups.validateCommit(
      req.groupId,
      req.memberId,
      version >= 7 ? (req.groupInstanceId ?? null) : null,
      req.generationIdOrMemberEpoch ?? -1,
    );
    if (groupCode !== E.NONE) return errorResponse(req, groupCode);
    const maxMetadata = broker.config.number('offset.metadata.max.bytes');
    const entries: OffsetCommitEntry[] = [];
    const res: OffsetCommitResponseInput = {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => {
        const topic = version >= 10 ? broker.topics.getById(t.topicId ?? '') : broker.topics.get(t.name ?? '');
        return {
          name: t.name,
          topicId: t.topicId,
          partitions: t.partitions.map((p) => {
            let errorCode: number = E.NONE;
            if (!topic || p.partitionIndex < 0 || p.partitionIndex >= topic.partitions)
              errorCode = version >= 10 && !topic ? E.UNKNOWN_TOPIC_ID : E.UNKNOWN_TOPIC_OR_PARTITION;
            else if (p.committedMetadata !== null && Buffer.byteLength(p.committedMetadata) > maxMetadata)
              errorCode = E.OFFSET_METADATA_TOO_LARGE;
            else
              entries.push({
                topic: topic.name,
                partition: p.partitionIndex,
                offset: p.committedOffset,
                leaderEpoch: version >= 6 ? (p.committedLeaderEpoch ?? -1) : -1,
                metadata: p.committedMetadata,
              });
            return { partitionIndex: p.partitionIndex, errorCode };
          }),
        };
      }),
    };
    await broker.groups.commitOffsets(req.groupId, entries);
    return res;
  },
  errorResponse: (req, errorCode) => errorResponse(req, errorCode),
});
