/**
 * DeleteTopics (key 20), v1-6. Topics are named (v0-5) or given by name or id (v6+). A topic is removed from the
 * catalogue, then its partition directories are renamed `*-delete` and removed, as Kafka does.
 */
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import {
  DeleteTopics,
  type DeleteTopicsRequest,
  type DeleteTopicsResponseDeletableTopicResultInput as TopicResult,
} from '../../protocol/generated/delete-topics.js';
import { ZERO_UUID } from '../../protocol/uuid.js';
import { defineHandler } from '../handler.js';

function targets(req: DeleteTopicsRequest, version: number): Array<{ name: string | null; topicId: string }> {
  if (version >= 6) return (req.topics ?? []).map((t) => ({ name: t.name ?? null, topicId: t.topicId }));
  return (req.topicNames ?? []).map((name) => ({ name, topicId: ZERO_UUID }));
}

export default defineHandler({
  codec: DeleteTopics,
  minVersion: 1,
  maxVersion: DeleteTopics.maxStableVersion,
  async handle(req, ctx) {
    const { broker } = ctx;
    const responses: TopicResult[] = [];
    for (const t of targets(req, ctx.version)) {
      const byId = t.name === null || t.name === '';
      const topic = byId ? broker.topics.getById(t.topicId) : broker.topics.get(t.name!);
      if (!topic) {
        const code = byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        responses.push({ name: t.name, topicId: t.topicId, errorCode: code, errorMessage: null });
        continue;
      }
      try {
        await broker.partitions.deleteTopic(topic.name);
        broker.metrics.forgetTopic(topic.name);
        responses.push({ name: topic.name, topicId: topic.topicId, errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (err) {
        if (!(err instanceof KafkaError)) throw err;
        responses.push({
          name: topic.name,
          topicId: topic.topicId,
          errorCode: err.errorCode,
          errorMessage: err.message,
        });
      }
    }
    return { throttleTimeMs: 0, responses };
  },
  errorResponse(req, errorCode, ctx) {
    return {
      throttleTimeMs: 0,
      responses: targets(req, ctx.version).map((t) => ({
        name: t.name,
        topicId: t.topicId,
        errorCode,
        errorMessage: null,
      })),
    };
  },
});
