/**
 * The handler registry: every API this broker serves, by key. ApiVersions answers from this map, so adding a
 * handler file here is all it takes to advertise it.
 */
import type { ApiHandler } from '../handler.js';
import produce from './00-produce.js';
import fetch from './01-fetch.js';
import listOffsets from './02-list-offsets.js';
import metadata from './03-metadata.js';
// Consumer groups and offsets (broker/groups/).
import offsetCommit from './08-offset-commit.js';
import offsetFetch from './09-offset-fetch.js';
import findCoordinator from './10-find-coordinator.js';
import joinGroup from './11-join-group.js';
import heartbeat from './12-heartbeat.js';
import leaveGroup from './13-leave-group.js';
import syncGroup from './14-sync-group.js';
import describeGroups from './15-describe-groups.js';
import listGroups from './16-list-groups.js';
import apiVersions from './18-api-versions.js';
import createTopics from './19-create-topics.js';
import deleteTopics from './20-delete-topics.js';
import deleteGroups from './42-delete-groups.js';
import offsetDelete from './47-offset-delete.js';
import consumerGroupHeartbeat from './68-consumer-group-heartbeat.js';
import consumerGroupDescribe from './69-consumer-group-describe.js';

const groupHandlers = [
  offsetCommit,
  offsetFetch,
  findCoordinator,
  joinGroup,
  heartbeat,
  leaveGroup,
  syncGroup,
  describeGroups,
  listGroups,
  deleteGroups,
  offsetDelete,
  consumerGroupHeartbeat,
  consumerGroupDescribe,
] as ApiHandler[];

export function loadHandlers(): ReadonlyMap<number, ApiHandler> {
  const all = [
    ...([produce, fetch, listOffsets, metadata, apiVersions, createTopics, deleteTopics] as ApiHandler[]),
    ...groupHandlers,
  ];
  const map = new Map<number, ApiHandler>();
  for (const h of all) {
    if (map.has(h.codec.apiKey)) throw new Error(`two handlers for api key ${h.codec.apiKey}`);
    map.set(h.codec.apiKey, h);
  }
  return map;
}
