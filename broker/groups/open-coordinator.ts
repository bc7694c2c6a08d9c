/** Opens the broker's group coordinator from broker configuration (Kafka's property names). */
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config.js';
import { GroupCoordinator } from './group-coordinator.js';

export function openGroupCoordinator(dir: string, config: BrokerConfig, log: Logger): Promise<GroupCoordinator> {
  return GroupCoordinator.open({
    dir,
    log,
    config: {
      initialRebalanceDelayMs: config.number('group.initial.rebalance.delay.ms'),
      minSessionTimeoutMs: config.number('group.min.session.timeout.ms'),
      maxSessionTimeoutMs: config.number('group.max.session.timeout.ms'),
      maxSize: config.number('group.max.size'),
      offsetsRetentionMs: config.number('offsets.retention.minutes') * 60_000,
      offsetsRetentionCheckIntervalMs: config.number('offsets.retention.check.interval.ms'),
    },
  });
}
