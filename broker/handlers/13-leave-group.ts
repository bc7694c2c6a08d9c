/**
 * LeaveGroup (key 13), v0-5. v0-2 name one member by id and answer with one error code; v3+ batch members by id
 * and/or group.instance.id (KIP-345) and answer per member. Leaving starts a rebalance for the members left.
 */
import {
  LeaveGroup,
  type LeaveGroupRequest,
  type LeaveGroupResponseInput,
} from '../../protocol/generated/leave-group.js';
import { defineHandler } from '../handler.js';

function who(req: LeaveGroupRequest, version: number) {
  if (version < 3) return [{ memberId: req.memberId ?? '', groupInstanceId: null }];
  return (req.members ?? []).map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? null }));
}

function respond(req: LeaveGroupRequest, version: number, errorCode: number, memberCodes: number[]) {
  const res: LeaveGroupResponseInput = { throttleTimeMs: 0, errorCode };
  if (version < 3) res.errorCode = errorCode !== 0 ? errorCode : (memberCodes[0] ?? 0);
  else
    res.members = who(req, version).map((m, i) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      errorCode: memberCodes[i] ?? errorCode,
    }));
  return res;
}

export default defineHandler({
  codec: LeaveGroup,
  minVersion: 0,
  maxVersion: 5,
  handle(req, ctx) {
    const r = ctx.broker.groups.leave(req.groupId, who(req, ctx.version));
    return respond(req, ctx.version, r.errorCode, r.memberCodes);
  },
  errorResponse: (req, errorCode, ctx) => respond(req, ctx.version, errorCode, []),
});
