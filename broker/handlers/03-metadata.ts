/**
 * Metadata (key 3), v0-13. This broker is the only broker, the controller, and the leader of every partition
 * (leader epoch from the partition). A null topic list (v1+) means every topic; an empty one means none.
 * Unknown topics are created when the client allows it (v4+; always for older versions) and
 * auto.create.topics.enable is on. v10+ may name topics by id.
 * A partition whose log is offline for writes (a disk error; see PartitionLog) lists this broker in offlineReplicas
 * (v5+), as Kafka lists replicas on an offline log dir. Its error code stays NONE, and so does its leader (reads of
 * what it holds still work): Kafka's Metadata never answers KAFKA_STORAGE_ERROR, and kafkajs fails every send to a
 * topic whose Metadata carries any partition error, so the topic's healthy partitions would stop too. Produce to
 * the offline partition answers KAFKA_STORAGE_ERROR.
 */
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import {
  Metadata,
  type MetadataResponseInput,
  type MetadataResponseMetadataResponseTopicInput as TopicMetadata,
} from '../../protocol/generated/metadata.js';
import { ZERO_UUID } from '../../protocol/uuid.js';
import type { BrokerContext } from '../broker-context.js';
import { defineHandler } from '../handler.js';
import type { TopicInfo } from '../topic-registry.js';

const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

function describeTopic(broker: BrokerContext, topic: TopicInfo): TopicMetadata {
  const partitions = [];
  for (let p = 0; p < topic.partitions; p++) {
    partitions.push({
      errorCode: ErrorCode.NONE,
      partitionIndex: p,
      leaderId: broker.nodeId,
      leaderEpoch: broker.partitions.leaderEpoch(topic.name, p),
      replicaNodes: [broker.nodeId],
      isrNodes: [broker.nodeId],
      offlineReplicas: broker.partitions.offlineReplicas(topic.name, p, broker.nodeId),
    });
  }
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.topicId,
    isInternal: topic.internal,
    partitions,
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}

/** A topic named only by id has no name to answer with: null from v12, an empty string where names are not nullable. */
function topicError(errorCode: number, name: string | null, version: number, topicId = ZERO_UUID): TopicMetadata {
  return {
    errorCode,
    name: name ?? (version >= 12 ? null : ''),
    topicId,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}

function response(
  broker: BrokerContext,
  ctx: Parameters<typeof broker.advertisedEndpoint>[0],
  topics: TopicMetadata[],
): MetadataResponseInput {
  const { host, port } = broker.advertisedEndpoint(ctx);
  return {
    throttleTimeMs: 0,
    brokers: [{ nodeId: broker.nodeId, host, port, rack: null }],
    clusterId: broker.clusterId,
    controllerId: broker.nodeId,
    topics,
    clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    errorCode: ErrorCode.NONE,
  };
}

export default defineHandler({
  codec: Metadata,
  minVersion: 0,
  maxVersion: Metadata.maxStableVersion,
  async handle(req, ctx) {
    const { broker } = ctx;
    if (req.topics === null || (ctx.version === 0 && req.topics.length === 0)) {
      return response(
        broker,
        ctx.client,
        broker.topics.list().map((t) => describeTopic(broker, t)),
      );
    }
    const allowAutoCreate = ctx.version < 4 || req.allowAutoTopicCreation !== false;
    const topics: TopicMetadata[] = [];
    for (const requested of req.topics) {
      if (requested.name === null || requested.name === undefined) {
        const byId = requested.topicId ? broker.topics.getById(requested.topicId) : undefined;
        topics.push(
          byId
            ? describeTopic(broker, byId)
            : topicError(ErrorCode.UNKNOWN_TOPIC_ID, null, ctx.version, requested.topicId),
        );
        continue;
      }
      const existing = broker.topics.get(requested.name);
      if (existing) {
        topics.push(describeTopic(broker, existing));
        continue;
      }
      if (!allowAutoCreate || !broker.config.boolean('auto.create.topics.enable')) {
        topics.push(topicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, requested.name, ctx.version));
        continue;
      }
      try {
        const created = await broker.partitions.autoCreateTopic(requested.name);
        // Kafka answers LEADER_NOT_AVAILABLE while a new topic's leaders are elected; here they exist at once.
        topics.push(describeTopic(broker, created));
      } catch (err) {
        if (!(err instanceof KafkaError)) throw err;
        const existingNow = broker.topics.get(requested.name);
        // A CreateTopics for the same name in flight: retriable, as Kafka answers while a topic is being created.
        const code = err.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS ? ErrorCode.LEADER_NOT_AVAILABLE : err.errorCode;
        topics.push(existingNow ? describeTopic(broker, existingNow) : topicError(code, requested.name, ctx.version));
      }
    }
    return response(broker, ctx.client, topics);
  },
  errorResponse(req, errorCode, ctx) {
    const topics = (req.topics ?? []).map((t) => topicError(errorCode, t.name ?? null, ctx.version, t.topicId));
    return response(ctx.broker, ctx.client, topics);
  },
});
