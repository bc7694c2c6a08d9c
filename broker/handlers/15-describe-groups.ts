/**
 * DescribeGroups (key 15), v0-6. Per group: state, protocol type, the selected protocol (only when Stable, as
 * Kafka) and members, with their metadata for the selected protocol and assignment only when Stable. An unknown
 * group is reported in state Dead with NONE (v0-5) or GROUP_ID_NOT_FOUND (v6+, with an error message). Without
 * ACLs every group operation is authorized: READ, DELETE and DESCRIBE when asked for (v3+).
 */

import { ErrorCode as E } from '../../protocol/error-codes.js';
import {
  type DescribeGroupsResponseDescribedGroupInput as Described,
  DescribeGroups,
} from '../../protocol/generated/describe-groups.js';
import { defineHandler } from '../handler.js';

const NOT_REQUESTED = -2147483648;
const GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);

function empty(groupId: string, errorCode: number, state: string, version: number): Described {
  return {
    errorCode,
    errorMessage: version >= 6 && errorCode !== E.NONE ? `group ${groupId} is not known` : undefined,
    groupId,
    groupState: state,
    protocolType: '',
    protocolData: '',
    members: [],
  };
}

export default defineHandler({
  codec: DescribeGroups,
  minVersion: 0,
  maxVersion: 6,
  handle(req, ctx) {
    const v = ctx.version;
    const ops = v >= 3 && req.includeAuthorizedOperations ? GROUP_OPERATIONS : NOT_REQUESTED;
    return {
      throttleTimeMs: 0,
      groups: req.groups.map((groupId): Described => {
        if (groupId === '') return empty(groupId, E.INVALID_GROUP_ID, '', v);
        const g = ctx.broker.groups.describe(groupId);
        if (!g) return empty(groupId, v >= 6 ? E.GROUP_ID_NOT_FOUND : E.NONE, 'Dead', v);
        return {
          errorCode: E.NONE,
          groupId,
          groupState: g.state,
          protocolType: g.protocolType,
          protocolData: g.protocolName,
          authorizedOperations: ops,
          members: g.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: v >= 4 ? m.groupInstanceId : undefined,
            clientId: m.clientId,
            clientHost: m.clientHost,
            memberMetadata: m.metadata,
            memberAssignment: m.assignment,
          })),
        };
      }),
    };
  },
  errorResponse: (req, errorCode, ctx) => ({
    throttleTimeMs: 0,
    groups: req.groups.map((g) => empty(g, errorCode, '', ctx.version)),
  }),
});
