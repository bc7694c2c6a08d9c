/**
 * KIP-848 with a client that speaks it: node-rdkafka (librdkafka 2.12) consumers with `group.protocol=consumer`
 * and the broker-side uniform and range assignors. One to three members join and leave while a producer writes;
 * every message is committed synchronously once processed. Checked: every message consumed; a message is processed
 * again only if no earlier processing of it was committed (the at-least-once window of a member that leaves); a
 * partition never has two owners at once; on a join, members that stay keep part of what they owned and are never
 * told to revoke a partition they end up owning (uniform: they only give up); ConsumerGroupDescribe reports the
 * members, their epochs, subscriptions and assignments; committed offsets reach the log end.
 *
 * Each consumer runs in its own process (test/compat/fixtures/node-rdkafka-member.mjs): commitMessageSync blocks
 * its event loop, and librdkafka's destroy can hang after a clean close (librdkafka issue #4674, a toppar refcount
 * leak), which must not take the test process with it: a member that has left the group and not exited a few
 * seconds later is killed. node-rdkafka must load: a missing client fails the suite, never skips it.
 */
import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import type { KafkaClient } from '../../cli/kafka-client.js';
import { ErrorCode as E } from '../../protocol/error-codes.js';
import { ConsumerGroupDescribe } from '../../protocol/generated/consumer-group-describe.js';
import { CreateTopics } from '../../protocol/generated/create-topics.js';
import { OffsetFetch } from '../../protocol/generated/offset-fetch.js';
import { brokerModes, connectClient, startTestBroker } from '../helpers/broker.js';

const require = createRequire(import.meta.url);
const { Kafka, logLevel } = require('kafkajs') as typeof import('kafkajs');
const MEMBER_SCRIPT = resolve('test/compat/fixtures/node-rdkafka-member.mjs');
// node-rdkafka is a NAN addon, built for the Node that ran `npm install`. The members may run on that Node while the
// broker under test runs on another (CI's second pass runs the suite on Node 24 with an install made by Node 20).
const MEMBER_NODE = process.env.BERTH_NODE_RDKAFKA_NODE || process.execPath;

const PARTITIONS = 6;
const MAX_BACKLOG = 36;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  explain: () => Promise<string> = async () => '',
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${await explain().catch(String)}`);
    await sleep(50);
  }
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

type Report =
  | { t: 'ready'; version: string; at: string }
  | { t: 'load-error'; message: string; at: string }
  | { t: 'assign' | 'revoke'; parts: number[]; at: string }
  | { t: 'msg'; p: number; o: number; v: string; committed: boolean; error: string | null; at: string }
  | { t: 'closed'; at: string };

/** One consumer process, with what it owns according to its rebalance callbacks. */
class Member {
  readonly owned = new Set<number>();
  readonly revoked: number[][] = [];
  left = false;
  private exited: Promise<void>;

  constructor(
    readonly index: number,
    readonly clientId: string,
    readonly child: ChildProcess,
    readonly events: Array<Report & { member: number }>,
  ) {
    this.exited = new Promise((r) => child.once('exit', () => r()));
    child.on('message', (r: Report) => {
      events.push({ ...r, member: index });
      if (r.t === 'assign') for (const p of r.parts) this.owned.add(p);
      if (r.t === 'revoke') {
        this.revoked.push(r.parts);
        for (const p of r.parts) this.owned.delete(p);
      }
    });
  }

  static async start(
    index: number,
    args: { bootstrap: string; groupId: string; topic: string; assignor: string },
    events: Array<Report & { member: number }>,
  ): Promise<Member> {
    const clientId = `nrk-${args.assignor}-${index}`;
    const child = fork(MEMBER_SCRIPT, [args.bootstrap, args.groupId, args.topic, args.assignor, clientId], {
      execPath: MEMBER_NODE,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const m = new Member(index, clientId, child, events);
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const first = await new Promise<Report>((res, rej) => {
      child.once('message', res);
      child.once('exit', (code) => rej(new Error(`member ${index} exited with ${code} before it was ready`)));
    });
    if (first.t !== 'ready') throw new Error(`member ${index}: ${JSON.stringify(first)}`);
    expect(first.version >= '2.12.0', `librdkafka ${first.version} predates 2.12`).toBe(true);
    return m;
  }

  /** Closes the consumer; once the group no longer lists it, gives the process a few seconds to exit. */
  async stop(stillListed: () => Promise<boolean>): Promise<void> {
    this.left = true;
    this.child.send('stop');
    await until(`member ${this.index} to leave the group`, async () => !(await stillListed()));
    const exited = await Promise.race([this.exited.then(() => true), sleep(5000).then(() => false)]);
    // librdkafka's destroy may hang after the member left cleanly (issue #4674): nothing of the group is at stake.
    if (!exited) this.child.kill('SIGKILL');
    await this.exited;
    this.owned.clear();
  }
}

/** Replays every member's events in monotonic-clock order and returns what broke the rules. */
function audit(events: ReadonlyArray<Report & { member: number }>) {
  const sorted = [...events].sort((a, b) => (BigInt(a.at) < BigInt(b.at) ? -1 : BigInt(a.at) > BigInt(b.at) ? 1 : 0));
  const owner = new Map<number, number>();
  const processed = new Map<string, Array<{ member: number; committed: boolean }>>();
  const violations: string[] = [];
  const values = new Set<string>();
  let duplicates = 0;
  let uncommitted = 0;
  for (const e of sorted) {
    if (e.t === 'assign') {
      for (const p of e.parts) {
        const o = owner.get(p);
        if (o !== undefined && o !== e.member)
          violations.push(`partition ${p} assigned to ${e.member} while ${o} owns it`);
        owner.set(p, e.member);
      }
    } else if (e.t === 'revoke') {
      for (const p of e.parts) if (owner.get(p) === e.member) owner.delete(p);
    } else if (e.t === 'closed') {
      for (const [p, o] of owner) if (o === e.member) owner.delete(p);
    } else if (e.t === 'msg') {
      const k = `${e.p}:${e.o}`;
      const list = processed.get(k) ?? [];
      if (list.some((x) => x.committed)) violations.push(`${k} processed by ${e.member} after a committed processing`);
      if (list.length > 0) duplicates++;
      if (!e.committed) uncommitted++;
      list.push({ member: e.member, committed: e.committed });
      processed.set(k, list);
      values.add(e.v);
    }
  }
  return { violations, values, duplicates, uncommitted };
}

describe('node-rdkafka (librdkafka 2.12) with group.protocol=consumer', () => {
  beforeAll(() => {
    const probe = spawnSync(MEMBER_NODE, ['-e', "require('node-rdkafka')"], { encoding: 'utf8' });
    expect(probe.status, `node-rdkafka must load with ${MEMBER_NODE}: ${probe.error ?? probe.stderr}`).toBe(0);
  });

  it.each([
    { assignor: 'uniform', mode: brokerModes[0] },
    { assignor: 'range', mode: brokerModes[1] },
  ])(
    '$assignor assignor ($mode.name): members join and leave while a producer writes; nothing lost',
    async ({ assignor, mode }) => {
      const broker: RunningBroker = await startTestBroker({
        config: { ...mode.config, 'group.consumer.heartbeat.interval.ms': 250 },
      });
      cleanups.push(() => broker.stop());
      const client: KafkaClient = await connectClient(broker, 'nrk-admin');
      cleanups.push(async () => client.close());
      const topic = `nrk-${assignor}`;
      const groupId = `nrk-group-${assignor}`;
      const created = await client.request(CreateTopics, {
        topics: [{ name: topic, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 5000,
        validateOnly: false,
      });
      expect(created.topics[0].errorCode).toBe(E.NONE);

      const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, clientId: 'nrk-producer' });
      const producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      const events: Array<Report & { member: number }> = [];
      const processedValues = () => new Set(events.flatMap((e) => (e.t === 'msg' ? [e.v] : []))).size;
      let produced = 0;
      let producing = true;
      const producerLoop = (async () => {
        while (producing) {
          // The producer stays at most MAX_BACKLOG messages ahead of the members. A member commits each message
          // synchronously (answered after the broker's fdatasync) on its only JS thread, and its rebalance callbacks
          // wait behind its backlog: on a busy machine (CI's first pass runs while npm ci's writes are still being
          // flushed) an unbounded backlog kept a member from acknowledging a revocation for longer than the wait.
          if (produced - processedValues() > MAX_BACKLOG) {
            await sleep(25);
            continue;
          }
          await producer.send({
            topic,
            messages: Array.from({ length: 6 }, () => ({ key: `k${produced % 11}`, value: `m${produced++}` })),
          });
          await sleep(25);
        }
      })();
      cleanups.push(async () => {
        producing = false;
        await producerLoop.catch(() => undefined);
        await producer.disconnect();
      });

      const describeGroup = async () =>
        (await client.send(ConsumerGroupDescribe, 1, { groupIds: [groupId], includeAuthorizedOperations: false }))
          .groups[0];
      const members: Member[] = [];
      const live = () => members.filter((m) => !m.left);
      const converged = async () => {
        const l = live();
        const owned = l.flatMap((m) => [...m.owned]);
        if (new Set(owned).size !== owned.length || owned.length !== PARTITIONS) return false;
        if (l.some((m) => m.owned.size === 0)) return false;
        const d = await describeGroup();
        return d.errorCode === E.NONE && d.groupState === 'Stable' && d.members.length === l.length;
      };
      // What a timed-out wait prints: the broker's view of the group and each live member's own view and last events.
      const groupState = async () => {
        const d = await describeGroup();
        const parts = (a: { topicPartitions: Array<{ partitions: number[] }> }) =>
          a.topicPartitions.flatMap((tp) => tp.partitions).join(',');
        const lines = [
          `group ${d.groupState} epoch ${d.groupEpoch} assignment epoch ${d.assignmentEpoch}`,
          ...d.members.map(
            (m) =>
              `  broker: ${m.clientId} epoch ${m.memberEpoch} owns [${parts(m.assignment)}] target [${parts(m.targetAssignment)}]`,
          ),
          ...live().map((m) => {
            const recent = events
              .filter((e) => e.member === m.index && e.t !== 'msg')
              .slice(-4)
              .map((e) => JSON.stringify(e));
            return `  member ${m.index}: owns [${[...m.owned].join(',')}], last: ${recent.join(' ')}`;
          }),
        ];
        return lines.join('\n');
      };
      const memberJoins = async (index: number) => {
        const stayers = live().map((m) => ({ m, before: new Set(m.owned), revokedBefore: m.revoked.length }));
        members.push(await Member.start(index, { bootstrap: broker.bootstrap, groupId, topic, assignor }, events));
        await until(`${live().length} members to converge after member ${index} joined`, converged, groupState);
        for (const { m, before, revokedBefore } of stayers) {
          const revoked = m.revoked.slice(revokedBefore).flat();
          // Incremental: a member that stays gives up only what moves away, and keeps part of what it had.
          expect(
            revoked.filter((p) => m.owned.has(p)),
            `member ${m.index} revoked what it kept`,
          ).toEqual([]);
          expect(
            [...m.owned].some((p) => before.has(p)),
            `member ${m.index} lost everything on a join`,
          ).toBe(true);
          if (assignor === 'uniform') expect([...m.owned].every((p) => before.has(p))).toBe(true);
        }
      };
      const memberLeaves = async (index: number) => {
        const m = members.find((x) => x.index === index)!;
        await m.stop(async () => (await describeGroup()).members.some((x) => x.clientId === m.clientId));
        await until(`${live().length} members to converge after member ${index} left`, converged, groupState);
      };

      await memberJoins(0);
      await sleep(500);
      await memberJoins(1);
      await sleep(500);
      await memberJoins(2);

      const d = await describeGroup();
      expect(d.assignorName).toBe(assignor);
      expect(d.groupEpoch).toBe(d.assignmentEpoch);
      expect(d.members.map((x) => x.clientId).sort()).toEqual(live().map((m) => m.clientId));
      for (const dm of d.members) {
        const m = members.find((x) => x.clientId === dm.clientId)!;
        expect(dm.memberEpoch).toBe(d.assignmentEpoch);
        expect(dm.subscribedTopicNames).toEqual([topic]);
        expect(dm.assignment.topicPartitions.flatMap((tp) => tp.partitions).sort()).toEqual([...m.owned].sort());
        expect(dm.targetAssignment.topicPartitions.flatMap((tp) => tp.partitions).sort()).toEqual([...m.owned].sort());
      }

      await sleep(500);
      await memberLeaves(1);
      await sleep(500);
      await memberJoins(3);
      await sleep(500);
      await memberLeaves(0);
      await sleep(500);
      producing = false;
      await producerLoop;
      const consumed = () => audit(events).values.size;
      await until(`all ${produced} messages processed`, () => consumed() === produced);

      const fetched = await client.send(OffsetFetch, 9, {
        groups: [{ groupId, memberId: null, memberEpoch: -1, topics: null }],
        requireStable: true,
      });
      const committed = fetched.groups![0].topics.flatMap((t) => t.partitions);
      expect(committed.reduce((n, p) => n + p.committedOffset, 0n)).toBe(BigInt(produced));

      // One at a time, the next only once the group converged: closing a node-rdkafka consumer in the middle of
      // its rebalance can deadlock the client (its close joins the consume thread, which waits on the callback).
      await memberLeaves(live()[0].index);
      const last = live()[0];
      await last.stop(async () => (await describeGroup()).members.some((x) => x.clientId === last.clientId));
      expect((await describeGroup()).groupState).toBe('Empty');

      const result = audit(events);
      expect(result.violations).toEqual([]);
      expect(result.values.size).toBe(produced);
      // Every duplicate follows a processing whose commit failed (audit checks that), so there are no more of them
      // than failed commits (a commit racing a member-epoch bump fails with STALE_MEMBER_EPOCH).
      expect(result.duplicates).toBeLessThanOrEqual(result.uncommitted);
    },
    300_000,
  );
});
