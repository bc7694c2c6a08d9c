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
import type { PartitionLog } from '../../storage/partition-log.js';
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

/** A partition whose records must be located in its log (the only step of a pass that is not synchronous). */
interface PendingRead {
  log: PartitionLog;
  fetchOffset: number;
  limit: number;
  data: PartitionData;
}

/**
 * One pass over the requested partitions, in request order (each one's byte budget depends on what the ones before
 * it took). Synchronous until a partition has records to locate; the rest of the pass then continues after that
 * read. A woken fetch thus reaches its response in as few promise hops as the log's read allows: a fetch answered
 * in the same turn as the append that woke it leaves before other responses of that turn, not after them.
 */
class FetchPass {
  private budget: number;
  private bytes = 0;
  private hasError = false;
  private readonly readCommitted: boolean;
  private readonly byId: boolean;
  private readonly responses: Array<{ topic?: string; topicId?: string; partitions: PartitionData[] }> = [];
  private topicIndex = 0;
  private partitionIndex = 0;
  private topic: TopicInfo | undefined;

  constructor(
    private readonly broker: BrokerContext,
    private readonly req: FetchRequest,
    version: number,
  ) {
    this.readCommitted = (req.isolationLevel ?? 0) === READ_COMMITTED;
    this.budget = version >= 3 ? (req.maxBytes ?? 0x7fffffff) : 0x7fffffff;
    this.byId = version >= 13;
  }

  /** Runs the pass: a Pass when no partition needed a read, else a promise of it. */
  run(): Pass | Promise<Pass> {
    const topics = this.req.topics;
    for (; this.topicIndex < topics.length; this.topicIndex++, this.partitionIndex = 0) {
      const t = topics[this.topicIndex];
      if (this.partitionIndex === 0) {
        this.topic = this.byId ? this.broker.topics.getById(t.topicId ?? '') : this.broker.topics.get(t.topic ?? '');
        this.responses.push({ topic: t.topic, topicId: t.topicId, partitions: [] });
      }
      const out = this.responses[this.responses.length - 1].partitions;
      for (; this.partitionIndex < t.partitions.length; this.partitionIndex++) {
        const r = this.partition(t.partitions[this.partitionIndex]);
        if ('log' in r) return this.afterRead(r, out);
        out.push(r);
      }
    }
    return {
      response: { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses: this.responses },
      bytes: this.bytes,
      hasError: this.hasError,
    };
  }

  private async afterRead(read: PendingRead, out: PartitionData[]): Promise<Pass> {
    const { data } = read;
    try {
      const ranges = await read.log.read(read.fetchOffset, read.limit, { minOneBatch: this.bytes === 0 });
      let length = 0;
      for (const r of ranges) length += r.length;
      if (length > 0) {
        this.budget -= length;
        this.bytes += length;
        data.records = fileRecords(ranges);
      }
    } catch (err) {
      if (!(err instanceof KafkaError)) throw err;
      this.hasError = true;
      data.errorCode = err.errorCode;
    }
    out.push(data);
    this.partitionIndex++;
    return this.run();
  }

  private partition(p: FetchRequestFetchPartition): PartitionData | PendingRead {
    const topic = this.topic;
    if (!topic) {
      this.hasError = true;
      const code = this.byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      return partitionError(p.partition, code, this.readCommitted);
    }
    const partition = this.broker.partitions.get(topic.name, p.partition);
    if (!partition) {
      this.hasError = true;
      return partitionError(p.partition, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, this.readCommitted);
    }
    const log = partition.log;
    // One replica: the high watermark is everything written (acks=1 visibility, as Kafka with an ISR of one).
    const highWatermark = log.writtenOffset;
    const logStartOffset = log.logStartOffset;
    const data = partitionError(p.partition, ErrorCode.NONE, this.readCommitted);
    data.highWatermark = BigInt(highWatermark);
    data.lastStableOffset = data.highWatermark;
    data.logStartOffset = BigInt(logStartOffset);
    const epochError = checkLeaderEpoch(p.currentLeaderEpoch ?? -1, partition.leaderEpoch);
    if (epochError !== ErrorCode.NONE) {
      this.hasError = true;
      data.errorCode = epochError;
      return data;
    }
    const fetchOffset = Number(p.fetchOffset);
    if (fetchOffset < logStartOffset || fetchOffset > highWatermark) {
      this.hasError = true;
      data.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
      return data;
    }
    if (fetchOffset === highWatermark) return data;
    const limit = Math.max(0, Math.min(p.partitionMaxBytes, this.budget));
    return { log, fetchOffset, limit, data };
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
      const running = new FetchPass(broker, req, version).run();
      const pass = running instanceof Promise ? await running : running;
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
