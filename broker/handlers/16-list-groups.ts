/**
 * ListGroups (key 16), v0-5. Every group this coordinator knows (classic groups: members, metadata or offsets).
 * v4+ filter by state (case-insensitive, as Kafka) and report it; v5+ filter by type ("classic"; "consumer" is
 * the KIP-848 type, of which there are none) and report it.
 */

import { ErrorCode as E } from '../../protocol/error-codes.js';
import { ListGroups, type ListGroupsResponseInput } from '../../protocol/generated/list-groups.js';
import { defineHandler } from '../handler.js';

export default defineHandler({
  codec: ListGroups,
  minVersion: 0,
  maxVersion: 5,
  handle(req, ctx) {
    const v = ctx.version;
    const states = v >= 4 ? new Set((req.statesFilter ?? []).map((s) => s.toLowerCase())) : new Set<string>();
    const types = v >= 5 ? new Set((req.typesFilter ?? []).map((s) => s.toLowerCase())) : new Set<string>();
    const res: ListGroupsResponseInput = {
      throttleTimeMs: 0,
      errorCode: ctx.broker.closing ? E.COORDINATOR_NOT_AVAILABLE : E.NONE,
      groups: ctx.broker.groups
        .list()
        .filter((g) => states.size === 0 || states.has(g.state.toLowerCase()))
        .filter((g) => types.size === 0 || types.has(g.groupType))
        .sort((a, b) => a.groupId.localeCompare(b.groupId))
        .map((g) => ({
          groupId: g.groupId,
          protocolType: g.protocolType,
          groupState: v >= 4 ? g.state : undefined,
          groupType: v >= 5 ? g.groupType : undefined,
        })),
    };
    return res;
  },
  errorResponse: (_req, errorCode) => ({ throttleTimeMs: 0, errorCode, groups: [] }),
});
