/**
 * Group convergence: a group of 8 members is Stable; a 9th joins; how long until every member has its
 * assignment for the new generation (classic) or the new assignment epoch (KIP-848 consumer protocol, group
 * Stable: revocations confirmed and every partition handed over)? Members of both protocols are driven by our own
 * client (heartbeat every 50 ms; a KIP-848 member acknowledges a changed assignment at once, as librdkafka and the
 * Java client do) and, as the reference a user would pick for the classic protocol, by kafkajs consumers
 * (heartbeatInterval 50 ms, maxWaitTimeInMs 50 ms: kafkajs heartbeats between fetches). Medians of several runs.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { type RunningBroker, startBroker } from '../broker/index.js';
import { KafkaClient } from '../cli/kafka-client.js';
import { ErrorCode as E } from '../protocol/error-codes.js';
import { ConsumerGroupHeartbeat } from '../protocol/generated/consumer-group-heartbeat.js';
import { CreateTopics } from '../protocol/generated/create-topics.js';
import { Heartbeat } from '../protocol/generated/heartbeat.js';
import { JoinGroup } from '../protocol/generated/join-group.js';
import { LeaveGroup } from '../protocol/generated/leave-group.js';
import { SyncGroup } from '../protocol/generated/sync-group.js';
import type { BenchRow } from './bench-row.js';

const MEMBERS = 8;
const RUNS = 5;
const HEARTBEAT_MS = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** A member speaking the classic protocol over our client: join, sync, heartbeat, rejoin when told to. */
class BenchMember {
  memberId = '';
  generation = -1;
  private stopped = false;

  private constructor(
    private readonly client: KafkaClient,
    private readonly groupId: string,
  ) {}

  static async start(b: RunningBroker, groupId: string): Promise<BenchMember> {
    const client = await KafkaClient.connect({ host: b.host, port: b.port, clientId: 'bench' });
    const m = new BenchMember(client, groupId);
    void m.loop();
    return m;
  }

  private async joinAndSync(): Promise<void> {
    for (;;) {
      const j = await this.client.send(JoinGroup, 9, {
        groupId: this.groupId,
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 10_000,
        memberId: this.memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
        reason: null,
      });
      this.memberId = j.memberId;
      if (j.errorCode !== E.NONE) continue;
      const s = await this.client.send(SyncGroup, 5, {
        groupId: this.groupId,
        generationId: j.generationId!,
        memberId: j.memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocolName: j.protocolName,
        assignments: j.members.map((m) => ({ memberId: m.memberId, assignment: Buffer.from('x') })),
      });
      if (s.errorCode === E.NONE) {
        this.generation = j.generationId!;
        return;
      }
    }
  }

  private async loop(): Promise<void> {
    try {
      await this.joinAndSync();
      while (!this.stopped) {
        await sleep(HEARTBEAT_MS);
        const h = await this.client.send(Heartbeat, 4, {
          groupId: this.groupId,
          generationId: this.generation,
          memberId: this.memberId,
          groupInstanceId: null,
        });
        if (h.errorCode !== E.NONE && !this.stopped) await this.joinAndSync();
      }
    } catch {
      // closed
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.client
      .send(LeaveGroup, 5, { groupId: this.groupId, members: [{ memberId: this.memberId, groupInstanceId: null }] })
      .catch(() => undefined);
    this.client.close();
  }
}

type Owned = Array<{ topicId: string; partitions: number[] }>;

/** A KIP-848 member over our client: heartbeats, takes what it is given, acknowledges changes at once. */
class ConsumerProtocolMember {
  epoch = 0;
  private owned: Owned = [];
  private stopped = false;

  private constructor(
    private readonly client: KafkaClient,
    private readonly groupId: string,
    readonly memberId: string,
  ) {}

  static async start(b: RunningBroker, groupId: string, memberId: string): Promise<ConsumerProtocolMember> {
    const client = await KafkaClient.connect({ host: b.host, port: b.port, clientId: 'bench' });
    const m = new ConsumerProtocolMember(client, groupId, memberId);
    void m.loop();
    return m;
  }

  private async loop(): Promise<void> {
    try {
      while (!this.stopped) {
        const joining = this.epoch === 0;
        const r = await this.client.send(ConsumerGroupHeartbeat, 1, {
          groupId: this.groupId,
          memberId: this.memberId,
          memberEpoch: this.epoch,
          instanceId: null,
          rackId: null,
          rebalanceTimeoutMs: joining ? 10_000 : -1,
          subscribedTopicNames: joining ? ['bench-groups'] : null,
          serverAssignor: joining ? 'uniform' : null,
          topicPartitions: this.owned,
        });
        if (this.stopped) return;
        if (r.errorCode !== E.NONE) {
          this.epoch = 0;
          this.owned = [];
          continue;
        }
        const changed =
          r.assignment !== null && JSON.stringify(r.assignment.topicPartitions) !== JSON.stringify(this.owned);
        if (r.assignment) this.owned = r.assignment.topicPartitions;
        this.epoch = r.memberEpoch;
        if (!changed) await sleep(HEARTBEAT_MS);
      }
    } catch {
      // closed
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.client
      .send(ConsumerGroupHeartbeat, 1, { groupId: this.groupId, memberId: this.memberId, memberEpoch: -1 })
      .catch(() => undefined);
    this.client.close();
  }
}

async function waitConsumerStable(b: RunningBroker, groupId: string, members: number, epochAbove: number) {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const g = b.broker.groups.consumerGroup(groupId);
    if (g && g.members.size === members && g.assignmentEpoch > epochAbove && g.state === 'Stable') return g;
    if (performance.now() > deadline)
      throw new Error(`${groupId} did not converge: ${g?.state} with ${g?.members.size} members`);
    await sleep(1);
  }
}

async function consumerProtocolRun(b: RunningBroker, run: number): Promise<number> {
  const groupId = `bench-kip848-${run}`;
  const members = await Promise.all(
    Array.from({ length: MEMBERS }, (_, i) => ConsumerProtocolMember.start(b, groupId, `member-${run}-${i}`)),
  );
  const epoch = (await waitConsumerStable(b, groupId, MEMBERS, 0)).assignmentEpoch;
  const t0 = performance.now();
  const late = await ConsumerProtocolMember.start(b, groupId, `member-${run}-late`);
  await waitConsumerStable(b, groupId, MEMBERS + 1, epoch);
  const ms = performance.now() - t0;
  await Promise.all([...members, late].map((m) => m.stop()));
  return ms;
}

async function waitStable(b: RunningBroker, groupId: string, members: number, generationAbove: number) {
  const deadline = performance.now() + 60_000;
  for (;;) {
    if (performance.now() > deadline) {
      const g = b.broker.groups.group(groupId);
      throw new Error(
        `${groupId} did not converge: ${g?.state} with ${g?.members.size} members, gen ${g?.generationId}`,
      );
    }
    const g = b.broker.groups.group(groupId);
    if (g && g.state === 'Stable' && g.members.size === members && g.generationId > generationAbove) return g;
    await sleep(1);
  }
}

async function ourClientRun(b: RunningBroker, run: number): Promise<number> {
  const groupId = `bench-own-${run}`;
  const members = await Promise.all(Array.from({ length: MEMBERS }, () => BenchMember.start(b, groupId)));
  const before = await waitStable(b, groupId, MEMBERS, 0);
  const generation = before.generationId;
  const t0 = performance.now();
  const late = await BenchMember.start(b, groupId);
  const all = [...members, late];
  while (!all.every((m) => m.generation > generation)) await sleep(1);
  const ms = performance.now() - t0;
  await Promise.all(all.map((m) => m.stop()));
  return ms;
}

async function kafkajsRun(b: RunningBroker, run: number): Promise<number> {
  const require = createRequire(import.meta.url);
  const { Kafka, logLevel } = require('kafkajs') as typeof import('kafkajs');
  const kafka = new Kafka({ brokers: [b.bootstrap], logLevel: logLevel.NOTHING, clientId: 'bench' });
  const groupId = `bench-kafkajs-${run}`;
  const start = async () => {
    const c = kafka.consumer({ groupId, heartbeatInterval: HEARTBEAT_MS, maxWaitTimeInMs: HEARTBEAT_MS });
    await c.connect();
    await c.subscribe({ topic: 'bench-groups', fromBeginning: true });
    await c.run({ eachMessage: async () => undefined });
    return c;
  };
  const consumers = await Promise.all(Array.from({ length: MEMBERS }, start));
  const generation = (await waitStable(b, groupId, MEMBERS, 0)).generationId;
  const t0 = performance.now();
  consumers.push(await start());
  await waitStable(b, groupId, MEMBERS + 1, generation);
  const ms = performance.now() - t0;
  await Promise.all(consumers.map((c) => c.disconnect()));
  return ms;
}

export async function run(): Promise<BenchRow[]> {
  const b = await startBroker({ config: { 'group.initial.rebalance.delay.ms': 0 } });
  try {
    const admin = await KafkaClient.connect({ host: b.host, port: b.port });
    await admin.request(CreateTopics, {
      topics: [{ name: 'bench-groups', numPartitions: 16, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    admin.close();
    const own: number[] = [];
    const kjs: number[] = [];
    const kip848: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      own.push(await ourClientRun(b, i));
      if (process.env.BENCH_DEBUG) console.error('own', i, own.at(-1));
      kjs.push(await kafkajsRun(b, i));
      if (process.env.BENCH_DEBUG) console.error('kafkajs', i, kjs.at(-1));
      kip848.push(await consumerProtocolRun(b, i));
      if (process.env.BENCH_DEBUG) console.error('kip848', i, kip848.at(-1));
    }
    return [
      {
        name: `group of ${MEMBERS} converges after a join, consumer protocol (KIP-848, our client)`,
        value: median(kip848),
        unit: 'ms',
        reference: { name: 'classic protocol, our client', value: median(own) },
        note: `median of ${RUNS}; heartbeat ${HEARTBEAT_MS} ms; timed to the group Stable at the new assignment epoch`,
      },
      {
        name: `group of ${MEMBERS} converges after a join (our client)`,
        value: median(own),
        unit: 'ms',
        reference: { name: 'kafkajs consumers', value: median(kjs) },
        note: `median of ${RUNS}; heartbeat ${HEARTBEAT_MS} ms; kafkajs timed to Stable, ours to every member synced`,
      },
    ];
  } finally {
    await b.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const { renderTable } = await import('./bench-row.js');
  console.log(renderTable('group-convergence', await run()));
}
