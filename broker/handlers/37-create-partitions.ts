/**
 * CreatePartitions (key 37), v0-3. Raises a topic's partition count; the new count must be larger than the
 * current one (INVALID_PARTITIONS otherwise, with Kafka's wording of why). Manual assignments must name exactly the
 * new partitions, one replica each, on this broker (INVALID_REPLICA_ASSIGNMENT otherwise). validate_only checks
 * everything and changes nothing. A topic named twice in one request fails with INVALID_REQUEST, as in Kafka.
 * Errors are per topic; v2+ is flexible, nothing else differs between versions.
 */
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import {
  CreatePartitions,
  type CreatePartitionsRequestCreatePartitionsTopic as TopicRequest,
  type CreatePartitionsResponseCreatePartitionsTopicResultInput as TopicResult,
} from '../../protocol/generated/create-partitions.js';
import type { BrokerContext } from '../broker-context.js';
import { defineHandler } from '../handler.js';

function result(name: string, errorCode: number, errorMessage: string | null = null): TopicResult {
  return { name, errorCode, errorMessage };
}

/** Throws the KafkaError Kafka would answer for this topic; returns nothing when the change is valid. */
function validate(broker: BrokerContext, t: TopicRequest): void {
  const topic = broker.topics.get(t.name);
  if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic "${t.name}"`);
  if (t.count === topic.partitions) {
    throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `topic "${t.name}" already has ${topic.partitions} partitions`);
  }
  if (t.count < topic.partitions) {
    throw new KafkaError(
      ErrorCode.INVALID_PARTITIONS,
      `topic "${t.name}" currently has ${topic.partitions} partitions, which is higher than the requested ${t.count}`,
    );
  }
  if (t.assignments !== null) {
    const added = t.count - topic.partitions;
    if (t.assignments.length !== added) {
      throw new KafkaError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `${t.assignments.length} assignments given for ${added} new partitions`,
      );
    }
    for (const a of t.assignments) {
      if (a.brokerIds.length !== 1 || a.brokerIds[0] !== broker.nodeId) {
        throw new KafkaError(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `replicas can only be on broker ${broker.nodeId}, got [${a.brokerIds.join(', ')}]`,
        );
      }
    }
  }
}

export default defineHandler({
  codec: CreatePartitions,
  minVersion: 0,
  maxVersion: CreatePartitions.maxStableVersion,
  async handle(req, ctx) {
    const { broker } = ctx;
    const counts = new Map<string, number>();
    for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    const results: TopicResult[] = [];
    for (const t of req.topics) {
      if ((counts.get(t.name) ?? 0) > 1) {
        results.push(result(t.name, ErrorCode.INVALID_REQUEST, 'duplicate topic in request'));
        continue;
      }
      try {
        validate(broker, t);
        if (!req.validateOnly) await broker.partitions.addPartitions(t.name, t.count);
        else broker.partitions.checkPartitionLimit(t.count - (broker.topics.get(t.name)?.partitions ?? 0), t.name);
        results.push(result(t.name, ErrorCode.NONE));
      } catch (err) {
        if (!(err instanceof KafkaError)) throw err;
        results.push(result(t.name, err.errorCode, err.message));
      }
    }
    return { throttleTimeMs: 0, results };
  },
  errorResponse(req, errorCode) {
    return { throttleTimeMs: 0, results: req.topics.map((t) => result(t.name, errorCode)) };
  },
});
