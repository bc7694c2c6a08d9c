/**
 * SyncGroup (key 14), v0-5. The leader's request carries every member's assignment; followers park until it
 * arrives (or the rebalance is abandoned, REBALANCE_IN_PROGRESS). In Stable a member gets its current assignment.
 * v5+ name the protocol type and name, checked against the group's (INCONSISTENT_GROUP_PROTOCOL), and receive them.
 */
import { SyncGroup, type SyncGroupResponseInput } from '../../protocol/generated/sync-group.js';
import type { SyncResult } from '../groups/classic-member.js';
import { defineHandler } from '../handler.js';

function toResponse(r: SyncResult, version: number): SyncGroupResponseInput {
  const res: SyncGroupResponseInput = { throttleTimeMs: 0, errorCode: r.errorCode, assignment: r.assignment };
  if (version >= 5) {
    res.protocolType = r.protocolType;
    res.protocolName = r.protocolName;
  }
  return res;
}

export default defineHandler({
  codec: SyncGroup,
  minVersion: 0,
  maxVersion: 5,
  async handle(req, ctx) {
    const result = await ctx.broker.groups.sync(req.groupId, {
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId ?? null,
      generationId: req.generationId,
      protocolType: ctx.version >= 5 ? (req.protocolType ?? null) : null,
      protocolName: ctx.version >= 5 ? (req.protocolName ?? null) : null,
      assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: Buffer.from(a.assignment) })),
    });
    return toResponse(result, ctx.version);
  },
  errorResponse: (_req, errorCode, ctx) =>
    toResponse({ errorCode, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) }, ctx.version),
});
