/**
 * `berth groups ...` spawned against a broker: an offsets-only group (list, describe with lag, reset, delete) and a
 * live kafkajs consumer group (members and assignments).
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import { commitGroupOffsets } from '../../cli/admin-ops.js';
import { connectClient, startTestBroker } from '../helpers/broker.js';
import { runBerth } from './cli-harness.js';

describe('berth groups (spawned)', () => {
  let broker: RunningBroker;
  let b: string[];

  beforeAll(async () => {
    broker = await startTestBroker();
    b = ['--bootstrap', broker.bootstrap];
    expect((await runBerth(['topics', 'create', 'work', '--partitions', '2', ...b])).code).toBe(0);
    const lines = Array.from({ length: 10 }, (_, i) => `m${i}`).join('\n');
    expect((await runBerth(['produce', 'work', '-p', '0', ...b], { input: lines })).code).toBe(0);
    expect((await runBerth(['produce', 'work', '-p', '1', ...b], { input: 'x\ny\nz' })).code).toBe(0);
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it('lists, describes with lag, resets and deletes an offsets-only group', async () => {
    const client = await connectClient(broker);
    await commitGroupOffsets(client, 'billing', [
      { topic: 'work', partition: 0, offset: 4n },
      { topic: 'work', partition: 1, offset: 3n },
    ]);
    client.close();

    const list = JSON.parse((await runBerth(['groups', 'list', '--json', ...b])).stdout);
    expect(list.groups.map((g: { groupId: string }) => g.groupId)).toContain('billing');

    const d = JSON.parse((await runBerth(['groups', 'describe', 'billing', '--json', ...b])).stdout);
    expect(
      d.offsets.map((o: { partition: number; committedOffset: string; logEndOffset: string; lag: string }) => [
        o.partition,
        o.committedOffset,
        o.logEndOffset,
        o.lag,
      ]),
    ).toEqual([
      [0, '4', '10', '6'],
      [1, '3', '3', '0'],
    ]);

    const dry = await runBerth(['groups', 'reset-offsets', 'billing', '--topic', 'work:0', '--to-earliest', ...b]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('dry run');
    const same = JSON.parse((await runBerth(['groups', 'describe', 'billing', '--json', ...b])).stdout);
    expect(same.offsets[0].committedOffset).toBe('4');

    const run = JSON.parse(
      (
        await runBerth([
          'groups',
          'reset-offsets',
          'billing',
          '--all-topics',
          '--shift-by',
          '-2',
          '--execute',
          '--json',
          ...b,
        ])
      ).stdout,
    );
    expect(run.offsets.map((o: { newOffset: string }) => o.newOffset)).toEqual(['2', '1']);
    const after = JSON.parse((await runBerth(['groups', 'describe', 'billing', '--json', ...b])).stdout);
    expect(after.offsets.map((o: { lag: string }) => o.lag)).toEqual(['8', '2']);

    const del = await runBerth(['groups', 'delete', 'billing', ...b]);
    expect(del.stdout).toBe('Deleted group billing\n');
    expect(del.code).toBe(0);
  });

  it('describes a live kafkajs consumer group with members and assignments', async () => {
    const kafka = new Kafka({ clientId: 'ops-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: 'live' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'work', fromBeginning: true });
    let seen = 0;
    const done = new Promise<void>((resolve) => {
      consumer.run({
        eachMessage: async () => {
          seen++;
          if (seen === 13) resolve();
        },
      });
    });
    await done;
    await consumer.commitOffsets([
      { topic: 'work', partition: 0, offset: '10' },
      { topic: 'work', partition: 1, offset: '3' },
    ]);
    try {
      const d = JSON.parse((await runBerth(['groups', 'describe', 'live', '--json', ...b])).stdout);
      expect(d.state).toBe('Stable');
      expect(d.members).toHaveLength(1);
      expect(d.members[0].assignment).toEqual([{ topic: 'work', partitions: [0, 1] }]);
      expect(d.offsets.map((o: { lag: string }) => o.lag)).toEqual(['0', '0']);
      const busy = await runBerth(['groups', 'delete', 'live', ...b]);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toContain('NON_EMPTY_GROUP');
    } finally {
      await consumer.disconnect();
    }
  });
});
