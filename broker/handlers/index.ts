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

export function loadHandlers(): ReadonlyMap<number, ApiHandler> {
  const all = [produce, fetch, listOffsets, metadata, apiVersions, createTopics, deleteTopics] as ApiHandler[];
  const map = new Map<number, ApiHandler>();
  for (const h of all) {
    if (map.has(h.codec.apiKey)) throw new Error(`two handlers for api key ${h.codec.apiKey}`);
    map.set(h.codec.apiKey, h);
  }
  return map;
}
