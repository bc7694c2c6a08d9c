/**
 * An append-only log of Berth's own state (topics, committed offsets, producer ids): msgpackr-encoded records,
 * each framed as [u32 length][u32 CRC32C of the payload][payload]. Appends are group-committed: every record
 * queued while a write is in flight goes out in the next single write and fdatasync. Opening replays the log,
 * stops at the first torn or corrupt record and truncates it away. compact() atomically replaces the log with a
 * snapshot (write a temp file, fsync, rename, fsync the directory), so replay stays short.
 */
import { closeSync, openSync, readFileSync, renameSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Packr } from 'msgpackr';
import { crc32c } from '../protocol/records/crc32c.js';
import { fsyncDirectory } from './fs-util.js';

const FRAME_HEADER = 8;
/** Refuse absurd record sizes on replay: a torn length field must not make us allocate gigabytes. */
const MAX_RECORD_BYTES = 64 * 1024 * 1024;

const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint' });

export interface ReplayResult<T> {
  records: T[];
  validBytes: number;
  truncatedBytes: number;
}

export function encodeStateRecord(record: unknown): Buffer {
  const payload = packr.pack(record);
  const frame = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.writeUInt32BE(crc32c(payload), 4);
  payload.copy(frame, FRAME_HEADER);
  return frame;
}

/** Decodes every intact record of `buf`, stopping at the first torn or corrupt one. */
export function decodeStateRecords<T>(buf: Buffer): ReplayResult<T> {
  const records: T[] = [];
  let pos = 0;
  while (buf.length - pos >= FRAME_HEADER) {
    const length = buf.readUInt32BE(pos);
    if (length > MAX_RECORD_BYTES || buf.length - pos - FRAME_HEADER < length) break;
    const payload = buf.subarray(pos + FRAME_HEADER, pos + FRAME_HEADER + length);
    if (crc32c(payload) !== buf.readUInt32BE(pos + 4)) break;
    try {
      records.push(packr.unpack(payload) as T);
    } catch {
      break;
    }
    pos += FRAME_HEADER + length;
  }
  return { records, validBytes: pos, truncatedBytes: buf.length - pos };
}

export class StateLog<T> {
  private queue: Array<{ frame: Buffer; resolve: () => void; reject: (e: Error) => void }> = [];
  private compactions: Array<{
    records: readonly T[] | (() => readonly T[]);
    resolve: () => void;
    reject: (e: Error) => void;
  }> = [];
  private writing = false;
  private closed = false;

  private constructor(
    readonly path: string,
    private file: FileHandle,
    private size: number,
  ) {}

  /** Opens (creating if needed) the log at `path`, replays it and truncates a torn tail. */
  static async open<T>(path: string): Promise<{ log: StateLog<T>; records: T[]; truncatedBytes: number }> {
    let buf: Buffer;
    try {
      buf = readFileSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      buf = Buffer.alloc(0);
      closeSync(openSync(path, 'a'));
      fsyncDirectory(dirname(path));
    }
    const replay = decodeStateRecords<T>(buf);
    const file = await open(path, 'r+');
    if (replay.truncatedBytes > 0) {
      await file.truncate(replay.validBytes);
      await file.datasync();
    }
    return {
      log: new StateLog<T>(path, file, replay.validBytes),
      records: replay.records,
      truncatedBytes: replay.truncatedBytes,
    };
  }

  get sizeBytes(): number {
    return this.size;
  }

  /** Appends a record; resolves once it is durable (written and fdatasync'ed). */
  append(record: T): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`state log ${basename(this.path)} is closed`));
    const frame = encodeStateRecord(record);
    return new Promise((resolve, reject) => {
      this.queue.push({ frame, resolve, reject });
      if (!this.writing) void this.writeQueued();
    });
  }

  /**
   * Replaces the whole log with `records` (a snapshot of the current state), atomically. Safe while appends go on:
   * the rewrite runs in the writer's turn, between two group-committed writes (so a busy log cannot starve it), and
   * a function snapshot is called only once the writes before it are acknowledged and their callers have run;
   * appends made meanwhile queue up and go to the new file.
   */
  compact(records: readonly T[] | (() => readonly T[])): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`state log ${basename(this.path)} is closed`));
    return new Promise((resolve, reject) => {
      this.compactions.push({ records, resolve, reject });
      if (!this.writing) void this.writeQueued();
    });
  }

  private async rewrite(records: readonly T[] | (() => readonly T[])): Promise<void> {
    // Let the continuations of acknowledged appends run (they may apply what they wrote) before the snapshot.
    await new Promise((r) => setImmediate(r));
    const snapshot = typeof records === 'function' ? records() : records;
    const data = Buffer.concat(snapshot.map((r) => encodeStateRecord(r)));
    const tmp = join(dirname(this.path), `${basename(this.path)}.swap`);
    const out = await open(tmp, 'w');
    try {
      let done = 0;
      while (done < data.length) done += (await out.write(data, done, data.length - done, done)).bytesWritten;
      await out.datasync();
    } finally {
      await out.close();
    }
    await this.file.close();
    renameSync(tmp, this.path);
    fsyncDirectory(dirname(this.path));
    this.file = await open(this.path, 'r+');
    this.size = data.length;
  }

  async close(): Promise<void> {
    await this.idle();
    this.closed = true;
    await this.file.close();
  }

  private async idle(): Promise<void> {
    while (this.writing || this.queue.length > 0 || this.compactions.length > 0)
      await new Promise((r) => setTimeout(r, 1));
  }

  private async writeQueued(): Promise<void> {
    this.writing = true;
    while (this.queue.length > 0 || this.compactions.length > 0) {
      const job = this.compactions.shift();
      if (job) {
        try {
          await this.rewrite(job.records);
          job.resolve();
        } catch (err) {
          job.reject(err as Error);
        }
        continue;
      }
      const batch = this.queue;
      this.queue = [];
      const data = batch.length === 1 ? batch[0].frame : Buffer.concat(batch.map((b) => b.frame));
      try {
        let done = 0;
        while (done < data.length) {
          const { bytesWritten } = await this.file.write(data, done, data.length - done, this.size + done);
          done += bytesWritten;
        }
        await this.file.datasync();
        this.size += data.length;
        for (const b of batch) b.resolve();
      } catch (err) {
        // The tail may hold part of this batch: cut it off so the next append does not follow garbage.
        await this.file.truncate(this.size).catch(() => undefined);
        for (const b of batch) b.reject(err as Error);
      }
    }
    this.writing = false;
  }
}
