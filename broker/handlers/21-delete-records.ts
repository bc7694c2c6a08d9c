/**
 * DeleteRecords (key 21), v0-2. Per partition, moves the log start offset to the requested offset (-1 means the
 * high watermark) and answers the new low watermark; sealed segments wholly below it are deleted, and the new log
 * start offset is checkpointed before the answer. An offset below the current log start offset changes nothing;
 * one beyond the high watermark, or negative other than -1, is OFFSET_OUT_OF_RANGE. v2 is flexible.
 */
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import {
  DeleteRecords,
  type DeleteRecordsRequest,
  type DeleteRecordsResponseInput,
  type DeleteRecordsResponseDeleteRecordsPartitionResultInput as PartitionResult,
} from '../../protocol/generated/delete-records.js';
import { defineHandler } from '../handler.js';

const HIGH_WATERMARK = -1n;

function partitionResult(partitionIndex: number, errorCode: number, lowWatermark = -1n): PartitionResult {
  return { partitionIndex, lowWatermark, errorCode };
}

function errorResponse(req: DeleteRecordsRequest, errorCode: number): DeleteRecordsResponseInput {
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => partitionResult(p.partitionIndex, errorCode)),
    })),
  };
}

export default defineHandler({
  codec: DeleteRecords,
  minVersion: 0,
  maxVersion: DeleteRecords.maxStableVersion,
  async handle(req, ctx) {
    const { broker } = ctx;
    const topics = [];
    for (const t of req.topics) {
      const partitions: PartitionResult[] = [];
      for (const p of t.partitions) {
        const partition = broker.partitions.get(t.name, p.partitionIndex);
        if (!partition) {
          partitions.push(partitionResult(p.partitionIndex, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
          continue;
        }
        const log = partition.log;
        const highWatermark = BigInt(log.writtenOffset);
        const target = p.offset === HIGH_WATERMARK ? highWatermark : p.offset;
        if (target < 0n || target > highWatermark) {
          partitions.push(partitionResult(p.partitionIndex, ErrorCode.OFFSET_OUT_OF_RANGE));
          continue;
        }
        try {
          const low = await broker.partitions.logs.deleteRecordsBefore(t.name, p.partitionIndex, Number(target));
          partitions.push(partitionResult(p.partitionIndex, ErrorCode.NONE, BigInt(low)));
        } catch (err) {
          if (!(err instanceof KafkaError)) throw err;
          partitions.push(partitionResult(p.partitionIndex, err.errorCode));
        }
      }
      topics.push({ name: t.name, partitions });
    }
    return { throttleTimeMs: 0, topics };
  },
  errorResponse: (req, errorCode) => errorResponse(req, errorCode),
});
