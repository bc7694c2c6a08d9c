/**
 * DescribeLogDirs (key 35), v1-5. Berth has one log directory, the data directory: it is reported with every
 * hosted partition (or the requested ones; unknown partitions are left out, as Kafka does), each with its size on
 * disk and an offset lag of 0 (no future replicas, no reassignment between directories). v3+ adds a top-level
 * error code; v4+ the file system's total and usable bytes (statfs); v5 the cordoned flag (never cordoned).
 */
import { statfs } from 'node:fs/promises';
import { ErrorCode } from '../../protocol/error-codes.js';
import {
  DescribeLogDirs,
  type DescribeLogDirsRequest,
  type DescribeLogDirsResponseInput,
  type DescribeLogDirsResponseDescribeLogDirsTopicInput as LogDirTopic,
} from '../../protocol/generated/describe-log-dirs.js';
import type { BrokerContext } from '../broker-context.js';
import { defineHandler } from '../handler.js';

function hostedTopics(broker: BrokerContext, req: DescribeLogDirsRequest): LogDirTopic[] {
  const wanted = req.topics === null ? null : new Map(req.topics.map((t) => [t.topic, new Set(t.partitions)]));
  const byTopic = new Map<string, LogDirTopic>();
  const handles = broker.partitions.all().sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  for (const h of handles) {
    if (wanted && !wanted.get(h.topic)?.has(h.partition)) continue;
    let topic = byTopic.get(h.topic);
    if (!topic) {
      topic = { name: h.topic, partitions: [] };
      byTopic.set(h.topic, topic);
    }
    topic.partitions.push({
      partitionIndex: h.partition,
      partitionSize: BigInt(h.log.sizeInBytes),
      offsetLag: 0n,
      isFutureKey: false,
    });
  }
  return [...byTopic.values()];
}

export default defineHandler({
  codec: DescribeLogDirs,
  minVersion: 1,
  maxVersion: DescribeLogDirs.maxStableVersion,
  async handle(req, ctx) {
    const { broker, version } = ctx;
    const logDir = broker.partitions.logs.dataDir;
    let totalBytes = -1n;
    let usableBytes = -1n;
    if (version >= 4) {
      const s = await statfs(logDir, { bigint: true });
      totalBytes = s.blocks * s.bsize;
      usableBytes = s.bavail * s.bsize;
    }
    const response: DescribeLogDirsResponseInput = {
      throttleTimeMs: 0,
      errorCode: version >= 3 ? ErrorCode.NONE : undefined,
      results: [
        {
          errorCode: ErrorCode.NONE,
          logDir,
          topics: hostedTopics(broker, req),
          totalBytes,
          usableBytes,
          isCordoned: false,
        },
      ],
    };
    return response;
  },
  errorResponse(_req, errorCode, ctx) {
    return { throttleTimeMs: 0, errorCode: ctx.version >= 3 ? errorCode : undefined, results: [] };
  },
});
