/**
 * Kafka's file and directory names: `<topic>-<partition>/` holding `<20-digit base offset>.log`, `.index`,
 * `.timeindex`, plus the suffixes LogLoader understands (`.deleted`, `.cleaned`, `.swap`), and a directory fsync.
 */
import fs from 'node:fs';
import { StorageError } from './storage-error.js';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
export const TXN_INDEX_SUFFIX = '.txnindex';
export const DELETED_SUFFIX = '.deleted';
export const CLEANED_SUFFIX = '.cleaned';
export const SWAP_SUFFIX = '.swap';
export const DELETE_DIR_SUFFIX = '-delete';

export const PARTITION_METADATA_FILE = 'partition.metadata';
export const LEADER_EPOCH_CHECKPOINT_FILE = 'leader-epoch-checkpoint';
export const RECOVERY_POINT_CHECKPOINT_FILE = 'recovery-point-offset-checkpoint';
export const LOG_START_OFFSET_CHECKPOINT_FILE = 'log-start-offset-checkpoint';
export const CLEAN_SHUTDOWN_FILE = '.kafka_cleanshutdown';

/** `00000000000000000042` for 42: twenty digits, as Kafka names segment files. */
export function offsetFileName(baseOffset: number): string {
  return String(baseOffset).padStart(20, '0');
}

/** The base offset in a segment file name (`00000000000000000042.log.swap` -> 42), or null. */
export function baseOffsetOfFile(name: string): number | null {
  const m = /^(\d{20})\./.exec(name);
  if (!m) return null;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : null;
}

export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/** Parses `<topic>-<partition>` (topics may contain '-', so the partition follows the last one), or null. */
export function parsePartitionDirName(name: string): { topic: string; partition: number } | null {
  const m = /^(.+)-(\d+)$/.exec(name);
  if (!m) return null;
  const partition = Number(m[2]);
  if (!Number.isSafeInteger(partition) || partition > 0x7fffffff) return null;
  return { topic: m[1], partition };
}

/** `<topic>-<partition>.<uuid without dashes>-delete`, the name Kafka gives a partition directory being deleted. */
export function isDeleteDirName(name: string): boolean {
  return /^.+-\d+\.[0-9a-f]{32}-delete$/.test(name);
}

/** fsync a directory so that file creations and renames in it survive a crash. */
export function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (err) {
    throw StorageError.from(err, 'fsync', dir);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(dir, 'r');
    await fh.sync();
  } catch (err) {
    throw StorageError.from(err, 'fsync', dir);
  } finally {
    await fh?.close();
  }
}
