/**
 * DescribeCluster (key 60), v0-2. One broker (this one), which is also the controller we name: a single Berth
 * node plays both roles. v1+ carries an endpoint type: brokers (1) is answered; controllers (2) is
 * UNSUPPORTED_ENDPOINT_TYPE, as a Kafka broker answers it (clients must ask a controller for that). v2 reports
 * fencing (never fenced here). Authorized operations are not computed (no ACLs yet): the "omitted" value.
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import { DescribeCluster, type DescribeClusterResponseInput } from '../../protocol/generated/describe-cluster.js';
import { defineHandler, type RequestContext } from '../handler.js';

const ENDPOINT_BROKERS = 1;
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

function response(ctx: RequestContext, errorCode: number, errorMessage: string | null): DescribeClusterResponseInput {
  const { broker, version } = ctx;
  const { host, port } = broker.advertisedEndpoint(ctx.client);
  const ok = errorCode === ErrorCode.NONE;
  return {
    throttleTimeMs: 0,
    errorCode,
    errorMessage,
    endpointType: version >= 1 ? ENDPOINT_BROKERS : undefined,
    clusterId: broker.clusterId,
    controllerId: ok ? broker.nodeId : -1,
    brokers: ok
      ? [{ brokerId: broker.nodeId, host, port, rack: null, isFenced: version >= 2 ? false : undefined }]
      : [],
    clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}

export default defineHandler({
  codec: DescribeCluster,
  minVersion: 0,
  maxVersion: DescribeCluster.maxStableVersion,
  handle(req, ctx) {
    if (ctx.version >= 1 && (req.endpointType ?? ENDPOINT_BROKERS) !== ENDPOINT_BROKERS) {
      return response(
        ctx,
        ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
        `endpoint type ${req.endpointType} is not served by a broker; only brokers (1) are`,
      );
    }
    return response(ctx, ErrorCode.NONE, null);
  },
  errorResponse: (_req, errorCode, ctx) => response(ctx, errorCode, null),
});
