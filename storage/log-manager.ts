/**
 * The data root: every partition directory, the checkpoints (`recovery-point-offset-checkpoint`,
 * `log-start-offset-checkpoint`), the clean-shutdown marker (`.kafka_cleanshutdown`), and background work
 * (retention, checkpoints). Kafka's LogManager, for one log directory.
 *
 * Start-up: directories being deleted (`<topic>-<partition>.<uuid>-delete`) are handed to the FileRemover, which
 * removes them and every deleted segment in the background, a chunk at a time; each partition loads with
 * the recovery point and log start offset from the checkpoints; with the marker present the load trusts the files,
 * without it every partition's tail after its recovery point is scanned. The marker is removed (and the removal fsynced) before any write.
 * Clean close: every partition flushed, trimmed and closed, checkpoints written, then the marker.
 */

import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, KafkaError } from '../protocol/error-codes.js';
import { setIndexMapper } from './abstract-index.js';
import {
  offsetCheckpointText,
  readOffsetCheckpoint,
  readPartitionMetadata,
  writeFileAtomic,
  writePartitionMetadata,
} from './checkpoint-file.js';
import { CheckpointWriter } from './checkpoint-writer.js';
import {
  CLEAN_SHUTDOWN_FILE,
  DELETE_DIR_SUFFIX,
  fsyncDirSync,
  isDeleteDirName,
  LOG_START_OFFSET_CHECKPOINT_FILE,
  parsePartitionDirName,
  partitionDirName,
  RECOVERY_POINT_CHECKPOINT_FILE,
} from './file-names.js';
import { FileRemover, type FileRemoverOptions } from './file-remover.js';
import { forEachLimited } from './for-each-limited.js';
import type { IoEngine, IoEngineName } from './io/io-engine.js';
import { type EngineLogger, openIoEngine } from './io/select-engine.js';
import { loadStorageNative } from './native-hooks.js';
import { PartitionLog } from './partition-log.js';
import { StorageError } from './storage-error.js';

/** Partitions closed at once on a clean shutdown. */
const CLOSE_CONCURRENCY = 32;

export interface LogManagerOptions {
  dataDir: string;
  /** An engine to use (the caller keeps ownership); otherwise one is opened per `ioEngine` and closed by close(). */
  engine?: IoEngine;
  ioEngine?: 'uring' | 'sync' | 'auto';
  logger?: EngineLogger;
  /** Broker-level defaults under Kafka's topic config names, below each topic's own configs. */
  defaultConfig?: Record<string, unknown>;
  /** A topic's own configs (from Berth's metadata), consulted when its partitions load or are created. */
  topicConfig?: (topic: string) => Record<string, unknown> | undefined;
  clock?: () => number;
  /** Background intervals (ms); `false` disables background work (tests drive it by hand). */
  background?:
    | {
        retentionCheckMs?: number;
        recoveryPointCheckpointMs?: number;
        logStartOffsetCheckpointMs?: number;
      }
    | false;
  /** Written into the clean-shutdown marker (KIP-966's broker epoch; -1 when unknown). */
  brokerEpoch?: number;
  /** How deleted segments and partitions are removed (log.file.delete.chunk.bytes / .interval.ms). */
  deletion?: Pick<FileRemoverOptions, 'chunkBytes' | 'intervalMs'>;
}

export interface TopicPartitionKey {
  topic: string;
  partition: number;
}

function key(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

export class LogManager {
  readonly dataDir: string;
  readonly engine: IoEngine;
  readonly engineName: IoEngineName;
  readonly engineReason: string;
  /** Whether the previous stop was clean (the marker was there). */
  readonly hadCleanShutdown: boolean;
  readonly #ownsEngine: boolean;
  readonly #opts: LogManagerOptions;
  readonly #logs = new Map<string, PartitionLog>();
  readonly #topicIds = new Map<string, string>();
  #timers: NodeJS.Timeout[] = [];
  readonly #checkpoints = new CheckpointWriter();
  readonly #remover: FileRemover;
  #closed = false;

  private constructor(
    opts: LogManagerOptions,
    engine: IoEngine,
    ownsEngine: boolean,
    reason: string,
    hadCleanShutdown: boolean,
  ) {
    this.dataDir = opts.dataDir;
    this.engine = engine;
    this.engineName = engine.name;
    this.engineReason = reason;
    this.#ownsEngine = ownsEngine;
    this.#opts = opts;
    this.hadCleanShutdown = hadCleanShutdown;
    this.#remover = new FileRemover({ ...opts.deletion, warn: (m) => opts.logger?.warn(m) });
  }

  static async open(opts: LogManagerOptions): Promise<LogManager> {
    const dataDir = opts.dataDir;
    fs.mkdirSync(dataDir, { recursive: true });
    const native = await loadStorageNative();
    if (native?.mmapReadOnly) setIndexMapper(native.mmapReadOnly);
    let engine = opts.engine;
    let reason = 'provided';
    if (!engine) {
      const sel = await openIoEngine({ engine: opts.ioEngine ?? 'auto', logger: opts.logger });
      engine = sel.engine;
      reason = sel.reason;
    }
    const marker = path.join(dataDir, CLEAN_SHUTDOWN_FILE);
    const clean = fs.existsSync(marker);
    const mgr = new LogManager(opts, engine, !opts.engine, reason, clean);
    try {
      await mgr.#loadAll(clean);
    } catch (err) {
      await mgr.#closeLogsQuietly();
      if (!opts.engine) await engine.close();
      throw err;
    }
    if (clean) {
      fs.unlinkSync(marker);
      fsyncDirSync(dataDir);
    }
    mgr.#startBackground();
    return mgr;
  }

  async #loadAll(clean: boolean): Promise<void> {
    const recoveryPoints = readOffsetCheckpoint(path.join(this.dataDir, RECOVERY_POINT_CHECKPOINT_FILE));
    const logStarts = readOffsetCheckpoint(path.join(this.dataDir, LOG_START_OFFSET_CHECKPOINT_FILE));
    // One directory read with entry types: no stat per partition directory.
    for (const entry of fs.readdirSync(this.dataDir, { withFileTypes: true })) {
      const name = entry.name;
      const full = path.join(this.dataDir, name);
      const isDir = entry.isDirectory() || (entry.isSymbolicLink() && fs.statSync(full).isDirectory());
      if (!isDir) continue;
      if (isDeleteDirName(name)) {
        void this.#remover.remove(full);
        continue;
      }
      const tp = parsePartitionDirName(name);
      if (!tp) continue;
      const k = key(tp.topic, tp.partition);
      const log = await PartitionLog.open({
        dir: full,
        topic: tp.topic,
        partition: tp.partition,
        engine: this.engine,
        config: this.#configFor(tp.topic),
        clean,
        recoveryPoint: recoveryPoints.get(k) ?? 0,
        logStartOffset: logStarts.get(k) ?? 0,
        clock: this.#opts.clock,
        warn: (m) => this.#opts.logger?.warn(m),
        remover: this.#remover,
      });
      this.#logs.set(k, log);
      const id = readPartitionMetadata(full);
      if (id) this.#topicIds.set(k, id);
    }
  }

  #configFor(topic: string): Record<string, unknown> {
    return { ...(this.#opts.defaultConfig ?? {}), ...(this.#opts.topicConfig?.(topic) ?? {}) };
  }

  #startBackground(): void {
    const bg = this.#opts.background;
    if (bg === false) return;
    const every = (ms: number, fn: () => unknown) => {
      const t = setInterval(() => {
        try {
          const r = fn();
          if (r instanceof Promise) r.catch((err) => this.#opts.logger?.warn(`storage background task: ${err}`));
        } catch (err) {
          this.#opts.logger?.warn(`storage background task: ${err}`);
        }
      }, ms);
      t.unref();
      this.#timers.push(t);
    };
    // Kafka's defaults: log.retention.check.interval.ms 300000, log.flush.offset.checkpoint.interval.ms 60000,
    // log.flush.start.offset.checkpoint.interval.ms 60000.
    every(bg?.retentionCheckMs ?? 300_000, () => this.runRetention());
    every(bg?.recoveryPointCheckpointMs ?? 60_000, () => this.checkpointRecoveryPoints());
    every(bg?.logStartOffsetCheckpointMs ?? 60_000, () => this.checkpointLogStartOffsets());
  }

  /** Deleted files and directories waiting to leave the disk, and bytes removed so far (the broker's metrics). */
  removalStats(): { pending: number; bytesRemoved: number } {
    return { pending: this.#remover.pending, bytesRemoved: this.#remover.bytesRemoved };
  }

  /** Resolves once every deleted partition and segment handed over so far is gone from disk (tests, benchmarks). */
  removalsSettled(): Promise<void> {
    return this.#remover.idle();
  }

  /** Every partition log. */
  partitions(): IterableIterator<PartitionLog> {
    return this.#logs.values();
  }

  getPartition(topic: string, partition: number): PartitionLog | undefined {
    return this.#logs.get(key(topic, partition));
  }

  /** The topic id recorded in the partition's partition.metadata, if any. */
  topicId(topic: string, partition: number): string | undefined {
    return this.#topicIds.get(key(topic, partition));
  }

  /**
   * Creates a partition's directory and empty log (returns the existing log if there is one). `topicId` is written
   * to partition.metadata (Kafka's 22-character base64 form).
   */
  async createPartition(
    topic: string,
    partition: number,
    opts: { topicId?: string; config?: Record<string, unknown> } = {},
  ): Promise<PartitionLog> {
    this.#checkOpen();
    const k = key(topic, partition);
    const existing = this.#logs.get(k);
    if (existing) return existing;
    if (!/^[a-zA-Z0-9._-]+$/.test(topic) || !Number.isInteger(partition) || partition < 0) {
      throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `invalid topic partition ${topic}-${partition}`);
    }
    const dir = path.join(this.dataDir, partitionDirName(topic, partition));
    try {
      fs.mkdirSync(dir, { recursive: true });
      if (opts.topicId) writePartitionMetadata(dir, opts.topicId);
      fsyncDirSync(this.dataDir);
    } catch (err) {
      throw StorageError.from(err, 'mkdir', dir);
    }
    const log = await PartitionLog.open({
      dir,
      topic,
      partition,
      engine: this.engine,
      config: { ...this.#configFor(topic), ...(opts.config ?? {}) },
      clean: true,
      clock: this.#opts.clock,
      warn: (m) => this.#opts.logger?.warn(m),
      remover: this.#remover,
    });
    this.#logs.set(k, log);
    if (opts.topicId) this.#topicIds.set(k, opts.topicId);
    return log;
  }

  /**
   * Deletes a partition as Kafka does: close the log, rename the directory to `<topic>-<partition>.<uuid>-delete`
   * (fsynced, so a crash finishes the job at the next start), then hand it to the remover. Resolves once the rename
   * is durable; the files go in the background (removalsSettled()).
   */
  async deletePartition(topic: string, partition: number): Promise<void> {
    this.#checkOpen();
    const k = key(topic, partition);
    const log = this.#logs.get(k);
    if (!log) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `no log for ${k}`);
    this.#logs.delete(k);
    this.#topicIds.delete(k);
    await log.abandon();
    const renamed = path.join(this.dataDir, `${k}.${randomUUID().replaceAll('-', '')}${DELETE_DIR_SUFFIX}`);
    try {
      fs.renameSync(log.dir, renamed);
      fsyncDirSync(this.dataDir);
      void this.#remover.remove(renamed);
    } catch (err) {
      throw StorageError.from(err, 'delete', log.dir);
    }
    await Promise.all([this.checkpointRecoveryPoints(), this.checkpointLogStartOffsets()]);
  }

  /** DeleteRecords: moves the partition's log start offset and persists it before returning it. */
  async deleteRecordsBefore(topic: string, partition: number, offset: number): Promise<number> {
    this.#checkOpen();
    const log = this.getPartition(topic, partition);
    if (!log) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `no log for ${key(topic, partition)}`);
    const lso = log.deleteRecordsBefore(offset);
    await this.checkpointLogStartOffsets();
    return lso;
  }

  /** New configs for a topic's partitions (AlterConfigs). */
  updateTopicConfig(topic: string, config: Record<string, unknown>): void {
    for (const log of this.#logs.values()) {
      if (log.topic === topic) log.updateConfig({ ...(this.#opts.defaultConfig ?? {}), ...config });
    }
  }

  /** One retention pass over every partition; log start offsets that moved are checkpointed before it resolves. */
  async runRetention(now?: number): Promise<number> {
    let deleted = 0;
    for (const log of this.#logs.values()) {
      if (!log.closed) deleted += log.deleteOldSegments(now);
    }
    if (deleted > 0) await this.checkpointLogStartOffsets();
    return deleted;
  }

  /**
   * Writes every partition's recovery point. The active segments' index entries are written to their files first
   * (page cache, no fsync): they cover everything appended, so after a crash recovery can find an indexed batch
   * just below the recovery point and scan from there instead of from the segment's start (log-loader.ts checks
   * the entry against the batch on disk, and scans the whole segment when it does not match). The offsets are taken
   * now; the file is written on the thread pool (CheckpointWriter), and the promise resolves once it is durable.
   */
  checkpointRecoveryPoints(): Promise<void> {
    const points = [...this.#logs.values()].map((l) => ({
      topic: l.topic,
      partition: l.partition,
      offset: l.recoveryPoint,
    }));
    for (const log of this.#logs.values()) {
      if (log.closed) continue;
      const active = log.segments.at(-1);
      try {
        active?.offsetIndex.persist();
        active?.timeIndex.persist();
      } catch (err) {
        this.#opts.logger?.warn(`writing index entries of ${log.topic}-${log.partition}: ${(err as Error).message}`);
      }
    }
    return this.#checkpoints.write(
      path.join(this.dataDir, RECOVERY_POINT_CHECKPOINT_FILE),
      offsetCheckpointText(points),
    );
  }

  /** Every partition's log start offset, taken now, written as checkpointRecoveryPoints writes its file. */
  checkpointLogStartOffsets(): Promise<void> {
    return this.#checkpoints.write(
      path.join(this.dataDir, LOG_START_OFFSET_CHECKPOINT_FILE),
      offsetCheckpointText(
        [...this.#logs.values()].map((l) => ({ topic: l.topic, partition: l.partition, offset: l.logStartOffset })),
      ),
    );
  }

  #checkOpen(): void {
    if (this.#closed) throw new StorageError('log manager is closed');
  }

  async #closeLogsQuietly(): Promise<void> {
    for (const log of this.#logs.values()) await log.abandon().catch(() => {});
  }

  /**
   * Clean shutdown: every partition drained, flushed and closed, checkpoints written, then the clean-shutdown marker
   * (only when every partition closed cleanly: an offline partition must be recovered at the next start).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    // Several partitions at a time (1,000 one after another took 1-2 s): see forEachLimited.
    let allClean = true;
    const failed = await forEachLimited(this.#logs.values(), CLOSE_CONCURRENCY, async (log) => {
      try {
        await log.close();
      } catch (err) {
        this.#opts.logger?.warn(`closing ${log.topic}-${log.partition}: ${(err as Error).message}`);
        throw err;
      }
      if (log.offlineError) allClean = false;
    }).then(
      () => null,
      (err: unknown) => ({ err }),
    );
    if (failed) allClean = false;
    // What is left to remove stays under its deleted name for the next start.
    await this.#remover.stop();
    // After any background checkpoint still in flight, so the files end at these final offsets.
    await Promise.all([this.checkpointRecoveryPoints(), this.checkpointLogStartOffsets()]);
    if (allClean) {
      writeFileAtomic(
        path.join(this.dataDir, CLEAN_SHUTDOWN_FILE),
        JSON.stringify({ version: 0, brokerEpoch: this.#opts.brokerEpoch ?? -1 }),
      );
    }
    if (this.#ownsEngine) await this.engine.close();
    if (failed) throw failed.err;
  }

  /** Test hook: stops as a crash would (no flush, no trim, no checkpoints, no marker). */
  async abandon(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    // A checkpoint already on its way is atomic either way; waiting for it keeps a reopen in this process from
    // reading the directory while it lands.
    await this.#checkpoints.settled();
    await this.#closeLogsQuietly();
    await this.#remover.stop();
    if (this.#ownsEngine) await this.engine.close();
  }
}
