/**
 * Committed offsets and group metadata, durable in an internal StateLog (`groups.log`): one record per
 * OffsetCommit request (so a commit is acknowledged only after its single write and fdatasync, group-committed
 * with any concurrent ones), one per generation change of a classic group, one batch per change of a KIP-848
 * consumer group (consumer-group-records.ts), and one per deletion. A group id is classic or consumer: a record
 * of one kind drops the metadata of the other. Opening replays the log and compacts it to a snapshot of what is
 * live, and again at run time once the log has grown past `compactRatio` times its live size (and at least
 * `compactMinBytes`): off the request path (scheduled with setImmediate; appends made meanwhile queue up and land
 * in the new file). Offsets are kept in memory by group, then "topic:partition".
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { StateLog } from '../../storage/state-log.js';
import {
  applyConsumerGroupRecord,
  type ConsumerGroupRecord,
  type ConsumerGroupState,
  consumerGroupSnapshot,
} from './consumer-group-records.js';

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestamp: number;
}

export interface GroupMetadataRecord {
  groupId: string;
  protocolType: string | null;
  generationId: number;
}

/** [topic, partition, offset, leaderEpoch, metadata, commitTimestamp] */
type OffsetTuple = [string, number, bigint | number, number, string | null, number];

type GroupStateRecord =
  | { t: 'commit'; g: string; o: OffsetTuple[] }
  | { t: 'delete-offsets'; g: string; p: Array<[string, number]> }
  | { t: 'group'; g: string; type: string | null; gen: number }
  | { t: 'delete-group'; g: string }
  | { t: 'cg-batch'; g: string; r: ConsumerGroupRecord[] }
  | ConsumerGroupRecord;

function key(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

export interface OffsetStoreOptions {
  /** Run-time compaction starts once the log exceeds compactRatio times its live size... (default 4) */
  compactRatio?: number;
  /** ...and this many bytes (default 4 MiB). */
  compactMinBytes?: number;
  onError?: (err: unknown) => void;
}

export class OffsetStore {
  private readonly offsets = new Map<string, Map<string, CommittedOffset>>();
  private readonly groupMeta = new Map<string, GroupMetadataRecord>();
  private readonly consumerGroupStates = new Map<string, ConsumerGroupState>();

  /** groups.log's size after the last compaction: what is live. */
  private liveBytes = 0;
  private compacting = false;
  private closed = false;
  /** Run-time compactions done (tests and metrics). */
  compactions = 0;

  private constructor(
    private readonly log: StateLog<GroupStateRecord>,
    private readonly options: Required<OffsetStoreOptions>,
  ) {}

  static async open(dir: string, options: OffsetStoreOptions = {}): Promise<OffsetStore> {
    mkdirSync(dir, { recursive: true });
    const { log, records } = await StateLog.open<GroupStateRecord>(join(dir, 'groups.log'));
    const store = new OffsetStore(log, {
      compactRatio: options.compactRatio ?? 4,
      compactMinBytes: options.compactMinBytes ?? 4 * 1024 * 1024,
      onError: options.onError ?? (() => undefined),
    });
    for (const r of records) store.apply(r);
    await log.compact(store.snapshot());
    store.liveBytes = log.sizeBytes;
    return store;
  }

  get logBytes(): number {
    return this.log.sizeBytes;
  }

  private async append(record: GroupStateRecord): Promise<void> {
    await this.log.append(record);
    this.maybeCompact();
  }

  private maybeCompact(): void {
    if (this.compacting || this.closed) return;
    const threshold = Math.max(this.options.compactMinBytes, this.liveBytes * this.options.compactRatio);
    if (this.log.sizeBytes < threshold) return;
    this.compacting = true;
    setImmediate(() => {
      if (this.closed) {
        this.compacting = false;
        return;
      }
      this.log
        .compact(() => this.snapshot())
        .then(() => {
          this.liveBytes = this.log.sizeBytes;
          this.compactions++;
        })
        .catch((err) => this.options.onError(err))
        .finally(() => {
          this.compacting = false;
        });
    });
  }

  /** Classic groups that have metadata or offsets (rebuilt at start-up as Empty groups). */
  knownGroups(): GroupMetadataRecord[] {
    const ids = new Set([...this.groupMeta.keys(), ...this.offsets.keys()]);
    for (const g of this.consumerGroupStates.keys()) ids.delete(g);
    return [...ids].map((g) => this.groupMeta.get(g) ?? { groupId: g, protocolType: null, generationId: 0 });
  }

  get(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(groupId)?.get(key(topic, partition));
  }

  all(groupId: string): CommittedOffset[] {
    return [...(this.offsets.get(groupId)?.values() ?? [])];
  }

  hasOffsets(groupId: string): boolean {
    return (this.offsets.get(groupId)?.size ?? 0) > 0;
  }

  /** Durably commits; resolves once the record is on disk, after which the offsets are visible. */
  async commit(groupId: string, entries: readonly CommittedOffset[]): Promise<void> {
    if (entries.length === 0) return;
    const record: GroupStateRecord = {
      t: 'commit',
      g: groupId,
      o: entries.map((e) => [e.topic, e.partition, e.offset, e.leaderEpoch, e.metadata, e.commitTimestamp]),
    };
    await this.append(record);
    this.apply(record);
  }

  async deleteOffsets(groupId: string, partitions: ReadonlyArray<[string, number]>): Promise<void> {
    if (partitions.length === 0) return;
    const record: GroupStateRecord = { t: 'delete-offsets', g: groupId, p: [...partitions] };
    this.apply(record);
    await this.append(record);
  }

  async writeGroup(meta: GroupMetadataRecord): Promise<void> {
    const record: GroupStateRecord = { t: 'group', g: meta.groupId, type: meta.protocolType, gen: meta.generationId };
    this.apply(record);
    await this.append(record);
  }

  /** KIP-848 consumer groups as replay left them (rebuilt at start-up with their members). */
  consumerGroups(): ConsumerGroupState[] {
    return [...this.consumerGroupStates.values()];
  }

  /** Durably writes one consumer group's changes, as one record. */
  async writeConsumerGroup(groupId: string, records: ConsumerGroupRecord[]): Promise<void> {
    if (records.length === 0) return;
    const record: GroupStateRecord = records.length === 1 ? records[0] : { t: 'cg-batch', g: groupId, r: records };
    this.apply(record);
    await this.append(record);
  }

  async deleteGroup(groupId: string): Promise<void> {
    const record: GroupStateRecord = { t: 'delete-group', g: groupId };
    this.apply(record);
    await this.append(record);
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.compacting) await new Promise((r) => setTimeout(r, 1));
    await this.log.close();
  }

  private apply(r: GroupStateRecord): void {
    switch (r.t) {
      case 'commit': {
        let group = this.offsets.get(r.g);
        if (!group) {
          group = new Map();
          this.offsets.set(r.g, group);
        }
        for (const [topic, partition, offset, leaderEpoch, metadata, commitTimestamp] of r.o) {
          group.set(key(topic, partition), {
            topic,
            partition,
            offset: BigInt(offset),
            leaderEpoch,
            metadata,
            commitTimestamp: Number(commitTimestamp),
          });
        }
        break;
      }
      case 'delete-offsets': {
        const group = this.offsets.get(r.g);
        if (!group) break;
        for (const [topic, partition] of r.p) group.delete(key(topic, partition));
        if (group.size === 0) this.offsets.delete(r.g);
        break;
      }
      case 'group':
        this.groupMeta.set(r.g, { groupId: r.g, protocolType: r.type, generationId: r.gen });
        this.consumerGroupStates.delete(r.g);
        break;
      case 'delete-group':
        this.groupMeta.delete(r.g);
        this.offsets.delete(r.g);
        this.consumerGroupStates.delete(r.g);
        break;
      case 'cg-batch':
        for (const x of r.r) this.apply(x);
        break;
      default:
        if (r.t !== 'cg-del') this.groupMeta.delete(r.g);
        applyConsumerGroupRecord(this.consumerGroupStates, r);
    }
  }

  private snapshot(): GroupStateRecord[] {
    const out: GroupStateRecord[] = [];
    for (const m of this.groupMeta.values())
      out.push({ t: 'group', g: m.groupId, type: m.protocolType, gen: m.generationId });
    for (const cg of this.consumerGroupStates.values()) out.push(...consumerGroupSnapshot(cg));
    for (const [g, offsets] of this.offsets) {
      out.push({
        t: 'commit',
        g,
        o: [...offsets.values()].map((e) => [
          e.topic,
          e.partition,
          e.offset,
          e.leaderEpoch,
          e.metadata,
          e.commitTimestamp,
        ]),
      });
    }
    return out;
  }
}
