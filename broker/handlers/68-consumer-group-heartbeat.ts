/**
 * ConsumerGroupHeartbeat (key 68), v0-1: KIP-848 consumer groups with broker-side assignment
 * (broker/groups/consumer-group.ts; assignors "uniform" (default) and "range"). v0 lets the broker name a joining
 * member; v1 requires the client to send its own member id. Regex subscriptions are refused (INVALID_REQUEST).
 * A group id that is a non-empty classic group answers GROUP_ID_NOT_FOUND.
 */

import { ErrorCode as E } from '../../protocol/error-codes.js';
import { ConsumerGroupHeartbeat } from '../../protocol/generated/consumer-group-heartbeat.js';
import { defineHandler } from '../handler.js';

export default defineHandler({
  codec: ConsumerGroupHeartbeat,
  minVersion: 0,
  maxVersion: 1,
  async handle(req, ctx) {
    const error = (errorCode: number, errorMessage: string) => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      memberId: null,
      memberEpoch: -1,
      heartbeatIntervalMs: 0,
      assignment: null,
    });
    if (req.subscribedTopicRegex) return error(E.INVALID_REQUEST, 'regex subscriptions are not served');
    const r = await ctx.broker.groups.consumerHeartbeat(req.groupId, {
      memberId: req.memberId,
      memberEpoch: req.memberEpoch,
      instanceId: req.instanceId ?? null,
      rackId: req.rackId ?? null,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs ?? -1,
      subscribedTopicNames: req.subscribedTopicNames ?? null,
      serverAssignor: req.serverAssignor ?? null,
      topicPartitions: req.topicPartitions ?? null,
      clientId: ctx.header.clientId ?? '',
      clientHost: `/${ctx.client.remoteAddress}`,
      brokerAssignsMemberId: ctx.version === 0,
    });
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      errorMessage: r.errorMessage,
      memberId: r.memberId,
      memberEpoch: r.memberEpoch,
      heartbeatIntervalMs: r.heartbeatIntervalMs,
      assignment: r.assignment === null ? null : { topicPartitions: r.assignment },
    };
  },
  errorResponse: (_req, errorCode) => ({
    throttleTimeMs: 0,
    errorCode,
    errorMessage: null,
    memberId: null,
    memberEpoch: -1,
    heartbeatIntervalMs: 0,
    assignment: null,
  }),
});
