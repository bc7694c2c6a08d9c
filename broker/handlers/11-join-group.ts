/**
 * JoinGroup (key 11), v0-9, classic group protocol (broker/groups/classic-group.ts). v0 has no rebalance timeout
 * (the session timeout stands for it, as in Kafka). v4+ require a known member id (KIP-394): a member joining with
 * an empty id is given one with MEMBER_ID_REQUIRED and must join again with it; static members (v5+,
 * group.instance.id) are exempt. ProtocolType in the response from v7. A static leader rejoining a Stable group
 * with unchanged metadata gets the members without a rebalance, with SkipAssignment (v9+, KIP-814). Otherwise the
 * request parks until the rebalance's join phase completes.
 */
import { JoinGroup, type JoinGroupResponseInput } from '../../protocol/generated/join-group.js';
import type { JoinResult } from '../groups/classic-member.js';
import { defineHandler } from '../handler.js';

function toResponse(r: JoinResult, version: number): JoinGroupResponseInput {
  return {
    throttleTimeMs: 0,
    errorCode: r.errorCode,
    generationId: r.generationId,
    protocolType: version >= 7 ? r.protocolType : undefined,
    protocolName: r.protocolName ?? (version >= 7 ? null : ''),
    leader: r.leader,
    skipAssignment: version >= 9 ? (r.skipAssignment ?? false) : undefined,
    memberId: r.memberId,
    members: r.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: version >= 5 ? m.groupInstanceId : undefined,
      metadata: m.metadata,
    })),
  };
}

export default defineHandler({
  codec: JoinGroup,
  minVersion: 0,
  maxVersion: 9,
  async handle(req, ctx) {
    const result = await ctx.broker.groups.join(req.groupId, {
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId ?? null,
      clientId: ctx.header.clientId ?? '',
      clientHost: `/${ctx.client.remoteAddress}`,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: ctx.version >= 1 ? (req.rebalanceTimeoutMs ?? req.sessionTimeoutMs) : req.sessionTimeoutMs,
      protocolType: req.protocolType,
      // Copies: the request frame is not retained for as long as the member lives.
      protocols: req.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
      requireKnownMemberId: ctx.version >= 4,
    });
    return toResponse(result, ctx.version);
  },
  errorResponse(req, errorCode, ctx) {
    return toResponse(
      {
        errorCode,
        generationId: -1,
        protocolType: null,
        protocolName: null,
        leader: '',
        memberId: req.memberId,
        members: [],
      },
      ctx.version,
    );
  },
});
