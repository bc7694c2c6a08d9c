/**
 * ConsumerGroupDescribe (key 69), v0-1: KIP-848 groups with their epochs, assignor, and each member's current and
 * target assignment. A classic group or an unknown id answers GROUP_ID_NOT_FOUND. MemberType (v1) is 1: every
 * member of a consumer group here speaks the consumer protocol (no classic members in consumer groups).
 */

import { ErrorCode as E } from '../../protocol/error-codes.js';
import {
  ConsumerGroupDescribe,
  type ConsumerGroupDescribeResponseDescribedGroupInput as Described,
} from '../../protocol/generated/consumer-group-describe.js';
import { defineHandler } from '../handler.js';

const NOT_REQUESTED = -2147483648;
const GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);

function missing(groupId: string, errorCode: number, message: string | null): Described {
  return {
    errorCode,
    errorMessage: message,
    groupId,
    groupState: '',
    groupEpoch: -1,
    assignmentEpoch: -1,
    assignorName: '',
    members: [],
    authorizedOperations: NOT_REQUESTED,
  };
}

export default defineHandler({
  codec: ConsumerGroupDescribe,
  minVersion: 0,
  maxVersion: 1,
  handle(req, ctx) {
    return {
      throttleTimeMs: 0,
      groups: req.groupIds.map((groupId): Described => {
        const g = ctx.broker.groups.consumerGroup(groupId);
        if (!g) return missing(groupId, E.GROUP_ID_NOT_FOUND, `${groupId} is not a consumer group`);
        return {
          errorCode: E.NONE,
          errorMessage: null,
          groupId,
          groupState: g.state,
          groupEpoch: g.groupEpoch,
          assignmentEpoch: g.assignmentEpoch,
          assignorName: g.assignorName,
          authorizedOperations: req.includeAuthorizedOperations ? GROUP_OPERATIONS : NOT_REQUESTED,
          members: [...g.members.values()].map((m) => ({
            memberId: m.memberId,
            instanceId: m.instanceId,
            rackId: m.rackId,
            memberEpoch: m.memberEpoch,
            clientId: m.clientId,
            clientHost: m.clientHost,
            subscribedTopicNames: m.subscribedTopicNames,
            subscribedTopicRegex: null,
            assignment: { topicPartitions: g.describeAssignment(m.assigned) },
            targetAssignment: { topicPartitions: g.describeAssignment(g.targetOf(m.memberId)) },
            memberType: ctx.version >= 1 ? 1 : undefined,
          })),
        };
      }),
    };
  },
  errorResponse: (req, errorCode) => ({
    throttleTimeMs: 0,
    groups: req.groupIds.map((g) => missing(g, errorCode, null)),
  }),
});
