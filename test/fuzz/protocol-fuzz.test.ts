/**
 * Protocol fuzzing against a real broker, in both engine modes: mutated requests of every API and version (see
 * seeds.ts and mutators.ts) over real sockets. Afterwards the broker must still answer, its memory must have stayed
 * bounded, no connection may have been left hanging, nothing unexpected may have been logged at error level, and
 * the records produced before the fuzzing must read back byte-identical.
 *
 * Short by default (part of `npm test`); BERTH_FUZZ_CASES=<n> and BERTH_FUZZ_SEED=<n> make a long run, e.g.
 *   BERTH_FUZZ_CASES=200000 BERTH_FUZZ_SEED=7 npx vitest run test/fuzz
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import type { KafkaClient } from '../../cli/kafka-client.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { ApiVersions } from '../../protocol/generated/api-versions.js';
import { CreateTopics } from '../../protocol/generated/create-topics.js';
import { Fetch } from '../../protocol/generated/fetch.js';
import { Metadata } from '../../protocol/generated/metadata.js';
import { Produce } from '../../protocol/generated/produce.js';
import { brokerModes, connectClient, startTestBroker } from '../helpers/broker.js';
import { rng } from '../unit/protocol/codec-fixtures.js';
import { runFuzz, summarize } from './harness.js';
import { buildSeeds, sampleBatch } from './seeds.js';

const CASES = Number(process.env.BERTH_FUZZ_CASES ?? 3000);
const SEED = Number(process.env.BERTH_FUZZ_SEED ?? 20261125);
const LONG = process.env.BERTH_FUZZ_CASES !== undefined;
const MAX_REQUEST_BYTES = 1024 * 1024;
const FRAME_TIMEOUT_MS = 500;
const PRESERVED = 'preserved-before-fuzz';
const TARGET = 'fuzz-target';
/** Generous: the broker shares this process with vitest and the harness. */
const HEAP_CEILING = 1024 * 2 ** 20;
const RSS_CEILING = 2048 * 2 ** 20;

/** Log lines a fuzzed broker may write: refused connections and requests are expected, crashes are not. */
interface LogLine {
  level: number;
  msg: string;
  err?: { message?: string; stack?: string };
}

function capturingLogger(lines: LogLine[]) {
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const text of String(chunk).split('\n')) if (text.trim() !== '') lines.push(JSON.parse(text) as LogLine);
      done();
    },
  });
  return pino({ level: 'warn' }, stream);
}

/** Warnings that mean the broker did not expect what happened (a request that failed outside the error mapping). */
function unexpected(lines: LogLine[]): LogLine[] {
  return lines.filter((l) => l.level >= 50 || l.msg === 'request failed' || l.msg === 'send failed');
}

describe.each(brokerModes)('protocol fuzzing ($name)', ({ name, config }) => {
  let broker: RunningBroker;
  let client: KafkaClient;
  const logLines: LogLine[] = [];
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  /** The preserved topic's records as fetched before the fuzzing, per partition. */
  const before = new Map<number, Buffer>();

  async function fetchAll(partition: number): Promise<Buffer> {
    const res = await client.request(
      Fetch,
      {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 64 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic: PRESERVED, partitions: [{ partition, fetchOffset: 0n, partitionMaxBytes: 64 << 20 }] }],
        forgottenTopicsData: [],
        rackId: '',
      },
      12,
    );
    const p = res.responses[0].partitions[0];
    expect(p.errorCode).toBe(ErrorCode.NONE);
    return Buffer.from(p.records ?? Buffer.alloc(0));
  }

  beforeAll(async () => {
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    broker = await startTestBroker({
      logger: capturingLogger(logLines),
      config: {
        ...config,
        'socket.request.max.bytes': String(MAX_REQUEST_BYTES),
        'request.frame.timeout.ms': String(FRAME_TIMEOUT_MS),
        'max.connections.per.ip': '5000',
        'log.preallocate': 'false',
        'group.initial.rebalance.delay.ms': '0',
        'max.partitions': '500',
      },
    });
    client = await connectClient(broker, 'fuzz-checker');
    const created = await client.request(CreateTopics, {
      topics: [
        { name: PRESERVED, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] },
        { name: TARGET, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
      ],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(created.topics.map((t) => t.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.NONE]);
    const rand = rng(SEED);
    for (let i = 0; i < 20; i++) {
      const res = await client.request(
        Produce,
        {
          transactionalId: null,
          acks: -1,
          timeoutMs: 5000,
          topicData: [{ name: PRESERVED, partitionData: [{ index: i % 2, records: sampleBatch(rand, 1 + (i % 7)) }] }],
        },
        12,
      );
      expect(res.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    }
    for (const p of [0, 1]) before.set(p, await fetchAll(p));
  });

  afterAll(async () => {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
    client?.close();
    await broker?.stop();
  });

  it(`survives ${CASES} mutated requests of every api and version`, {
    timeout: LONG ? 24 * 3600_000 : 120_000,
  }, async () => {
    const meta = await client.request(Metadata, { topics: [{ name: TARGET }], allowAutoTopicCreation: false }, 12);
    const topicId = meta.topics[0].topicId;
    const { seeds, handlers } = buildSeeds({ seed: SEED, perVersion: 2, topic: TARGET, topicId });
    // Every api key and version served has at least one seed.
    for (const h of handlers.values()) {
      for (let v = h.advertisedMinVersion ?? h.minVersion; v <= h.maxVersion; v++) {
        expect(
          seeds.some((s) => s.apiKey === h.codec.apiKey && s.version === v),
          `${h.codec.name} v${v}`,
        ).toBe(true);
      }
    }
    const served = new Map(
      [...handlers.values()].map((h) => [h.codec.apiKey, { min: h.minVersion, max: h.maxVersion }]),
    );

    const stats = await runFuzz({
      host: broker.host,
      port: broker.port,
      seed: SEED,
      cases: CASES,
      concurrency: 8,
      seeds,
      maxRequestBytes: MAX_REQUEST_BYTES,
      frameTimeoutMs: FRAME_TIMEOUT_MS,
      responseTimeoutMs: 5000,
      served,
    });
    console.log(summarize(name, SEED, stats));
    console.log(`fuzz ${name} mutations: ${[...stats.byMutation].map(([m, n]) => `${m}=${n}`).join(' ')}`);

    expect(stats.failures).toEqual([]);
    expect(stats.cases).toBe(CASES);
    expect(stats.responses).toBeGreaterThan(CASES / 10);
    expect(stats.closes).toBeGreaterThan(CASES / 10);
    expect(stats.maxHeapUsedBytes).toBeLessThan(HEAP_CEILING);
    expect(stats.maxRssBytes).toBeLessThan(RSS_CEILING);
    expect(uncaught).toEqual([]);
    expect(unexpected(logLines).map((l) => `${l.msg}: ${l.err?.stack ?? l.err?.message ?? ''}`)).toEqual([]);

    // Still up: ApiVersions and Metadata answer on a new connection.
    const after = await connectClient(broker, 'fuzz-after');
    try {
      const versions = await after.request(ApiVersions, {});
      expect(versions.errorCode).toBe(ErrorCode.NONE);
      const m = await after.request(Metadata, { topics: [{ name: PRESERVED }], allowAutoTopicCreation: false }, 12);
      expect(m.topics[0].errorCode).toBe(ErrorCode.NONE);
      expect(m.topics[0].partitions).toHaveLength(2);
    } finally {
      after.close();
    }
    // Every record produced before is still there, byte for byte.
    for (const p of [0, 1]) expect((await fetchAll(p)).equals(before.get(p)!)).toBe(true);
  });
});
