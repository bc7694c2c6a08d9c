/**
 * Produce (key 0), v3-13 served; v0-2 are advertised (librdkafka turns compression off when they are missing) and
 * refused by closing the connection, as Kafka 4 does. Each partition's records must be exactly one v2 batch with a
 * valid CRC, no larger than max.message.bytes; compressed batches are stored as sent. Errors are per partition.
 * acks=0 gets no response (a failed partition then closes the connection, Kafka's only signal); acks=1 answers when
 * the batch is written, acks=-1 when it is fdatasync'ed. v13 names topics by id.
 * Idempotent producers: sequence checks, duplicates and fencing in producer-state.ts (an older epoch is
 * INVALID_PRODUCER_EPOCH at every version, as Kafka answers Produce); a snapshot of producer state is written after
 * each segment roll (producer-snapshots.ts). A transactional batch is INVALID_TXN_STATE until transactions exist.
 * The request's frame buffer is reused by later requests once this response exists (frame-pool.ts): a failed append
 * keeps it out of reuse (retainFrame), since a write may still be reading it.
 */
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import {
  type ProduceResponsePartitionProduceResponseInput as PartitionResponse,
  Produce,
  type ProduceRequest,
  type ProduceResponseInput,
} from '../../protocol/generated/produce.js';
import { validateProduceRecords } from '../../protocol/records/record-batch.js';
import type { Acks } from '../../storage/partition-log.js';
import { CloseConnectionError } from '../connection.js';
import { retainFrame } from '../frame-pool.js';
import { defineHandler, type RequestContext } from '../handler.js';
import type { PartitionHandle } from '../partition-registry.js';
import { writeSnapshot } from '../producer-snapshots.js';
import type { BatchOffsets } from '../producer-state.js';

/** After a segment roll, snapshot producer state so that recovery after a crash replays at most one segment. */
function snapshotAfterRoll(ctx: RequestContext, partition: PartitionHandle): void {
  const segments = partition.log.segments;
  const activeBase = segments[segments.length - 1]?.baseOffset ?? -1;
  if (activeBase === partition.producers.activeSegmentBase) return;
  const rolled = partition.producers.activeSegmentBase >= 0;
  partition.producers.activeSegmentBase = activeBase;
  if (!rolled) return;
  writeSnapshot(partition.log, partition.producers).catch((err) =>
    ctx.broker.log.warn({ err, topic: partition.topic, partition: partition.partition }, 'producer snapshot failed'),
  );
}

function partitionError(index: number, errorCode: number, errorMessage: string | null = null): PartitionResponse {
  return {
    index,
    errorCode,
    baseOffset: -1n,
    logAppendTimeMs: -1n,
    logStartOffset: -1n,
    recordErrors: [],
    errorMessage,
  };
}

async function producePartition(
  ctx: RequestContext,
  topicName: string,
  index: number,
  records: Buffer | null,
  req: ProduceRequest,
): Promise<PartitionResponse> {
  // Transactions are not served yet: a transactional batch has no coordinator to belong to.
  if (req.transactionalId) return partitionError(index, ErrorCode.INVALID_TXN_STATE);
  const { broker } = ctx;
  const partition = broker.partitions.get(topicName, index);
  if (!partition) return partitionError(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  try {
    if (records === null || records.length === 0) {
      throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, 'a produce request must carry one record batch per partition');
    }
    const maxMessageBytes = broker.partitions.maxMessageBytes(topicName);
    if (records.length > maxMessageBytes) {
      throw new KafkaError(
        ErrorCode.MESSAGE_TOO_LARGE,
        `batch of ${records.length} bytes exceeds max.message.bytes ${maxMessageBytes}`,
      );
    }
    const header = validateProduceRecords(records);
    const sequence = partition.producers.check(header);
    if (sequence.kind === 'duplicate') {
      return { ...partitionError(index, ErrorCode.NONE), ...(await sequence.offsets) };
    }
    let offsets: BatchOffsets | null = null;
    try {
      const log = partition.log;
      const before = log.appendedOffset;
      const appending = log.append(records, { acks: req.acks as Acks, leaderEpoch: partition.leaderEpoch });
      // Offsets are assigned synchronously inside append(): record them now, so that producer state always
      // matches the log's appended offset (what a snapshot relies on).
      if (log.appendedOffset > before) sequence.assigned(before, log.appendedOffset - 1);
      snapshotAfterRoll(ctx, partition);
      const result = await appending;
      offsets = {
        baseOffset: BigInt(result.baseOffset),
        logAppendTimeMs: BigInt(result.logAppendTime),
        logStartOffset: BigInt(result.logStartOffset),
      };
    } catch (err) {
      // A failed append may leave a write still reading the records: their buffer must not be reused.
      retainFrame(records);
      throw err;
    } finally {
      sequence.settle(offsets);
    }
    broker.metrics.countRecordsIn(topicName, header.recordsCount);
    return {
      index,
      errorCode: ErrorCode.NONE,
      baseOffset: offsets.baseOffset,
      logAppendTimeMs: offsets.logAppendTimeMs,
      logStartOffset: offsets.logStartOffset,
      recordErrors: [],
      errorMessage: null,
    };
  } catch (err) {
    if (!(err instanceof KafkaError)) throw err;
    return partitionError(index, err.errorCode, err.message);
  }
}

type TopicData = ProduceRequest['topicData'][number];
type TopicResponse = ProduceResponseInput['responses'][number];

async function produceTopic(
  ctx: RequestContext,
  req: ProduceRequest,
  t: TopicData,
  byId: boolean,
): Promise<TopicResponse> {
  const { broker } = ctx;
  const topic = byId ? broker.topics.getById(t.topicId ?? '') : broker.topics.get(t.name ?? '');
  let partitionResponses: PartitionResponse[];
  if (!topic) {
    const missing = byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    partitionResponses = t.partitionData.map((p) => partitionError(p.index, missing));
  } else if (t.partitionData.length === 1) {
    const p = t.partitionData[0];
    partitionResponses = [await producePartition(ctx, topic.name, p.index, p.records, req)];
  } else {
    partitionResponses = await Promise.all(
      t.partitionData.map((p) => producePartition(ctx, topic.name, p.index, p.records, req)),
    );
  }
  return { name: t.name, topicId: t.topicId, partitionResponses };
}

function errorResponse(req: ProduceRequest, errorCode: number): ProduceResponseInput {
  return {
    responses: req.topicData.map((t) => ({
      name: t.name,
      topicId: t.topicId,
      partitionResponses: t.partitionData.map((p) => partitionError(p.index, errorCode)),
    })),
    throttleTimeMs: 0,
  };
}

export default defineHandler({
  codec: Produce,
  minVersion: 3,
  advertisedMinVersion: 0,
  maxVersion: Produce.maxStableVersion,
  async handle(req, ctx): Promise<ProduceResponseInput | null> {
    const { broker } = ctx;
    const started = performance.now();
    if (req.acks !== 0 && req.acks !== 1 && req.acks !== -1) {
      return errorResponse(req, ErrorCode.INVALID_REQUIRED_ACKS);
    }
    const byId = ctx.version >= 13;
    let responses: TopicResponse[];
    try {
      // One topic of one partition is what a producer sends most (librdkafka: one request per partition leader
      // batch): awaited directly, without the arrays of promises the general case needs.
      responses =
        req.topicData.length === 1
          ? [await produceTopic(ctx, req, req.topicData[0], byId)]
          : await Promise.all(req.topicData.map((t) => produceTopic(ctx, req, t, byId)));
    } catch (err) {
      // Another partition's append may still be reading its records: no buffer of this request may be reused.
      for (const t of req.topicData) for (const p of t.partitionData) if (p.records) retainFrame(p.records);
      throw err;
    }
    broker.metrics.produceLatency.observe({ acks: String(req.acks) }, (performance.now() - started) / 1000);
    if (req.acks === 0) {
      const failed = responses.some((t) => t.partitionResponses.some((p) => p.errorCode !== ErrorCode.NONE));
      if (failed) throw new CloseConnectionError('acks=0 produce failed');
      return null;
    }
    return { responses, throttleTimeMs: 0 };
  },
  errorResponse: (req, errorCode) => errorResponse(req, errorCode),
});
