/**
 * librdkafka consumer groups against Berth: `kcat -G` (librdkafka 2.0.2) and Debian's confluent_kafka
 * (/usr/bin/python3) with the range and cooperative-sticky assignors, consuming what was produced and committing.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import type { KafkaClient } from '../../cli/kafka-client.js';
import { CreateTopics } from '../../protocol/generated/create-topics.js';
import { OffsetFetch } from '../../protocol/generated/offset-fetch.js';
import { connectClient, startTestBroker } from '../helpers/broker.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const hasKcat = spawnSync('kcat', ['-V']).status === 0;
const hasConfluent = spawnSync(PYTHON, ['-c', 'import confluent_kafka']).status === 0;
const MESSAGES = 200;

describe('librdkafka consumer groups', () => {
  let broker: RunningBroker;
  let client: KafkaClient;

  beforeAll(async () => {
    // Fail loudly (not skip) when a client is missing: CI installs both.
    expect(hasKcat, 'kcat must be installed').toBe(true);
    expect(hasConfluent, `${PYTHON} must have confluent_kafka (python3-confluent-kafka)`).toBe(true);
    broker = await startTestBroker({ config: { 'group.initial.rebalance.delay.ms': 200 } });
    client = await connectClient(broker);
    const r = await client.request(CreateTopics, {
      topics: [{ name: 'rd-topic', numPartitions: 4, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(r.topics[0].errorCode).toBe(0);
    const input = Array.from({ length: MESSAGES }, (_, i) => `k${i}:value-${i}`).join('\n');
    const p = run('kcat', ['-P', '-b', broker.bootstrap, '-t', 'rd-topic', '-K', ':']);
    p.child.stdin!.end(`${input}\n`);
    await p;
  });

  afterAll(async () => {
    client?.close();
    await broker?.stop();
  });

  async function committedTotal(groupId: string): Promise<bigint> {
    const r = await client.send(OffsetFetch, 8, { groups: [{ groupId, topics: null }], requireStable: true });
    return r.groups![0].topics.flatMap((t) => t.partitions).reduce((n, p) => n + p.committedOffset, 0n);
  }

  it('kcat -G consumes everything produced and commits its offsets', async () => {
    const { stdout } = await run(
      'kcat',
      [
        '-b',
        broker.bootstrap,
        '-G',
        'kcat-group',
        '-o',
        'beginning',
        '-e',
        '-q',
        '-X',
        'auto.commit.interval.ms=100',
        'rd-topic',
      ],
      { timeout: 60_000 },
    );
    const values = stdout.split('\n').filter((l) => l.length > 0);
    expect(new Set(values).size).toBe(MESSAGES);
    const d = broker.broker.groups.describe('kcat-group');
    expect(d?.protocolType).toBe('consumer');
    expect(await committedTotal('kcat-group')).toBe(BigInt(MESSAGES));
  });

  it.each(['range', 'cooperative-sticky'])(
    'confluent_kafka, two members, %s assignor: all consumed, both assigned, offsets committed',
    async (strategy) => {
      const groupId = `py-${strategy}`;
      const { stdout } = await run(
        PYTHON,
        [
          resolve('test/compat/fixtures/confluent-group-consumer.py'),
          broker.bootstrap,
          'rd-topic',
          groupId,
          strategy,
          String(MESSAGES),
        ],
        { timeout: 120_000 },
      );
      const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { distinct: number; assigned: number[][] };
      expect(result.distinct).toBe(MESSAGES);
      expect(result.assigned.flat().sort()).toEqual([0, 1, 2, 3]);
      expect(result.assigned.every((a) => a.length > 0)).toBe(true);
      expect(await committedTotal(groupId)).toBe(BigInt(MESSAGES));
    },
  );

  it('a restarted static member (group.instance.id) gets its partitions back without a rebalance', async () => {
    const groupId = 'py-static';
    const child = spawn(
      PYTHON,
      [resolve('test/compat/fixtures/confluent-static-member.py'), broker.bootstrap, 'rd-topic', groupId],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    let generationBefore = -1;
    let membersBefore: string[] = [];
    const lines: string[] = [];
    await new Promise<void>((done, fail) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        for (;;) {
          const nl = out.indexOf('\n');
          if (nl < 0) break;
          const line = out.slice(0, nl);
          out = out.slice(nl + 1);
          lines.push(line);
          if (line.startsWith('BEFORE ')) {
            const g = broker.broker.groups.group(groupId)!;
            generationBefore = g.generationId;
            membersBefore = [...g.members.keys()];
          }
        }
      });
      child.once('exit', (code) => (code === 0 ? done() : fail(new Error(`python exited with ${code}`))));
    });
    const before = JSON.parse(lines.find((l) => l.startsWith('BEFORE '))!.slice(7)) as number[][];
    const after = JSON.parse(lines.find((l) => l.startsWith('AFTER '))!.slice(6)) as number[][];
    expect(before.flat().sort()).toEqual([0, 1, 2, 3]);
    expect(after).toEqual(before);
    const g = broker.broker.groups.group(groupId)!;
    // The restarted instance took a new member id, yet the generation did not move: no rebalance happened.
    expect(g.generationId).toBe(generationBefore);
    expect(membersBefore).toHaveLength(2);
    const membersAfter = [...g.members.keys()];
    expect(membersAfter).toHaveLength(2);
    expect(membersAfter.filter((id) => membersBefore.includes(id))).toHaveLength(1);
  });
});
