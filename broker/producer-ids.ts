/**
 * Producer ids, never reused: ids are handed out from blocks of PRODUCER_ID_BLOCK_SIZE (Kafka's block size), and a
 * block is reserved durably (`producer-ids.log`, a StateLog beside the topic catalogue, rewritten atomically with
 * the next unreserved id) before any id in it is handed out. After a crash the ids left in the current block are
 * skipped, never reused. The file is open only while a block is being reserved (once per thousand ids), so there is
 * nothing to close at shutdown.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeStateRecords, StateLog } from '../storage/state-log.js';

export const PRODUCER_ID_BLOCK_SIZE = 1000;
/** Kafka's largest producer id is Long.MAX_VALUE; here ids must stay safe integers. */
const MAX_PRODUCER_ID = Number.MAX_SAFE_INTEGER;

interface ReservedBlock {
  /** The first id not yet reserved: every id below it may have been handed out. */
  nextUnreserved: number;
}

export class ProducerIdManager {
  private next = 0;
  private blockEnd = 0;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly file: string,
    readonly blockSize = PRODUCER_ID_BLOCK_SIZE,
  ) {}

  /** The manager for a data directory's metadata dir (`<dataDir>/__berth_metadata/producer-ids.log`). */
  static forDataDir(dataDir: string): ProducerIdManager {
    const dir = join(dataDir, '__berth_metadata');
    mkdirSync(dir, { recursive: true });
    return new ProducerIdManager(join(dir, 'producer-ids.log'));
  }

  /** A producer id no one has had before, in this process or any earlier one on this data directory. */
  generate(): Promise<bigint> {
    const result = this.chain.then(async () => {
      if (this.next >= this.blockEnd) await this.reserveBlock();
      return BigInt(this.next++);
    });
    this.chain = result.catch(() => undefined);
    return result;
  }

  /** Whether `producerId` may have been handed out on this data directory (it is below every reservation). */
  wasIssued(producerId: bigint): boolean {
    if (producerId < 0n) return false;
    // Reserved in this process: everything below `next` may be out there. Otherwise only the file knows.
    const limit = this.blockEnd > 0 ? this.next : this.reservedSoFar();
    return producerId < BigInt(limit);
  }

  private reservedSoFar(): number {
    let buf: Buffer;
    try {
      buf = readFileSync(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    let end = 0;
    for (const r of decodeStateRecords<ReservedBlock>(buf).records) end = Math.max(end, r.nextUnreserved);
    return end;
  }

  /** Reads the last reservation, records the next one durably, and only then takes the block. */
  private async reserveBlock(): Promise<void> {
    const { log, records } = await StateLog.open<ReservedBlock>(this.file);
    try {
      let start = 0;
      for (const r of records) start = Math.max(start, r.nextUnreserved);
      const end = start + this.blockSize;
      if (end > MAX_PRODUCER_ID) throw new Error('producer ids exhausted');
      await log.compact([{ nextUnreserved: end }]);
      this.next = start;
      this.blockEnd = end;
    } finally {
      await log.close();
    }
  }
}
