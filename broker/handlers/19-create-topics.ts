/**
 * CreateTopics (key 19), v2-7. Per topic: name rules, partition count (-1 takes num.partitions), replication
 * factor (-1 or 1 on one node), manual assignments (only to this broker), and configs (validated against the
 * topic config table). validate_only checks everything and creates nothing. v5+ answers with the topic's configs,
 * partition count and replication factor; v7+ with its id.
 */
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import {
  type CreateTopicsRequestCreatableTopic as CreatableTopic,
  CreateTopics,
  type CreateTopicsResponseCreatableTopicResultInput as TopicResult,
} from '../../protocol/generated/create-topics.js';
import { ZERO_UUID } from '../../protocol/uuid.js';
import type { BrokerContext } from '../broker-context.js';
import { defineHandler } from '../handler.js';
import { describeTopicConfigs } from '../topic-config-view.js';
import { validateTopicConfigs } from '../topic-configs.js';

function result(name: string, errorCode: number, errorMessage: string | null = null): TopicResult {
  return {
    name,
    topicId: ZERO_UUID,
    errorCode,
    errorMessage,
    topicConfigErrorCode: ErrorCode.NONE,
    numPartitions: -1,
    replicationFactor: -1,
    configs: null,
  };
}

function checkTopic(broker: BrokerContext, t: CreatableTopic): { partitions: number; configs: Record<string, string> } {
  broker.topics.checkCreatable(t.name);
  const fail = (code: number, msg: string) => new KafkaError(code, msg);
  if (t.assignments.length > 0) {
    if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
      throw fail(ErrorCode.INVALID_REQUEST, 'give either assignments or numPartitions/replicationFactor, not both');
    }
    const indexes = t.assignments.map((a) => a.partitionIndex).sort((a, b) => a - b);
    indexes.forEach((index, i) => {
      if (index !== i) throw fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'partitions must be numbered 0..n-1');
    });
    for (const a of t.assignments) {
      if (a.brokerIds.length !== 1 || a.brokerIds[0] !== broker.nodeId) {
        throw fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `replicas can only be on broker ${broker.nodeId}`);
      }
    }
  } else {
    if (t.numPartitions === 0 || t.numPartitions < -1) {
      throw fail(ErrorCode.INVALID_PARTITIONS, `number of partitions must be at least 1, got ${t.numPartitions}`);
    }
    if (t.replicationFactor !== -1 && t.replicationFactor !== 1) {
      throw fail(
        ErrorCode.INVALID_REPLICATION_FACTOR,
        `replication factor ${t.replicationFactor} is larger than the 1 broker available`,
      );
    }
  }
  const configs: Record<string, string> = {};
  for (const c of t.configs) if (c.value !== null) configs[c.name] = c.value;
  validateTopicConfigs(configs);
  const partitions =
    t.assignments.length > 0
      ? t.assignments.length
      : t.numPartitions === -1
        ? broker.config.number('num.partitions')
        : t.numPartitions;
  return { partitions, configs };
}

export default defineHandler({
  codec: CreateTopics,
  minVersion: 2,
  maxVersion: CreateTopics.maxStableVersion,
  async handle(req, ctx) {
    const { broker } = ctx;
    const seen = new Map<string, number>();
    for (const t of req.topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
    const topics: TopicResult[] = [];
    for (const t of req.topics) {
      if ((seen.get(t.name) ?? 0) > 1) {
        topics.push(result(t.name, ErrorCode.INVALID_REQUEST, 'topic named more than once in the request'));
        continue;
      }
      try {
        const { partitions, configs } = checkTopic(broker, t);
        if (req.validateOnly) {
          broker.partitions.checkPartitionLimit(partitions, `creating topic "${t.name}" with ${partitions} partitions`);
        }
        const info = req.validateOnly
          ? { topicId: ZERO_UUID, name: t.name }
          : await broker.partitions.createTopic(t.name, partitions, configs);
        topics.push({
          ...result(t.name, ErrorCode.NONE),
          topicId: info.topicId,
          numPartitions: partitions,
          replicationFactor: 1,
          configs: describeTopicConfigs(broker, configs).map((c) => ({
            name: c.name,
            value: c.value,
            readOnly: c.readOnly,
            configSource: c.configSource,
            isSensitive: c.isSensitive,
          })),
        });
      } catch (err) {
        if (!(err instanceof KafkaError)) throw err;
        topics.push(result(t.name, err.errorCode, err.message));
      }
    }
    return { throttleTimeMs: 0, topics };
  },
  errorResponse(req, errorCode) {
    return { throttleTimeMs: 0, topics: req.topics.map((t) => result(t.name, errorCode)) };
  },
});
