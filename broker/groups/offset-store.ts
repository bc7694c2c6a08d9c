/**
 * Committed offsets and classic group metadata, durable in an internal StateLog (`groups.log`): one record per
 * OffsetCommit request (so a commit is acknowledged only after its single write and fdatasync, group-committed
 * with any concurrent ones), one per generation change of a group, and one per deletion. Opening replays the log
 * and compacts it to a snapshot of what is live. Offsets are kept in memory by group, then "topic:partition".
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { StateLog } from '../../storage/state-log.js';

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
  | { t: 'delete-group'; g: string };

function key(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

export class OffsetStore {
  private readonly offsets = new Map<string, Map<string, CommittedOffset>>();
  private readonly groupMeta = new Map<string, GroupMetadataRecord>();

  private constructor(private readonly log: StateLog<GroupStateRecord>) {}

  static async open(dir: string): Promise<OffsetStore> {
    mkdirSync(dir, { recursive: true });
    const { log, records } = await StateLog.open<GroupStateRecord>(join(dir, 'groups.log'));
    const store = new OffsetStore(log);
    for (const r of records) store.apply(r);
    await log.compact(store.snapshot());
    return store;
  }

  /** Groups that have metadata or offsets (rebuilt at start-up as Empty groups). */
  knownGroups(): GroupMetadataRecord[] {
    const ids = new Set([...this.groupMeta.keys(), ...this.offsets.keys()]);
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
    await this.log.append(record);
    this.apply(record);
  }

  async deleteOffsets(groupId: string, partitions: ReadonlyArray<[string, number]>): Promise<void> {
    if (partitions.length === 0) return;
    const record: GroupStateRecord = { t: 'delete-offsets', g: groupId, p: [...partitions] };
    this.apply(record);
    await this.log.append(record);
  }

  async writeGroup(meta: GroupMetadataRecord): Promise<void> {
    const record: GroupStateRecord = { t: 'group', g: meta.groupId, type: meta.protocolType, gen: meta.generationId };
    this.apply(record);
    await this.log.append(record);
  }

  async deleteGroup(groupId: string): Promise<void> {
    const record: GroupStateRecord = { t: 'delete-group', g: groupId };
    this.apply(record);
    await this.log.append(record);
  }

  close(): Promise<void> {
    return this.log.close();
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
        break;
      case 'delete-group':
        this.groupMeta.delete(r.g);
        this.offsets.delete(r.g);
        break;
    }
  }

  private snapshot(): GroupStateRecord[] {
    const out: GroupStateRecord[] = [];
    for (const m of this.groupMeta.values())
      out.push({ t: 'group', g: m.groupId, type: m.protocolType, gen: m.generationId });
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
