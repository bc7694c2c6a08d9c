/**
 * Fetch (key 1), v4-18. Record bytes are not read: each partition's records field stands for byte ranges of its
 * segment files (on batch boundaries), sent from the page cache by the response writer.
 * - Limits: the response's max_bytes and each partition's partition_max_bytes; as Kafka does (KIP-74), the first
 *   partition with data returns at least one whole batch even when that batch is over the limits.
 * - Long poll: with fewer than min_bytes available, wait until an append to a requested partition or max_wait_ms.
 * - Reads stop at the high watermark (read_uncommitted) or the last stable offset (read_committed; equal to the
 *   high watermark while transactions are not served).
 * - Fetch sessions (KIP-227): no session is created (session id 0 is answered, so clients send full fetches);
 *   an incremental fetch on an unknown session gets FETCH_SESSION_ID_NOT_FOUND.
 * - v13+ names topics by id (UNKNOWN_TOPIC_ID when unknown).
 */
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import {
  Fetch,
  type FetchRequest,
  type FetchRequestFetchPartition,
  type FetchResponseInput,
  type FetchResponsePartitionDataInput as PartitionData,
} from '../../protocol/generated/fetch.js';
import { EMPTY_BUFFER } from '../../protocol/wire/constants.js';
import type { BrokerContext } from '../broker-context.js';
import { partitionKey } from '../fetch-waiters.js';
import { fileRecords } from '../file-records.js';
import { defineHandler, type RequestContext } from '../handler.js';
import type { TopicInfo } from '../topic-registry.js';

const READ_COMMITTED = 1;

function partitionError(partitionIndex: number, errorCode: number, readCommitted: boolean): PartitionData {
  return {
    partitionIndex,
    errorCode,
    highWatermark: -1n,
    lastStableOffset: -1n,
    logStartOffset: -1n,
    abortedTransactions: readCommitted ? [] : null,
    preferredReadReplica: -1,
    records: EMPTY_BUFFER,
  };
}

interface Pass {
  response: FetchResponseInput;
  bytes: number;
  hasError: boolean;
}

async function readOnce(broker: BrokerContext, req: FetchRequest, version: number): Promise<Pass> {
  const readCommitted = (req.isolationLevel ?? 0) === READ_COMMITTED;
  let budget = version >= 3 ? (req.maxBytes ?? 0x7fffffff) : 0x7fffffff;
  let bytes = 0;
  let hasError = false;
  const byId = version >= 13;
  const responses = [];
  // Partitions are read in request order: each one's budget depends on what the ones before it took.
  for (const t of req.topics) {
    const topic = byId ? broker.topics.getById(t.topicId ?? '') : broker.topics.get(t.topic ?? '');
    const partitions: PartitionData[] = [];
    for (const p of t.partitions) partitions.push(await readPartition(topic, p));
    responses.push({ topic: t.topic, topicId: t.topicId, partitions });
  }
  return { response: { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses }, bytes, hasError };

  async function readPartition(topic: TopicInfo | undefined, p: FetchRequestFetchPartition): Promise<PartitionData> {
    if (!topic) {
      hasError = true;
      return partitionError(
        p.partition,
        byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        readCommitted,
      );
    }
    const partition = broker.partitions.get(topic.name, p.partition);
    if (!partition) {
      hasError = true;
      return partitionError(p.partition, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, readCommitted);
    }
    const log = partition.log;
    const epochError = checkLeaderEpoch(p.currentLeaderEpoch ?? -1, partition.leaderEpoch);
    // One replica: the high watermark is everything written (acks=1 visibility, as Kafka with an ISR of one).
    const highWatermark = log.writtenOffset;
    const logStartOffset = log.logStartOffset;
    const base: PartitionData = {
      ...partitionError(p.partition, ErrorCode.NONE, readCommitted),
      highWatermark: BigInt(highWatermark),
      lastStableOffset: BigInt(highWatermark),
      logStartOffset: BigInt(logStartOffset),
    };
    if (epochError !== ErrorCode.NONE) {
      hasError = true;
      return { ...base, errorCode: epochError };
    }
    const fetchOffset = Number(p.fetchOffset);
    if (fetchOffset < logStartOffset || fetchOffset > highWatermark) {
      hasError = true;
      return { ...base, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE };
    }
    if (fetchOffset === highWatermark) return base;
    const limit = Math.max(0, Math.min(p.partitionMaxBytes, budget));
    try {
      const ranges = await log.read(fetchOffset, limit, { minOneBatch: bytes === 0 });
      let length = 0;
      for (const r of ranges) length += r.length;
      if (length === 0) return base;
      budget -= length;
      bytes += length;
      return { ...base, records: fileRecords(ranges) };
    } catch (err) {
      if (!(err instanceof KafkaError)) throw err;
      hasError = true;
      return { ...base, errorCode: err.errorCode };
    }
  }
}

function checkLeaderEpoch(requested: number, current: number): number {
  if (requested < 0 || requested === current) return ErrorCode.NONE;
  return requested > current ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.FENCED_LEADER_EPOCH;
}

function requestedKeys(broker: BrokerContext, req: FetchRequest, version: number): string[] {
  const keys: string[] = [];
  for (const t of req.topics) {
    const name = version >= 13 ? broker.topics.getById(t.topicId ?? '')?.name : t.topic;
    if (name !== undefined) for (const p of t.partitions) keys.push(partitionKey(name, p.partition));
  }
  return keys;
}

function errorResponse(req: FetchRequest, errorCode: number, version: number): FetchResponseInput {
  if (version >= 7) return { throttleTimeMs: 0, errorCode, sessionId: 0, responses: [] };
  const readCommitted = (req.isolationLevel ?? 0) === READ_COMMITTED;
  return {
    throttleTimeMs: 0,
    responses: req.topics.map((t) => ({
      topic: t.topic,
      topicId: t.topicId,
      partitions: t.partitions.map((p) => partitionError(p.partition, errorCode, readCommitted)),
    })),
  };
}

export default defineHandler({
  codec: Fetch,
  minVersion: 4,
  maxVersion: Fetch.maxStableVersion,
  async handle(req, ctx: RequestContext) {
    const { broker, version } = ctx;
    if (version >= 7 && (req.sessionId ?? 0) !== 0 && (req.sessionEpoch ?? -1) !== -1) {
      return errorResponse(req, ErrorCode.FETCH_SESSION_ID_NOT_FOUND, version);
    }
    const deadline = ctx.receivedAt + Math.max(0, req.maxWaitMs);
    let keys: string[] | null = null;
    for (;;) {
      const pass = await readOnce(broker, req, version);
      const remaining = deadline - performance.now();
      if (pass.bytes >= req.minBytes || pass.hasError || remaining <= 0 || broker.closing) {
        broker.metrics.fetchLatency.observe((performance.now() - ctx.receivedAt) / 1000);
        return pass.response;
      }
      keys ??= requestedKeys(broker, req, version);
      await broker.fetchWaiters.wait(keys, remaining);
    }
  },
  errorResponse: (req, errorCode, ctx) => errorResponse(req, errorCode, ctx.version),
});
