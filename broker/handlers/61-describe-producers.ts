/**
 * DescribeProducers (key 61), v0. Per partition, the producers its producer state knows (restored from snapshots
 * and the log after a restart): id, epoch, last sequence and the timestamp of its last batch. Transactions are not
 * served yet, so the coordinator epoch and the current transaction's start offset are always -1. Unknown
 * partitions are UNKNOWN_TOPIC_OR_PARTITION.
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import {
  DescribeProducers,
  type DescribeProducersRequest,
  type DescribeProducersResponseInput,
  type DescribeProducersResponsePartitionResponseInput as PartitionResponse,
} from '../../protocol/generated/describe-producers.js';
import { defineHandler } from '../handler.js';

function partitionError(
  partitionIndex: number,
  errorCode: number,
  errorMessage: string | null = null,
): PartitionResponse {
  return { partitionIndex, errorCode, errorMessage, activeProducers: [] };
}

function errorResponse(req: DescribeProducersRequest, errorCode: number): DescribeProducersResponseInput {
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((p) => partitionError(p, errorCode)),
    })),
  };
}

export default defineHandler({
  codec: DescribeProducers,
  minVersion: 0,
  maxVersion: DescribeProducers.maxStableVersion,
  handle(req, ctx) {
    const { broker } = ctx;
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((index): PartitionResponse => {
          const handle = broker.partitions.get(t.name, index);
          if (!handle) return partitionError(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
          return {
            ...partitionError(index, ErrorCode.NONE),
            activeProducers: handle.producers
              .describe()
              .sort((a, b) => (a.producerId < b.producerId ? -1 : a.producerId > b.producerId ? 1 : 0))
              .map((p) => ({
                producerId: p.producerId,
                producerEpoch: p.epoch,
                lastSequence: p.lastSequence,
                lastTimestamp: BigInt(p.lastTimestamp),
                coordinatorEpoch: -1,
                currentTxnStartOffset: -1n,
              })),
          };
        }),
      })),
    };
  },
  errorResponse: (req, errorCode) => errorResponse(req, errorCode),
});
