/** Opens the broker's group coordinator from broker configuration (Kafka's property names). */
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config.js';
import type { TopicRegistry } from '../topic-registry.js';
import { GroupCoordinator } from './group-coordinator.js';

export function openGroupCoordinator(
  dir: string,
  config: BrokerConfig,
  log: Logger,
  topics: TopicRegistry,
): Promise<GroupCoordinator> {
  const view = (t: { topicId: string; name: string; partitions: number } | undefined) =>
    t ? { topicId: t.topicId, name: t.name, partitions: t.partitions } : undefined;
  return GroupCoordinator.open({
    dir,
    log,
    topics: { byName: (n) => view(topics.get(n)), byId: (id) => view(topics.getById(id)) },
    config: {
      initialRebalanceDelayMs: config.number('group.initial.rebalance.delay.ms'),
      minSessionTimeoutMs: config.number('group.min.session.timeout.ms'),
      maxSessionTimeoutMs: config.number('group.max.session.timeout.ms'),
      maxSize: config.number('group.max.size'),
      offsetsRetentionMs: config.number('offsets.retention.minutes') * 60_000,
      offsetsRetentionCheckIntervalMs: config.number('offsets.retention.check.interval.ms'),
      consumerSessionTimeoutMs: config.number('group.consumer.session.timeout.ms'),
      consumerHeartbeatIntervalMs: config.number('group.consumer.heartbeat.interval.ms'),
    },
  });
}
