/**
 * An I/O error (EIO, injected through the FaultyEngine on one partition's files) takes that partition offline for
 * writes with one clear log line, and nothing else: the other partitions keep taking produces, the failed one
 * answers KAFKA_STORAGE_ERROR (also after the disk "heals": EIO is not retried), reads of what it held still work
 * byte-identical, Metadata lists the broker in the partition's offlineReplicas (and kafkajs keeps producing to the
 * healthy partitions of the same topic), and berth_offline_partitions counts it. After a restart the partition is writable again, nothing acknowledged is
 * lost, a torn write is cut off, and `berth segments verify` is clean. Every io engine and fetch path.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { segmentsVerify } from '../../bench/kill-rounds.js';
import type { KafkaClient } from '../../cli/kafka-client.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { DescribeTopicPartitions } from '../../protocol/generated/describe-topic-partitions.js';
import { OUT_OF_SPACE_RETRY_MS } from '../../storage/partition-log.js';
import { brokerModes } from '../helpers/broker.js';
import { compatConfig, createTopic, readPartition } from '../helpers/compat-readback.js';
import {
  asSent,
  type FaultSession,
  gaugeValue,
  injectFaults,
  makeBatch,
  partitionMetadata,
  produceTo,
  startFaultSession,
} from './fault-helpers.js';

const TOPIC = 'io-err';
const PARTITIONS = 3;

describe.each(brokerModes)('an I/O error on one partition ($name)', ({ config }) => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  function start(dataDir: string): Promise<FaultSession> {
    return startFaultSession(dataDir, compatConfig(config), cleanup);
  }

  /** Produces `n` batches to every partition; the acknowledged batches by partition. */
  async function fill(client: KafkaClient, n: number, seed: number): Promise<Buffer[][]> {
    const sent: Buffer[][] = Array.from({ length: PARTITIONS }, () => []);
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < PARTITIONS; p++) {
        const batch = makeBatch(`s${seed}-p${p}-b${i}`, 1 + (i % 5), 100 + i * 37, seed + i * 10 + p);
        const r = await produceTo(client, TOPIC, p, batch);
        expect(r.errorCode).toBe(ErrorCode.NONE);
        sent[p].push(batch);
      }
    }
    return sent;
  }

  async function expectHolds(client: KafkaClient, p: number, batches: Buffer[]): Promise<void> {
    const back = await readPartition(client, TOPIC, p);
    expect(back.batches).toHaveLength(batches.length);
    back.batches.forEach((b, i) => {
      expect(asSent(b.bytes, batches[i]).equals(batches[i]), `p${p} batch ${i}`).toBe(true);
    });
  }

  it('kafkajs keeps producing to the healthy partitions of a topic with an offline one', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'faults-eio-kafkajs-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const { b, client } = await start(dataDir);
    await createTopic(client, TOPIC, PARTITIONS);
    injectFaults(b, { errno: 'EIO', failWrite: 1, sticky: true, pathIncludes: `/${TOPIC}-1/` });
    expect((await produceTo(client, TOPIC, 1, makeBatch('x', 1, 10, 1))).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    const kafka = new Kafka({
      clientId: 'faults-kafkajs',
      brokers: [b.broker.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 1, initialRetryTime: 50 },
    });
    const producer = kafka.producer();
    await producer.connect();
    cleanup.push(() => producer.disconnect());
    for (const partition of [0, 2]) {
      const [r] = await producer.send({ topic: TOPIC, messages: [{ value: `to ${partition}`, partition }] });
      expect(r.errorCode).toBe(0);
    }
    await expect(producer.send({ topic: TOPIC, messages: [{ value: 'to 1', partition: 1 }] })).rejects.toThrow(/disk/i);
  });

  for (const fault of [
    // A failed write leaves a torn batch on disk that is never visible; after a failed fdatasync the batch was
    // written (readers see it) but not acknowledged, as a produce that timed out: the client must not count on it
    // either way.
    { what: 'a write', plan: { failWrite: 1, partialBytes: 100 }, failedBatchVisible: false },
    { what: 'an fdatasync', plan: { failFdatasync: 1 }, failedBatchVisible: true },
  ]) {
    it(`EIO in ${fault.what} takes that partition offline, and only it`, { timeout: 60_000 }, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'faults-eio-'));
      cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
      const first = await start(dataDir);
      await createTopic(first.client, TOPIC, PARTITIONS);
      const sent = await fill(first.client, 6, 1);
      expect(await gaugeValue(first.b.broker, 'berth_offline_partitions')).toBe(0);

      injectFaults(first.b, { ...fault.plan, errno: 'EIO', sticky: true, pathIncludes: `/${TOPIC}-1/` });
      const failedBatch = makeBatch('lost', 3, 500, 99);
      const failed = await produceTo(first.client, TOPIC, 1, failedBatch);
      expect(failed.errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
      if (fault.failedBatchVisible) sent[1].push(failedBatch);
      // One log line, naming the partition, the errno, the call and the file.
      const offlineLines = first.b.lines().filter((l) => l.msg.includes('is offline for writes'));
      expect(offlineLines).toHaveLength(1);
      expect(offlineLines[0].msg).toMatch(
        new RegExp(`partition ${TOPIC}-1 is offline for writes: EIO in (write|fdatasync) on \\S*${TOPIC}-1`),
      );
      expect(offlineLines[0].msg).toContain('offline until restart');

      // The other partitions keep working, the failed one keeps failing.
      for (const p of [0, 2]) {
        const batch = makeBatch(`after-p${p}`, 2, 300, 500 + p);
        expect((await produceTo(first.client, TOPIC, p, batch)).errorCode).toBe(ErrorCode.NONE);
        sent[p].push(batch);
      }
      expect((await produceTo(first.client, TOPIC, 1, makeBatch('x', 1, 10, 7))).errorCode).toBe(
        ErrorCode.KAFKA_STORAGE_ERROR,
      );
      // EIO is not retried: with the disk "healed" and the out-of-space retry interval past, still offline.
      injectFaults(first.b, {});
      await new Promise((r) => setTimeout(r, OUT_OF_SPACE_RETRY_MS * 1.5));
      expect((await produceTo(first.client, TOPIC, 1, makeBatch('y', 1, 10, 8))).errorCode).toBe(
        ErrorCode.KAFKA_STORAGE_ERROR,
      );
      // Reads of what it held still work, byte-identical; the others hold everything.
      for (const p of [0, 1, 2]) await expectHolds(first.client, p, sent[p]);
      const md = await partitionMetadata(first.client, TOPIC);
      // Metadata lists the broker as an offline replica of that partition only (error codes stay NONE, as Kafka's).
      expect(md.map((p) => p.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.NONE, ErrorCode.NONE]);
      expect(md.map((p) => p.offlineReplicas)).toEqual([[], [first.b.broker.broker.nodeId], []]);
      const described = await first.client.request(DescribeTopicPartitions, {
        topics: [{ name: TOPIC }],
        responsePartitionLimit: 100,
        cursor: null,
      });
      expect(described.topics[0].partitions.map((p) => p.offlineReplicas)).toEqual([
        [],
        [first.b.broker.broker.nodeId],
        [],
      ]);
      expect(md[1].leaderId).toBe(first.b.broker.broker.nodeId);
      expect(await gaugeValue(first.b.broker, 'berth_offline_partitions')).toBe(1);
      expect(first.b.lines().filter((l) => l.msg.includes('is offline for writes'))).toHaveLength(1);
      await first.stop();

      // After a restart (recovery scans the offline partition's tail: its stop was not clean): writable again,
      // nothing acknowledged lost, the torn write gone, the files verify clean.
      const second = await start(dataDir);
      for (const p of [0, 1, 2]) await expectHolds(second.client, p, sent[p]);
      const again = makeBatch('again', 2, 200, 77);
      const r = await produceTo(second.client, TOPIC, 1, again);
      expect(r.errorCode).toBe(ErrorCode.NONE);
      // 1+2+3+4+5+1 records acknowledged, then the 3 of the failed batch when it is visible.
      expect(r.baseOffset).toBe(BigInt(16 + (fault.failedBatchVisible ? 3 : 0)));
      sent[1].push(again);
      await expectHolds(second.client, 1, sent[1]);
      expect((await partitionMetadata(second.client, TOPIC)).map((p) => p.offlineReplicas)).toEqual([[], [], []]);
      expect(await gaugeValue(second.b.broker, 'berth_offline_partitions')).toBe(0);
      await second.stop();
      expect(segmentsVerify(dataDir)).toBeNull();
    });
  }
});
