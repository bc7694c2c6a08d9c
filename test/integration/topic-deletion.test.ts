/**
 * Deleting a topic through the broker: DeleteTopics answers once the partition directory is renamed
 * (`<topic>-<partition>.<uuid>-delete`), its files are then cut log.file.delete.chunk.bytes at a time in the
 * background while the broker goes on serving (berth_log_delete_pending and berth_log_deleted_bytes show it), and a
 * removal a stop interrupts is finished by the next start.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import { gaugeValue, startTestBroker } from '../helpers/broker.js';

const MiB = 1024 * 1024;
const deletion = { 'log.file.delete.chunk.bytes': MiB, 'log.file.delete.chunk.interval.ms': 40 };

function deleteDirs(dataDir: string): string[] {
  return fs.readdirSync(dataDir).filter((n) => n.endsWith('-delete'));
}

/** The size of the one .log file under the `-delete` directories, or null once there is none. */
function deletingLogSize(dataDir: string): number | null {
  for (const d of deleteDirs(dataDir)) {
    for (const f of fs.readdirSync(path.join(dataDir, d))) {
      if (f.endsWith('.log')) {
        try {
          return fs.statSync(path.join(dataDir, d, f)).size;
        } catch {
          return null;
        }
      }
    }
  }
  return null;
}

describe('topic deletion', () => {
  let broker: RunningBroker | undefined;
  let dataDir = '';
  afterEach(async () => {
    await broker?.stop();
    broker = undefined;
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    dataDir = '';
  });

  async function fill(b: RunningBroker, topic: string, mib: number): Promise<Kafka> {
    const kafka = new Kafka({ brokers: [b.bootstrap], logLevel: logLevel.NOTHING, clientId: 'deletion-test' });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [] }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    const value = Buffer.alloc(256 * 1024, 0x62);
    // Three records a batch: under the default max.message.bytes (1 MB).
    for (let sent = 0; sent < mib * MiB; sent += 3 * value.length) {
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 3 }, () => ({ value })) });
    }
    await producer.disconnect();
    return kafka;
  }

  it('answers at once, then removes the files a chunk at a time while serving', async () => {
    broker = await startTestBroker({ config: deletion });
    const kafka = await fill(broker, 'doomed', 6);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: ['doomed'] });
      expect(await admin.listTopics()).not.toContain('doomed');
      expect(fs.readdirSync(broker.dataDir).filter((n) => n.startsWith('doomed-0') && !n.endsWith('-delete'))).toEqual(
        [],
      );
      // The metrics show the removal under way.
      expect(await gaugeValue(broker, 'berth_log_delete_pending')).toBeGreaterThanOrEqual(1);
      // Sizes seen while the removal runs: each less than the last by whole chunks.
      const sizes: number[] = [];
      const producer = kafka.producer();
      await producer.connect();
      for (let i = 0; deleteDirs(broker.dataDir).length > 0; i++) {
        const s = deletingLogSize(broker.dataDir);
        if (s !== null && sizes.at(-1) !== s) sizes.push(s);
        // The broker keeps serving meanwhile.
        await producer.send({ topic: 'alive', acks: -1, messages: [{ value: `v${i}` }] });
        await new Promise((r) => setTimeout(r, 10));
      }
      await producer.disconnect();
      expect(sizes.length).toBeGreaterThanOrEqual(3);
      for (let i = 1; i < sizes.length; i++) {
        expect(sizes[i]).toBeLessThan(sizes[i - 1]!);
        expect((sizes[i - 1]! - sizes[i]!) % MiB).toBe(0);
      }
      await broker.broker.logs.removalsSettled();
      expect(deleteDirs(broker.dataDir)).toEqual([]);
      expect(await gaugeValue(broker, 'berth_log_delete_pending')).toBe(0);
      expect(await gaugeValue(broker, 'berth_log_deleted_bytes')).toBeGreaterThanOrEqual(6 * MiB);
    } finally {
      await admin.disconnect();
    }
  });

  it('leaves an interrupted removal to the next start, which finishes it', async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-deletion-'));
    broker = await startTestBroker({ dataDir, config: { ...deletion, 'log.file.delete.chunk.interval.ms': 1000 } });
    const kafka = await fill(broker, 'halfway', 4);
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: ['halfway'] });
    await admin.disconnect();
    // One cut at most has happened (a second waits for the interval); stopping leaves the rest.
    await broker.stop();
    broker = undefined;
    expect(deleteDirs(dataDir)).toHaveLength(1);
    expect(deletingLogSize(dataDir)).toBeGreaterThan(MiB);
    broker = await startTestBroker({ dataDir, config: { ...deletion, 'log.file.delete.chunk.interval.ms': 1 } });
    await broker.broker.logs.removalsSettled();
    expect(deleteDirs(dataDir)).toEqual([]);
    const again = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await again.connect();
    expect(await again.listTopics()).not.toContain('halfway');
    await again.disconnect();
  });
});
