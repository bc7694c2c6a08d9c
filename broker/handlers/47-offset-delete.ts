/**
 * OffsetDelete (key 47), v0. Deletes a group's committed offsets for the named partitions. Group level:
 * GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP (a non-consumer group with members). Per partition:
 * GROUP_SUBSCRIBED_TO_TOPIC when a member of the (consumer) group subscribes to the topic,
 * UNKNOWN_TOPIC_OR_PARTITION for partitions that do not exist.
 */

import { ErrorCode as E } from '../../protocol/error-codes.js';
import {
  OffsetDelete,
  type OffsetDeleteRequest,
  type OffsetDeleteResponseInput,
} from '../../protocol/generated/offset-delete.js';
import { defineHandler } from '../handler.js';

function respond(
  req: OffsetDeleteRequest,
  errorCode: number,
  codes: (t: string, p: number) => number,
): OffsetDeleteResponseInput {
  return {
    errorCode,
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        errorCode: codes(t.name, p.partitionIndex),
      })),
    })),
  };
}

export default defineHandler({
  codec: OffsetDelete,
  minVersion: 0,
  maxVersion: 0,
  async handle(req, ctx) {
    const { broker } = ctx;
    const exists = (t: string, p: number) => {
      const topic = broker.topics.get(t);
      return topic !== undefined && p >= 0 && p < topic.partitions;
    };
    const asked: Array<[string, number]> = [];
    for (const t of req.topics)
      for (const p of t.partitions) if (exists(t.name, p.partitionIndex)) asked.push([t.name, p.partitionIndex]);
    const r = await broker.groups.deleteOffsets(req.groupId, asked);
    if (r.errorCode !== E.NONE) return respond(req, r.errorCode, () => E.NONE);
    const byKey = new Map(asked.map(([t, p], i) => [`${t}:${p}`, r.partitionCodes[i]]));
    return respond(req, E.NONE, (t, p) => byKey.get(`${t}:${p}`) ?? E.UNKNOWN_TOPIC_OR_PARTITION);
  },
  errorResponse: (req, errorCode) => respond(req, errorCode, () => E.NONE),
});
