/**
 * Joins the topic catalogue to storage: creating a topic records it, then creates its partition logs; deleting
 * removes it from the catalogue first (so no request sees a half-deleted topic), then deletes the logs. At start-up
 * every catalogued partition is opened (recovered by storage), and partition directories of topics that are no
 * longer catalogued (a crash between the two steps) are deleted.
 */
import { ErrorCode, KafkaError } from '../protocol/error-codes.js';
import { forEachLimited } from '../storage/for-each-limited.js';
import type { LogManager } from '../storage/log-manager.js';
import type { PartitionLog } from '../storage/partition-log.js';
import type { BrokerConfig } from './config.js';
import { listSnapshots, loadProducerState, writeSnapshot } from './producer-snapshots.js';
import type { PartitionProducerState } from './producer-state.js';
import { topicConfigDef, topicConfigDefaults, validateTopicConfigs } from './topic-configs.js';
import type { TopicInfo, TopicRegistry } from './topic-registry.js';

/** What the broker keeps per partition besides its log. */
export interface PartitionHandle {
  readonly topic: string;
  readonly partition: number;
  readonly log: PartitionLog;
  readonly producers: PartitionProducerState;
  readonly leaderEpoch: number;
}

/** Single node: leadership never moves, so every partition stays at the epoch it was created with. */
const LEADER_EPOCH = 0;
/** Producer snapshots written at once on a clean shutdown. */
const SNAPSHOT_CONCURRENCY = 32;

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export class PartitionRegistry {
  private readonly handles = new Map<string, PartitionHandle>();
  private readonly autoCreating = new Map<string, Promise<TopicInfo>>();
  /** Partitions of creations in progress, counted against max.partitions before their logs exist. */
  private reservedPartitions = 0;

  constructor(
    readonly topics: TopicRegistry,
    readonly logs: LogManager,
    private readonly config: BrokerConfig,
    private readonly warn: (msg: string) => void = () => {},
    /** Called when a partition's written log end offset moves (wakes long-polling fetches). */
    private readonly onWritten: (topic: string, partition: number) => void = () => {},
  ) {}

  /** Opens the log of every catalogued partition and drops logs of topics that are gone. */
  async load(): Promise<void> {
    const wanted = new Set<string>();
    for (const topic of this.topics.list()) {
      for (let p = 0; p < topic.partitions; p++) {
        wanted.add(key(topic.name, p));
        await this.open(topic, p);
      }
    }
    for (const log of [...this.logs.partitions()]) {
      if (!wanted.has(key(log.topic, log.partition))) await this.logs.deletePartition(log.topic, log.partition);
    }
  }

  get(topic: string, partition: number): PartitionHandle | undefined {
    return this.handles.get(key(topic, partition));
  }

  all(): PartitionHandle[] {
    return [...this.handles.values()];
  }

  /** Metadata's offlineReplicas: this broker while the partition's log is offline for writes (a disk error). */
  offlineReplicas(topic: string, partition: number, nodeId: number): number[] {
    return this.get(topic, partition)?.log.offlineError != null ? [nodeId] : [];
  }

  leaderEpoch(topic: string, partition: number): number {
    return this.get(topic, partition)?.leaderEpoch ?? LEADER_EPOCH;
  }

  /** The topic's configs: its overrides over the broker defaults, under Kafka's topic config names. */
  effectiveConfigs(topic: string): Record<string, string> {
    return { ...topicConfigDefaults(this.config), ...(this.topics.get(topic)?.configs ?? {}) };
  }

  /** effectiveConfigs(topic)['max.message.bytes'], without building every config (asked once per produce). */
  maxMessageBytes(topic: string): number {
    const override = this.topics.get(topic)?.configs['max.message.bytes'];
    if (override !== undefined) return Number(override);
    return Number(this.config.entry('message.max.bytes').value ?? topicConfigDef('max.message.bytes')?.default);
  }

  /**
   * Throws POLICY_VIOLATION when `adding` more partitions would exceed max.partitions. Checked before anything is
   * recorded, so that a request for two billion partitions costs nothing.
   */
  checkPartitionLimit(adding: number, what: string): void {
    const max = this.config.number('max.partitions');
    const total = this.handles.size + this.reservedPartitions;
    if (adding > max - total) {
      throw new KafkaError(
        ErrorCode.POLICY_VIOLATION,
        `${what} would bring the broker to ${total + adding} partitions, over max.partitions ${max}`,
      );
    }
  }

  private async withPartitionBudget<T>(adding: number, what: string, create: () => Promise<T>): Promise<T> {
    this.checkPartitionLimit(adding, what);
    this.reservedPartitions += adding;
    try {
      return await create();
    } finally {
      this.reservedPartitions -= adding;
    }
  }

  async createTopic(name: string, partitions: number, configs: Record<string, string>): Promise<TopicInfo> {
    validateTopicConfigs(configs);
    return this.withPartitionBudget(partitions, `creating topic "${name}" with ${partitions} partitions`, async () => {
      const topic = await this.topics.create(name, partitions, configs);
      for (let p = 0; p < partitions; p++) await this.open(topic, p);
      return topic;
    });
  }

  /**
   * Creates a topic on first use, if the broker allows it. Concurrent first uses (a client's Metadata requests on
   * several connections) share one creation instead of racing to TOPIC_ALREADY_EXISTS.
   */
  autoCreateTopic(name: string): Promise<TopicInfo> {
    if (!this.config.boolean('auto.create.topics.enable')) {
      return Promise.reject(new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic "${name}"`));
    }
    const existing = this.topics.get(name);
    if (existing) return Promise.resolve(existing);
    let pending = this.autoCreating.get(name);
    if (!pending) {
      pending = this.createTopic(name, this.config.number('num.partitions'), {}).finally(() =>
        this.autoCreating.delete(name),
      );
      this.autoCreating.set(name, pending);
    }
    return pending;
  }

  async deleteTopic(name: string): Promise<TopicInfo> {
    const topic = await this.topics.delete(name);
    for (let p = 0; p < topic.partitions; p++) {
      this.handles.delete(key(name, p));
      if (this.logs.getPartition(name, p)) await this.logs.deletePartition(name, p);
    }
    return topic;
  }

  async addPartitions(name: string, total: number): Promise<TopicInfo> {
    const before = this.topics.get(name);
    if (!before) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic "${name}"`);
    if (total <= before.partitions) {
      throw new KafkaError(
        ErrorCode.INVALID_PARTITIONS,
        `topic "${name}" has ${before.partitions} partitions; the new count must be larger, not ${total}`,
      );
    }
    return this.withPartitionBudget(
      total - before.partitions,
      `growing topic "${name}" to ${total} partitions`,
      async () => {
        const topic = await this.topics.setPartitions(name, total);
        for (let p = before.partitions; p < total; p++) await this.open(topic, p);
        return topic;
      },
    );
  }

  async setTopicConfigs(name: string, configs: Record<string, string>): Promise<TopicInfo> {
    validateTopicConfigs(configs);
    const topic = await this.topics.setConfigs(name, configs);
    this.logs.updateTopicConfig(name, this.effectiveConfigs(name));
    return topic;
  }

  /** Clean shutdown: every partition's producer state is snapshotted at its log end offset (after its writes). */
  async snapshotProducers(): Promise<void> {
    // Several partitions at a time: each snapshot ends in two fsyncs (1,000 one after another took 2.3-2.8 s).
    await forEachLimited(this.handles.values(), SNAPSHOT_CONCURRENCY, async (h) => {
      if (h.log.closed) return;
      await h.log.drain();
      // As Kafka does: nothing appended since the newest snapshot, nothing new to write (producer state changes only
      // with appends; producers that expired since are dropped when the snapshot is loaded).
      if (listSnapshots(h.log.dir).at(-1)?.offset === h.log.appendedOffset) return;
      await writeSnapshot(h.log, h.producers).catch((err) => this.warn(`producer snapshot failed: ${err}`));
    });
  }

  private async open(topic: TopicInfo, partition: number): Promise<PartitionHandle> {
    const log =
      this.logs.getPartition(topic.name, partition) ??
      (await this.logs.createPartition(topic.name, partition, {
        topicId: topic.topicId,
        config: this.effectiveConfigs(topic.name),
      }));
    const producers = await loadProducerState(log, (m) => this.warn(m));
    // Consumers see a batch once it is written, before an acks=-1 producer hears back (as Kafka's high watermark).
    log.onWritten(() => this.onWritten(topic.name, partition));
    const handle: PartitionHandle = { topic: topic.name, partition, log, producers, leaderEpoch: LEADER_EPOCH };
    this.handles.set(key(topic.name, partition), handle);
    return handle;
  }
}
