/**
 * Test helpers: a real broker on port 0 with a temp data dir (through the public startBroker API), and a client
 * speaking our own codecs to it.
 */

import { type RunningBroker, type StartBrokerOptions, startBroker } from '../../broker/index.js';
import { KafkaClient } from '../../cli/kafka-client.js';

export async function startTestBroker(opts: StartBrokerOptions = {}): Promise<RunningBroker> {
  return startBroker({ logger: process.env.BERTH_TEST_LOG ?? undefined, ...opts });
}

export async function connectClient(broker: RunningBroker, clientId = 'berth-test'): Promise<KafkaClient> {
  return KafkaClient.connect({ host: broker.host, port: broker.port, clientId });
}

/** The engine and fetch-path combinations every broker-level suite should run against. */
export const brokerModes: Array<{ name: string; config: Record<string, string> }> = [
  { name: 'uring+zerocopy', config: { 'io.engine': 'auto', 'fetch.path': 'auto' } },
  { name: 'sync+copy', config: { 'io.engine': 'sync', 'fetch.path': 'copy' } },
];

/** The value of an unlabelled gauge from the broker's registry. */
export async function gaugeValue(b: RunningBroker, name: string): Promise<number> {
  const m = await b.broker.metrics.registry.getSingleMetric(name)?.get();
  return m?.values[0]?.value ?? Number.NaN;
}

export interface FetchPartitionWant {
  partition: number;
  fetchOffset: bigint;
  partitionMaxBytes: number;
}

/** A full Fetch request body (no fetch session) for partitions of one topic. Defaults: no wait, minBytes 1, 8 MiB. */
export function fetchRequest(
  topic: string,
  partitions: FetchPartitionWant[],
  opts: { maxWaitMs?: number; minBytes?: number; maxBytes?: number } = {},
) {
  return {
    maxWaitMs: opts.maxWaitMs ?? 0,
    minBytes: opts.minBytes ?? 1,
    maxBytes: opts.maxBytes ?? 8 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions }],
    forgottenTopicsData: [],
    rackId: '',
  };
}
