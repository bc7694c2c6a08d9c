/**
 * Helpers for the fault tests: an in-process broker whose storage engine is wrapped in a FaultyEngine
 * (BERTH_FAULT_INJECTION=1, read when the engine is opened), its log lines captured, and small produce / fetch /
 * metadata calls that return error codes instead of asserting.
 */
import { pino } from 'pino';
import type { RunningBroker } from '../../broker/index.js';
import type { KafkaClient } from '../../cli/kafka-client.js';
import { Metadata } from '../../protocol/generated/metadata.js';
import { Produce } from '../../protocol/generated/produce.js';
import { encodeRecordBatch } from '../../protocol/records/encode-batch.js';
import { FAULT_INJECTION_ENV, type FaultPlan, FaultyEngine } from '../../storage/io/faulty-engine.js';
import { connectClient, startTestBroker } from '../helpers/broker.js';
import { seededBytes } from '../helpers/compat-readback.js';

export interface FaultBroker {
  broker: RunningBroker;
  /** Every log line so far, parsed. */
  lines(): Array<{ level: number; msg: string }>;
  /** The engine wrapper, to set a plan on. */
  faults(): FaultyEngine;
}

/** Starts a broker with fault injection available (an empty plan: nothing fails until a test sets one). */
export async function startFaultBroker(dataDir: string, config: Record<string, string>): Promise<FaultBroker> {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
  const before = process.env[FAULT_INJECTION_ENV];
  process.env[FAULT_INJECTION_ENV] = '1';
  let broker: RunningBroker;
  try {
    broker = await startTestBroker({ dataDir, config, logger });
  } finally {
    if (before === undefined) delete process.env[FAULT_INJECTION_ENV];
    else process.env[FAULT_INJECTION_ENV] = before;
  }
  return {
    broker,
    lines: () => lines.map((l) => JSON.parse(l) as { level: number; msg: string }),
    faults: () => {
      const e = broker.broker.logs.engine;
      if (!(e instanceof FaultyEngine)) throw new Error('the broker engine is not a FaultyEngine');
      return e;
    },
  };
}

export interface FaultSession {
  b: FaultBroker;
  client: KafkaClient;
  /** Closes the client and stops the broker (once; also registered in `cleanup`). */
  stop(): Promise<void>;
}

/** A fault broker with a client connected to it; `cleanup` gets its stop. */
export async function startFaultSession(
  dataDir: string,
  config: Record<string, string>,
  cleanup: Array<() => Promise<void> | void>,
): Promise<FaultSession> {
  const b = await startFaultBroker(dataDir, config);
  const client = await connectClient(b.broker);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    client.close();
    await b.broker.stop();
  };
  cleanup.push(stop);
  return { b, client, stop };
}

/** Sets a plan whose counters start now. */
export function injectFaults(b: FaultBroker, plan: FaultPlan): void {
  const e = b.faults();
  e.writes = 0;
  e.fdatasyncs = 0;
  e.plan = plan;
}

/** A deterministic batch with `count` records keyed `<tag>-<n>`. */
export function makeBatch(tag: string, count: number, size: number, seed: number): Buffer {
  return encodeRecordBatch({
    records: Array.from({ length: count }, (_, r) => ({
      key: `${tag}-${r}`,
      value: seededBytes(seed + r, size),
      timestamp: 1_700_000_000_000n,
    })),
  });
}

/** Produce one batch (acks=-1 by default); the partition's error code and base offset. */
export async function produceTo(
  client: KafkaClient,
  topic: string,
  partition: number,
  records: Buffer,
  acks: -1 | 1 = -1,
): Promise<{ errorCode: number; baseOffset: bigint; errorMessage: string | null }> {
  const res = await client.request(
    Produce,
    {
      transactionalId: null,
      acks,
      timeoutMs: 10_000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records: Buffer.from(records) }] }],
    },
    9,
  );
  const p = res.responses[0].partitionResponses[0];
  return { errorCode: p.errorCode, baseOffset: p.baseOffset, errorMessage: p.errorMessage ?? null };
}

export async function partitionMetadata(client: KafkaClient, topic: string) {
  const md = await client.request(Metadata, { topics: [{ name: topic }], allowAutoTopicCreation: false });
  return md.topics[0].partitions.sort((a, b) => a.partitionIndex - b.partitionIndex);
}

export { gaugeValue } from '../helpers/broker.js';

/** The stored batch with the broker-assigned fields reset to the sent ones (to compare bytes). */
export function asSent(stored: Buffer, sent: Buffer): Buffer {
  const copy = Buffer.from(stored);
  sent.copy(copy, 0, 0, 8);
  sent.copy(copy, 12, 12, 16);
  return copy;
}
