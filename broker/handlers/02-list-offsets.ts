/**
 * ListOffsets (key 2), v1-6. Timestamp -1 is the latest offset (the high watermark; the last stable offset for
 * read_committed, the same while transactions are not served), -2 the earliest (log start offset); any other
 * timestamp finds the first offset whose record timestamp is at or after it, through the time index
 * (offset -1 when there is none). v7's max-timestamp lookup is not served yet, so v7+ is not advertised.
 */
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import {
  ListOffsets,
  type ListOffsetsRequest,
  type ListOffsetsResponseInput,
  type ListOffsetsResponseListOffsetsPartitionResponseInput as PartitionResponse,
} from '../../protocol/generated/list-offsets.js';
import { defineHandler } from '../handler.js';

const LATEST = -1n;
const EARLIEST = -2n;

function partitionError(partitionIndex: number, errorCode: number): PartitionResponse {
  return { partitionIndex, errorCode, timestamp: -1n, offset: -1n, leaderEpoch: -1 };
}

function errorResponse(req: ListOffsetsRequest, errorCode: number): ListOffsetsResponseInput {
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => partitionError(p.partitionIndex, errorCode)),
    })),
  };
}

export default defineHandler({
  codec: ListOffsets,
  minVersion: 1,
  maxVersion: 6,
  async handle(req, ctx) {
    const { broker } = ctx;
    const topics = await Promise.all(
      req.topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(
          t.partitions.map(async (p): Promise<PartitionResponse> => {
            const partition = broker.partitions.get(t.name, p.partitionIndex);
            if (!partition) return partitionError(p.partitionIndex, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
            const requestedEpoch = p.currentLeaderEpoch ?? -1;
            if (requestedEpoch >= 0 && requestedEpoch !== partition.leaderEpoch) {
              const code =
                requestedEpoch > partition.leaderEpoch ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.FENCED_LEADER_EPOCH;
              return partitionError(p.partitionIndex, code);
            }
            const log = partition.log;
            const ok = (offset: number, timestamp: bigint): PartitionResponse => ({
              partitionIndex: p.partitionIndex,
              errorCode: ErrorCode.NONE,
              timestamp,
              offset: BigInt(offset),
              // LeaderEpoch exists from v4; older versions must carry its default.
              leaderEpoch: ctx.version >= 4 ? partition.leaderEpoch : -1,
            });
            try {
              if (p.timestamp === LATEST) return ok(log.writtenOffset, -1n);
              if (p.timestamp === EARLIEST) return ok(log.logStartOffset, -1n);
              if (p.timestamp < 0n) return partitionError(p.partitionIndex, ErrorCode.UNSUPPORTED_VERSION);
              const found = await log.readByTimestamp(Number(p.timestamp));
              if (!found) return partitionError(p.partitionIndex, ErrorCode.NONE);
              return ok(found.offset, BigInt(found.timestamp));
            } catch (err) {
              if (!(err instanceof KafkaError)) throw err;
              return partitionError(p.partitionIndex, err.errorCode);
            }
          }),
        ),
      })),
    );
    return { throttleTimeMs: 0, topics };
  },
  errorResponse: (req, errorCode) => errorResponse(req, errorCode),
});
