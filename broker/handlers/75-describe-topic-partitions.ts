/**
 * DescribeTopicPartitions (key 75), v0. Topics by name (an empty list means every topic), in name order, with
 * their partitions, paginated as Kafka does: at most response_partition_limit partitions per response (capped at
 * 2000, Kafka's max.request.partition.size.limit default); when the limit cuts the listing short, next_cursor names
 * the topic and partition to resume from, and the client sends it back as cursor. The cursor's topic must be among
 * the requested ones and its partition index non-negative (INVALID_REQUEST otherwise); topics before it are skipped.
 * Unknown topics are answered with UNKNOWN_TOPIC_OR_PARTITION and no partitions. One node: this broker leads every
 * partition and is its only replica; eligible leader replicas are empty.
 */
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import {
  type DescribeTopicPartitionsResponseCursorInput as Cursor,
  DescribeTopicPartitions,
  type DescribeTopicPartitionsResponseInput,
  type DescribeTopicPartitionsResponseDescribeTopicPartitionsResponsePartitionInput as PartitionInfo,
  type DescribeTopicPartitionsResponseDescribeTopicPartitionsResponseTopicInput as TopicInfo,
} from '../../protocol/generated/describe-topic-partitions.js';
import { ZERO_UUID } from '../../protocol/uuid.js';
import { defineHandler } from '../handler.js';

const MAX_PARTITION_LIMIT = 2000;
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

function topicError(name: string, errorCode: number): TopicInfo {
  return {
    errorCode,
    name,
    topicId: ZERO_UUID,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}

export default defineHandler({
  codec: DescribeTopicPartitions,
  minVersion: 0,
  maxVersion: DescribeTopicPartitions.maxStableVersion,
  handle(req, ctx): DescribeTopicPartitionsResponseInput {
    const { broker } = ctx;
    const cursor = req.cursor ?? null;
    const all = req.topics.length === 0;
    const requested = all ? broker.topics.list().map((t) => t.name) : [...new Set(req.topics.map((t) => t.name))];
    if (cursor && !all && !requested.includes(cursor.topicName)) {
      throw new KafkaError(ErrorCode.INVALID_REQUEST, `the cursor's topic ${cursor.topicName} is not requested`);
    }
    if (cursor && cursor.partitionIndex < 0) {
      throw new KafkaError(ErrorCode.INVALID_REQUEST, 'the cursor partition index cannot be negative');
    }
    const names = requested.filter((n) => !cursor || n >= cursor.topicName).sort();
    let remaining = Math.min(Math.max(req.responsePartitionLimit ?? MAX_PARTITION_LIMIT, 1), MAX_PARTITION_LIMIT);
    const topics: TopicInfo[] = [];
    let nextCursor: Cursor | null = null;
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      const topic = broker.topics.get(name);
      if (!topic) {
        topics.push(topicError(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
        continue;
      }
      if (remaining === 0) {
        nextCursor = { topicName: name, partitionIndex: 0 };
        break;
      }
      const start = cursor && name === cursor.topicName ? cursor.partitionIndex : 0;
      const end = Math.min(topic.partitions, start + remaining);
      const partitions: PartitionInfo[] = [];
      for (let p = start; p < end; p++) {
        partitions.push({
          errorCode: ErrorCode.NONE,
          partitionIndex: p,
          leaderId: broker.nodeId,
          leaderEpoch: broker.partitions.leaderEpoch(name, p),
          replicaNodes: [broker.nodeId],
          isrNodes: [broker.nodeId],
          eligibleLeaderReplicas: [],
          lastKnownElr: [],
          offlineReplicas: broker.partitions.offlineReplicas(name, p, broker.nodeId),
        });
      }
      remaining -= Math.max(end - start, 0);
      topics.push({
        errorCode: ErrorCode.NONE,
        name,
        topicId: topic.topicId,
        isInternal: topic.internal,
        partitions,
        topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      });
      if (end < topic.partitions) {
        nextCursor = { topicName: name, partitionIndex: end };
        break;
      }
    }
    return { throttleTimeMs: 0, topics, nextCursor };
  },
  errorResponse(req, errorCode) {
    return { throttleTimeMs: 0, topics: req.topics.map((t) => topicError(t.name, errorCode)), nextCursor: null };
  },
});
