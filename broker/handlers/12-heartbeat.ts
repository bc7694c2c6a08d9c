/**
 * Heartbeat (key 12), v0-4. Keeps a classic member's session alive and tells it when to rejoin
 * (REBALANCE_IN_PROGRESS), or that it is gone (UNKNOWN_MEMBER_ID), behind (ILLEGAL_GENERATION) or fenced by a
 * newer incarnation of its static instance (FENCED_INSTANCE_ID). GroupInstanceId from v3.
 */
import { Heartbeat } from '../../protocol/generated/heartbeat.js';
import { defineHandler } from '../handler.js';

export default defineHandler({
  codec: Heartbeat,
  minVersion: 0,
  maxVersion: 4,
  handle(req, ctx) {
    const errorCode = ctx.broker.groups.heartbeat(
      req.groupId,
      req.memberId,
      req.groupInstanceId ?? null,
      req.generationId,
    );
    return { throttleTimeMs: 0, errorCode };
  },
  errorResponse: (_req, errorCode) => ({ throttleTimeMs: 0, errorCode }),
});
