/**
 * OffsetForLeaderEpoch (key 23), v2-4. Per partition: the end offset of the requested leader epoch, from the
 * partition's leader-epoch cache (leader-epoch-checkpoint), by Kafka's rules: the latest epoch ends at the log end
 * offset; an older epoch ends where the next higher epoch starts, answered with the largest epoch at or below the
 * requested one (or the requested epoch itself when it is older than every cached epoch); an epoch newer than any
 * known, or -1, is UNDEFINED (-1, -1). The partition's current epoch counts as started at the log end offset even
 * before a batch was written in it (Kafka records it when the broker becomes leader).
 * A current_leader_epoch (v2+) other than ours is FENCED_LEADER_EPOCH when older, UNKNOWN_LEADER_EPOCH when newer.
 * v3+ names the replica (consumers send -1, debugging tools -2); v4 is flexible.
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import {
  type OffsetForLeaderEpochResponseEpochEndOffsetInput as EpochEndOffset,
  OffsetForLeaderEpoch,
  type OffsetForLeaderEpochRequest,
  type OffsetForLeaderEpochResponseInput,
} from '../../protocol/generated/offset-for-leader-epoch.js';
import type { EpochEntry } from '../../storage/leader-epoch-cache.js';
import { defineHandler } from '../handler.js';
import type { PartitionHandle } from '../partition-registry.js';

const UNDEFINED_EPOCH = -1;
const UNDEFINED_OFFSET = -1;

function endOffset(partition: number, errorCode: number, leaderEpoch = UNDEFINED_EPOCH, offset = UNDEFINED_OFFSET) {
  return { errorCode, partition, leaderEpoch, endOffset: BigInt(offset) } satisfies EpochEndOffset;
}

/** Kafka's LeaderEpochFileCache.endOffsetFor over `entries` (ascending by epoch and start offset). */
export function endOffsetForEpoch(
  entries: readonly EpochEntry[],
  requested: number,
  logEndOffset: number,
): { epoch: number; endOffset: number } {
  const undefinedAnswer = { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_OFFSET };
  if (requested === UNDEFINED_EPOCH || entries.length === 0) return undefinedAnswer;
  const latest = entries[entries.length - 1];
  if (requested === latest.epoch) return { epoch: requested, endOffset: logEndOffset };
  const higher = entries.find((e) => e.epoch > requested);
  if (!higher) return undefinedAnswer;
  let floor: EpochEntry | undefined;
  for (const e of entries) if (e.epoch <= requested) floor = e;
  return { epoch: floor ? floor.epoch : requested, endOffset: higher.startOffset };
}

function lookup(handle: PartitionHandle, requested: number): { epoch: number; endOffset: number } {
  const log = handle.log;
  const entries = [...log.leaderEpochCache.entries()];
  const latest = entries.length > 0 ? entries[entries.length - 1].epoch : -1;
  if (handle.leaderEpoch > latest) entries.push({ epoch: handle.leaderEpoch, startOffset: log.writtenOffset });
  return endOffsetForEpoch(entries, requested, log.writtenOffset);
}

function errorResponse(req: OffsetForLeaderEpochRequest, errorCode: number): OffsetForLeaderEpochResponseInput {
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p) => endOffset(p.partition, errorCode)),
    })),
  };
}

export default defineHandler({
  codec: OffsetForLeaderEpoch,
  minVersion: 2,
  maxVersion: OffsetForLeaderEpoch.maxStableVersion,
  handle(req, ctx) {
    const { broker } = ctx;
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p): EpochEndOffset => {
          const handle = broker.partitions.get(t.topic, p.partition);
          if (!handle) return endOffset(p.partition, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
          const current = p.currentLeaderEpoch ?? -1;
          if (current >= 0 && current < handle.leaderEpoch) {
            return endOffset(p.partition, ErrorCode.FENCED_LEADER_EPOCH);
          }
          if (current > handle.leaderEpoch) return endOffset(p.partition, ErrorCode.UNKNOWN_LEADER_EPOCH);
          const found = lookup(handle, p.leaderEpoch);
          return endOffset(p.partition, ErrorCode.NONE, found.epoch, found.endOffset);
        }),
      })),
    };
  },
  errorResponse: (req, errorCode) => errorResponse(req, errorCode),
});
