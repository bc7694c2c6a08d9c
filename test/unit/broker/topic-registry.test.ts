import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TopicRegistry, validateTopicName } from '../../../broker/topic-registry.js';
import { ErrorCode, KafkaError } from '../../../protocol/error-codes.js';

function errorCodeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof KafkaError ? err.errorCode : -999;
  }
  return undefined;
}

describe('validateTopicName', () => {
  it('follows Kafka naming rules', () => {
    expect(errorCodeOf(() => validateTopicName('orders.v1_a-b'))).toBeUndefined();
    for (const bad of ['', '.', '..', 'a b', 'ä', 'x'.repeat(250), 'a/b']) {
      expect(errorCodeOf(() => validateTopicName(bad))).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    }
    expect(errorCodeOf(() => validateTopicName('x'.repeat(249)))).toBeUndefined();
  });
});

describe('TopicRegistry', () => {
  it('creates, survives a reopen, alters and deletes topics', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-topics-'));
    const reg = await TopicRegistry.open(dir);
    const a = await reg.create('a', 3, { 'retention.ms': '1000' });
    expect(a.topicId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    await reg.create('b', 1, {});
    await reg.setPartitions('a', 5);
    await reg.setConfigs('b', { 'segment.bytes': '4096' });
    await reg.close();

    const again = await TopicRegistry.open(dir);
    expect(again.list().map((t) => [t.name, t.partitions])).toEqual([
      ['a', 5],
      ['b', 1],
    ]);
    expect(again.get('a')?.topicId).toBe(a.topicId);
    expect(again.getById(a.topicId)?.name).toBe('a');
    expect(again.get('b')?.configs).toEqual({ 'segment.bytes': '4096' });
    await again.delete('a');
    expect(again.getById(a.topicId)).toBeUndefined();
    await again.close();

    const third = await TopicRegistry.open(dir);
    expect(third.list().map((t) => t.name)).toEqual(['b']);
    await third.close();
  });

  it('refuses duplicates, collisions and bad partition counts', async () => {
    const reg = await TopicRegistry.open(mkdtempSync(join(tmpdir(), 'berth-topics-')));
    await reg.create('my.topic', 1, {});
    await expect(reg.create('my.topic', 1, {})).rejects.toMatchObject({ errorCode: ErrorCode.TOPIC_ALREADY_EXISTS });
    await expect(reg.create('my_topic', 1, {})).rejects.toMatchObject({
      errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION,
    });
    await expect(reg.create('zero', 0, {})).rejects.toMatchObject({ errorCode: ErrorCode.INVALID_PARTITIONS });
    const results = await Promise.allSettled([reg.create('race', 1, {}), reg.create('race', 1, {})]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    await reg.close();
  });
});
