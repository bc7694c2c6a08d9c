/**
 * The broker's catalogue of topics: name, topic id, partition count and config overrides, kept durable in an
 * internal state log (one record per change, compacted to a snapshot on open). Topic names follow Kafka's rules.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, KafkaError } from '../protocol/error-codes.js';
import { randomUuid } from '../protocol/uuid.js';
import { StateLog } from '../storage/state-log.js';

export interface TopicInfo {
  name: string;
  topicId: string;
  partitions: number;
  /** Topic-level overrides only (Kafka names); broker defaults fill the rest. */
  configs: Record<string, string>;
  internal: boolean;
}

type TopicChange = { type: 'upsert'; topic: TopicInfo } | { type: 'delete'; name: string; topicId: string };

export const MAX_TOPIC_NAME_LENGTH = 249;
const LEGAL_TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;

/** Throws INVALID_TOPIC_EXCEPTION for names Kafka would refuse. */
export function validateTopicName(name: string): void {
  const bad = (why: string) =>
    new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `invalid topic name "${name}": ${why}`);
  if (name.length === 0) throw bad('it is empty');
  if (name === '.' || name === '..') throw bad('"." and ".." are not allowed');
  if (name.length > MAX_TOPIC_NAME_LENGTH) throw bad(`it is longer than ${MAX_TOPIC_NAME_LENGTH} characters`);
  if (!LEGAL_TOPIC_NAME.test(name)) throw bad('only ASCII letters, digits, ".", "_" and "-" are allowed');
}

/** Kafka treats "." and "_" as the same in metric names, so two names differing only there collide. */
function collisionKey(name: string): string {
  return name.replace(/\./g, '_');
}

export class TopicRegistry {
  private readonly byName = new Map<string, TopicInfo>();
  private readonly byId = new Map<string, TopicInfo>();
  private readonly byCollisionKey = new Map<string, string>();
  /** Names being created right now, so two concurrent creates of one name cannot both succeed. */
  private readonly creating = new Set<string>();

  private constructor(private readonly log: StateLog<TopicChange>) {}

  static async open(metadataDir: string): Promise<TopicRegistry> {
    mkdirSync(metadataDir, { recursive: true });
    const { log, records } = await StateLog.open<TopicChange>(join(metadataDir, 'topics.log'));
    const registry = new TopicRegistry(log);
    for (const change of records) registry.apply(change);
    await log.compact([...registry.byName.values()].map((topic) => ({ type: 'upsert', topic })));
    return registry;
  }

  get(name: string): TopicInfo | undefined {
    return this.byName.get(name);
  }

  getById(topicId: string): TopicInfo | undefined {
    return this.byId.get(topicId);
  }

  list(): TopicInfo[] {
    return [...this.byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Checks that `name` could be created now, without creating it. */
  checkCreatable(name: string): void {
    validateTopicName(name);
    if (this.byName.has(name) || this.creating.has(name))
      throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `topic "${name}" already exists`);
    const other = this.byCollisionKey.get(collisionKey(name));
    if (other !== undefined)
      throw new KafkaError(
        ErrorCode.INVALID_TOPIC_EXCEPTION,
        `topic "${name}" collides with existing topic "${other}"`,
      );
  }

  async create(
    name: string,
    partitions: number,
    configs: Record<string, string>,
    internal = false,
  ): Promise<TopicInfo> {
    this.checkCreatable(name);
    if (!Number.isInteger(partitions) || partitions < 1)
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `partition count must be at least 1, got ${partitions}`);
    const topic: TopicInfo = { name, topicId: randomUuid(), partitions, configs: { ...configs }, internal };
    this.creating.add(name);
    try {
      await this.commit({ type: 'upsert', topic });
    } finally {
      this.creating.delete(name);
    }
    return topic;
  }

  async delete(name: string): Promise<TopicInfo> {
    const topic = this.require(name);
    await this.commit({ type: 'delete', name, topicId: topic.topicId });
    return topic;
  }

  async setPartitions(name: string, partitions: number): Promise<TopicInfo> {
    const topic = this.require(name);
    await this.commit({ type: 'upsert', topic: { ...topic, partitions } });
    return this.require(name);
  }

  async setConfigs(name: string, configs: Record<string, string>): Promise<TopicInfo> {
    const topic = this.require(name);
    await this.commit({ type: 'upsert', topic: { ...topic, configs: { ...configs } } });
    return this.require(name);
  }

  close(): Promise<void> {
    return this.log.close();
  }

  private require(name: string): TopicInfo {
    const t = this.byName.get(name);
    if (!t) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic "${name}"`);
    return t;
  }

  private async commit(change: TopicChange): Promise<void> {
    await this.log.append(change);
    this.apply(change);
  }

  private apply(change: TopicChange): void {
    if (change.type === 'upsert') {
      const previous = this.byName.get(change.topic.name);
      if (previous) this.byId.delete(previous.topicId);
      this.byName.set(change.topic.name, change.topic);
      this.byId.set(change.topic.topicId, change.topic);
      this.byCollisionKey.set(collisionKey(change.topic.name), change.topic.name);
    } else {
      this.byName.delete(change.name);
      this.byId.delete(change.topicId);
      this.byCollisionKey.delete(collisionKey(change.name));
    }
  }
}
