/**
 * What handlers may use of the broker. Broker implements it; handlers depend on this interface only, which keeps
 * them testable and keeps the wiring in one file.
 */
import type { Logger } from 'pino';
import type { BrokerConfig } from './config.js';
import type { ClientInfo } from './connection.js';
import type { FetchWaiters } from './fetch-waiters.js';
import type { GroupCoordinator } from './groups/group-coordinator.js';
import type { ApiHandler } from './handler.js';
import type { BrokerMetrics } from './metrics.js';
import type { PartitionRegistry } from './partition-registry.js';
import type { TopicRegistry } from './topic-registry.js';

export interface BrokerContext {
  readonly config: BrokerConfig;
  readonly nodeId: number;
  readonly clusterId: string;
  readonly log: Logger;
  readonly metrics: BrokerMetrics;
  readonly topics: TopicRegistry;
  readonly partitions: PartitionRegistry;
  readonly fetchWaiters: FetchWaiters;
  /** Consumer groups and committed offsets (broker/groups/). */
  readonly groups: GroupCoordinator;
  /** True once shutdown has begun: long polls return at once. */
  readonly closing: boolean;
  /** The handlers by API key (ApiVersions answers from it). */
  readonly handlers: ReadonlyMap<number, ApiHandler>;
  /** Where clients should connect: advertised.listeners, else the address this client reached us at. */
  advertisedEndpoint(client: ClientInfo | null): { host: string; port: number };
}
