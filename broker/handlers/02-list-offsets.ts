/**
 * ListOffsets (key 2), v1-11. Timestamp -1 is the latest offset (the high watermark; the last stable offset for
 * read_committed, the same while transactions are not served), -2 the earliest (log start offset), -3 (v7+) the
 * record with the largest timestamp (KIP-734), -4 (v8+) the earliest local offset (the log start offset: there is
 * no tiered storage), -5 and -6 (v9+, v11+: tiered offsets) -1 as Kafka answers without remote storage; any other
 * timestamp finds the first offset whose record timestamp is at or after it, through the time index (offset -1
 * when there is none).
 */
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import {
  ListOffsets,
  type ListOffsetsRequest,
  type ListOffsetsResponseInput,
  type ListOffsetsResponseListOffsetsPartitionResponseInput as PartitionResponse,
} from '../../protocol/generated/list-offsets.js';
import { decodeRecords } from '../../protocol/records/decode-records.js';
import { scanBatches } from '../../protocol/records/record-batch.js';
import type { PartitionLog } from '../../storage/partition-log.js';
import { defineHandler } from '../handler.js';

const LATEST = -1n;
const EARLIEST = -2n;
const MAX_TIMESTAMP = -3n;
const EARLIEST_LOCAL = -4n;
const LATEST_TIERED = -5n;
const EARLIEST_PENDING_UPLOAD = -6n;

/** The first version at which each special timestamp exists; older versions get UNSUPPORTED_VERSION. */
const SPECIAL_SINCE = new Map<bigint, number>([
  [MAX_TIMESTAMP, 7],
  [EARLIEST_LOCAL, 8],
  [LATEST_TIERED, 9],
  [EARLIEST_PENDING_UPLOAD, 11],
]);

/** The first record holding the partition's largest timestamp, as Kafka 3.8+ answers (the exact record). */
async function maxTimestampRecord(log: PartitionLog): Promise<{ offset: number; timestamp: number } | null> {
  let best: { offset: number; timestamp: number } | null = null;
  for (const seg of log.segments) {
    if (seg.maxTimestampSoFar > (best?.timestamp ?? -1)) {
      best = { offset: seg.offsetOfMaxTimestampSoFar, timestamp: seg.maxTimestampSoFar };
    }
  }
  if (!best || best.offset < log.logStartOffset) return best;
  // The segment knows the batch (its last offset); find the record inside it.
  const [range] = await log.read(best.offset, 1, { minOneBatch: true });
  if (!range) return best;
  const bytes = await log.readBytes(range);
  for (const b of scanBatches(bytes).batches) {
    if (Number(b.header.maxTimestamp) !== best.timestamp) continue;
    const hit = decodeRecords(bytes, b.position).find((r) => Number(r.timestamp) === best.timestamp);
    if (hit) return { offset: Number(hit.offset), timestamp: best.timestamp };
  }
  return best;
}

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
  maxVersion: ListOffsets.maxStableVersion,
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
              if (ctx.version < (SPECIAL_SINCE.get(p.timestamp) ?? 0)) {
                return partitionError(p.partitionIndex, ErrorCode.UNSUPPORTED_VERSION);
              }
              if (p.timestamp === LATEST) return ok(log.writtenOffset, -1n);
              if (p.timestamp === EARLIEST || p.timestamp === EARLIEST_LOCAL) return ok(log.logStartOffset, -1n);
              if (p.timestamp === LATEST_TIERED || p.timestamp === EARLIEST_PENDING_UPLOAD) {
                return partitionError(p.partitionIndex, ErrorCode.NONE);
              }
              if (p.timestamp === MAX_TIMESTAMP) {
                const max = await maxTimestampRecord(log);
                return max ? ok(max.offset, BigInt(max.timestamp)) : partitionError(p.partitionIndex, ErrorCode.NONE);
              }
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
