/**
 * FindCoordinator (key 10), v0-6. This broker coordinates every group, so a group key is answered with our own
 * advertised endpoint. Transaction keys (key type 1) get COORDINATOR_NOT_AVAILABLE with a message saying that
 * transactions are not served (Kafka's own answer while its transaction state is unavailable); share keys (2) and
 * unknown key types get INVALID_REQUEST. v0-3 name one key; v4+ batch keys in `coordinatorKeys` and answer one
 * entry per key. ErrorMessage exists from v1, KeyType from v1 (v0 is always a group).
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import {
  type FindCoordinatorResponseCoordinatorInput as Coordinator,
  FindCoordinator,
  type FindCoordinatorRequest,
  type FindCoordinatorResponseInput,
} from '../../protocol/generated/find-coordinator.js';
import type { RequestContext } from '../handler.js';
import { defineHandler } from '../handler.js';

const GROUP = 0;
const TRANSACTION = 1;

function answer(key: string, keyType: number, ctx: RequestContext): Coordinator {
  const none = { key, nodeId: -1, host: '', port: -1 };
  if (keyType === TRANSACTION)
    return {
      ...none,
      errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
      errorMessage: 'transactions are not served by this broker',
    };
  if (keyType !== GROUP)
    return { ...none, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `key type ${keyType} is not served` };
  if (ctx.broker.closing)
    return { ...none, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: 'the broker is stopping' };
  const { host, port } = ctx.broker.advertisedEndpoint(ctx.client);
  return { key, nodeId: ctx.broker.nodeId, host, port, errorCode: ErrorCode.NONE, errorMessage: null };
}

function respond(req: FindCoordinatorRequest, version: number, each: (key: string) => Coordinator) {
  if (version >= 4) return { throttleTimeMs: 0, coordinators: (req.coordinatorKeys ?? []).map(each) };
  const c = each(req.key ?? '');
  const res: FindCoordinatorResponseInput = { errorCode: c.errorCode, nodeId: c.nodeId, host: c.host, port: c.port };
  if (version >= 1) {
    res.throttleTimeMs = 0;
    res.errorMessage = c.errorMessage;
  }
  return res;
}

export default defineHandler({
  codec: FindCoordinator,
  minVersion: 0,
  maxVersion: 6,
  handle(req, ctx) {
    const keyType = ctx.version >= 1 ? (req.keyType ?? GROUP) : GROUP;
    return respond(req, ctx.version, (key) => answer(key, keyType, ctx));
  },
  errorResponse(req, errorCode, ctx) {
    return respond(req, ctx.version, (key) => ({ key, nodeId: -1, host: '', port: -1, errorCode, errorMessage: null }));
  },
});
