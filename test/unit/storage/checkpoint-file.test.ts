import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  offsetCheckpointText,
  readOffsetCheckpoint,
  readPartitionMetadata,
  writeFileAtomicAsync,
  writePartitionMetadata,
} from '../../../storage/checkpoint-file.js';
import { LeaderEpochCache } from '../../../storage/leader-epoch-cache.js';
import { StorageError } from '../../../storage/storage-error.js';
import { removeDir, tempDir } from './helpers/engines.js';

describe('checkpoint files (Kafka text format)', () => {
  it('writes and reads topic partition offset checkpoints', async () => {
    const dir = tempDir();
    try {
      const f = path.join(dir, 'recovery-point-offset-checkpoint');
      await writeFileAtomicAsync(
        f,
        offsetCheckpointText([
          { topic: 'orders', partition: 0, offset: 42 },
          { topic: 'a-b', partition: 11, offset: 0 },
        ]),
      );
      expect(fs.existsSync(`${f}.tmp`)).toBe(false);
      expect(fs.readFileSync(f, 'utf8')).toBe('0\n2\norders 0 42\na-b 11 0\n');
      expect(readOffsetCheckpoint(f)).toEqual(
        new Map([
          ['orders-0', 42],
          ['a-b-11', 0],
        ]),
      );
      expect(readOffsetCheckpoint(path.join(dir, 'missing'))).toEqual(new Map());
      fs.writeFileSync(f, '0\n3\norders 0 42\n');
      expect(() => readOffsetCheckpoint(f)).toThrow(StorageError);
      fs.writeFileSync(f, '1\n0\n');
      expect(() => readOffsetCheckpoint(f)).toThrow(/unsupported version/);
    } finally {
      removeDir(dir);
    }
  });

  it('writes partition.metadata as version 0 and topic_id', () => {
    const dir = tempDir();
    try {
      writePartitionMetadata(dir, 'AAAAAAAAAAAAAAAAAAAAAQ');
      expect(fs.readFileSync(path.join(dir, 'partition.metadata'), 'utf8')).toBe(
        'version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ\n',
      );
      expect(readPartitionMetadata(dir)).toBe('AAAAAAAAAAAAAAAAAAAAAQ');
    } finally {
      removeDir(dir);
    }
  });

  it('keeps the leader epoch cache in leader-epoch-checkpoint', () => {
    const dir = tempDir();
    try {
      const c = new LeaderEpochCache(dir);
      c.assign(0, 0);
      c.assign(3, 100);
      c.assign(2, 150);
      c.assign(5, 200);
      expect(fs.readFileSync(path.join(dir, 'leader-epoch-checkpoint'), 'utf8')).toBe('0\n3\n0 0\n3 100\n5 200\n');
      expect(c.endOffsetFor(3, 300)).toEqual({ epoch: 3, endOffset: 200 });
      expect(c.endOffsetFor(5, 300)).toEqual({ epoch: 5, endOffset: 300 });
      c.truncateFromEnd(150);
      c.truncateFromStart(120);
      expect(new LeaderEpochCache(dir).entries()).toEqual([{ epoch: 3, startOffset: 120 }]);
    } finally {
      removeDir(dir);
    }
  });
});
