/**
 * The handler registry: every API this broker serves, by key. ApiVersions answers from this map, so adding a
 * handler file here is all it takes to advertise it.
 */
import type { ApiHandler } from '../handler.js';
import produce from './00-produce.js';
import fetch from './01-fetch.js';
import listOffsets from './02-list-offsets.js';
import metadata from './03-metadata.js';
import apiVersions from './18-api-versions.js';
import createTopics from './19-create-topics.js';
import deleteTopics from './20-delete-topics.js';
// Admin APIs and the idempotent producer (issue 4).
import deleteRecords from './21-delete-records.js';
import initProducerId from './22-init-producer-id.js';
import offsetForLeaderEpoch from './23-offset-for-leader-epoch.js';
import describeConfigs from './32-describe-configs.js';
import alterConfigs from './33-alter-configs.js';
import describeLogDirs from './35-describe-log-dirs.js';
import createPartitions from './37-create-partitions.js';
import incrementalAlterConfigs from './44-incremental-alter-configs.js';
import describeCluster from './60-describe-cluster.js';
import describeProducers from './61-describe-producers.js';
import describeTopicPartitions from './75-describe-topic-partitions.js';

const adminHandlers = [
  deleteRecords,
  initProducerId,
  offsetForLeaderEpoch,
  describeConfigs,
  alterConfigs,
  describeLogDirs,
  createPartitions,
  incrementalAlterConfigs,
  describeCluster,
  describeProducers,
  describeTopicPartitions,
] as ApiHandler[];

export function loadHandlers(): ReadonlyMap<number, ApiHandler> {
  const all = [produce, fetch, listOffsets, metadata, apiVersions, createTopics, deleteTopics] as ApiHandler[];
  all.push(...adminHandlers);
  const map = new Map<number, ApiHandler>();
  for (const h of all) {
    if (map.has(h.codec.apiKey)) throw new Error(`two handlers for api key ${h.codec.apiKey}`);
    map.set(h.codec.apiKey, h);
  }
  return map;
}
