/**
 * InitProducerId (key 22), v0-5, for idempotent producers. A request without a transactional id gets a new producer
 * id (from the durable allocator in producer-ids.ts: ids are never reused, even after kill -9) at epoch 0.
 * v3+ (KIP-360): a producer that names its current id and epoch gets the same id with the epoch bumped (a new id at
 * epoch 0 when the epoch is exhausted, or when the id was never handed out here), which fences its older epoch on
 * every partition. Naming one of the two without the other is INVALID_REQUEST. (Kafka's own broker ignores the
 * pair for non-transactional producers and always hands out a new id; bumping keeps the id stable and has the
 * same effect for the client.)
 *
 * Transactions are not served yet. A transactional id is answered with TRANSACTIONAL_ID_AUTHORIZATION_FAILED: the
 * response has no room for a message, and the retriable COORDINATOR_NOT_AVAILABLE / NOT_COORDINATOR would make
 * clients retry forever, while this error is fatal in every client, so a transactional producer fails at start-up
 * instead of hanging. v6 (two-phase commit) is not stable in the specs and not served.
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import { InitProducerId, type InitProducerIdResponseInput } from '../../protocol/generated/init-producer-id.js';
import type { LogManager } from '../../storage/log-manager.js';
import type { BrokerContext } from '../broker-context.js';
import { defineHandler } from '../handler.js';
import { ProducerIdManager } from '../producer-ids.js';

const NO_PRODUCER_ID = -1n;
const NO_PRODUCER_EPOCH = -1;
/** Kafka bumps to a new producer id before the epoch reaches Short.MAX_VALUE. */
const MAX_EPOCH = 32767;

/** One allocator per running broker (its LogManager is created at start-up and dropped at stop). */
const allocators = new WeakMap<LogManager, ProducerIdManager>();

function allocator(broker: BrokerContext): ProducerIdManager {
  const logs = broker.partitions.logs;
  let ids = allocators.get(logs);
  if (!ids) {
    ids = ProducerIdManager.forDataDir(logs.dataDir);
    allocators.set(logs, ids);
  }
  return ids;
}

function response(
  errorCode: number,
  producerId = NO_PRODUCER_ID,
  producerEpoch = NO_PRODUCER_EPOCH,
): InitProducerIdResponseInput {
  return { throttleTimeMs: 0, errorCode, producerId, producerEpoch };
}

export default defineHandler({
  codec: InitProducerId,
  minVersion: 0,
  maxVersion: InitProducerId.maxStableVersion,
  async handle(req, ctx) {
    if (req.transactionalId !== null) return response(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    const producerId = req.producerId ?? NO_PRODUCER_ID;
    const producerEpoch = req.producerEpoch ?? NO_PRODUCER_EPOCH;
    const named = producerId !== NO_PRODUCER_ID;
    if (named !== (producerEpoch !== NO_PRODUCER_EPOCH)) return response(ErrorCode.INVALID_REQUEST);
    if (named && (producerId < 0n || producerEpoch < 0)) return response(ErrorCode.INVALID_REQUEST);
    const ids = allocator(ctx.broker);
    // Only an id this broker handed out is bumped: bumping a made-up id would fence whoever gets it later.
    if (named && producerEpoch + 1 < MAX_EPOCH && ids.wasIssued(producerId)) {
      return response(ErrorCode.NONE, producerId, producerEpoch + 1);
    }
    return response(ErrorCode.NONE, await ids.generate(), 0);
  },
  errorResponse: (_req, errorCode) => response(errorCode),
});
