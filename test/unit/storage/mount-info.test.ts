import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ext4DiscardMount, mountOf, parseMountInfo } from '../../../storage/mount-info.js';

// Shapes as the kernel writes them: optional fields before the "-", octal escapes in mount points.
const MOUNTINFO = [
  '21 26 0:20 / /proc rw,relatime - proc proc rw',
  '26 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard,resv_strict',
  '40 26 254:16 / /data rw,noatime - ext4 /dev/vdb rw',
  '41 26 254:32 / /data/fast\\040disk rw,discard - xfs /dev/vdc rw',
  '42 26 254:48 / /database rw,discard - ext4 /dev/vdd rw,nodiscard',
  'garbage line',
  '',
].join('\n');

describe('parseMountInfo', () => {
  it('reads mount point, filesystem type and both option lists, skipping malformed lines', () => {
    const entries = parseMountInfo(MOUNTINFO);
    expect(entries.map((e) => e.mountPoint)).toEqual(['/proc', '/', '/data', '/data/fast disk', '/database']);
    expect(entries[1]).toEqual({
      mountPoint: '/',
      fsType: 'ext4',
      options: ['rw', 'relatime', 'rw', 'discard', 'resv_strict'],
    });
    expect(entries[3]!.fsType).toBe('xfs');
  });
});

describe('mountOf', () => {
  const entries = parseMountInfo(MOUNTINFO);
  it('takes the longest mount point that holds the path, on path boundaries', () => {
    expect(mountOf(entries, '/data/topic-0')!.mountPoint).toBe('/data');
    expect(mountOf(entries, '/data')!.mountPoint).toBe('/data');
    expect(mountOf(entries, '/data/fast disk/x')!.mountPoint).toBe('/data/fast disk');
    expect(mountOf(entries, '/datastore/x')!.mountPoint).toBe('/');
    expect(mountOf(entries, '/database/x')!.mountPoint).toBe('/database');
  });
  it('prefers the later of two mounts on the same point (the one on top)', () => {
    const stacked = parseMountInfo(`${MOUNTINFO}\n50 26 0:40 / /data rw - tmpfs tmpfs rw`);
    expect(mountOf(stacked, '/data/x')!.fsType).toBe('tmpfs');
  });
});

describe('ext4DiscardMount', () => {
  // A real directory resolves under "/" of these fixtures unless a longer fixture mount point holds it.
  const dir = realpathSync(tmpdir());
  const rootOnly = (fs: string, superOptions: string) =>
    `26 1 254:0 / / rw,relatime - ${fs} /dev/vda ${superOptions}\n`;

  it('finds ext4 mounted with discard', () => {
    expect(ext4DiscardMount(dir, rootOnly('ext4', 'rw,discard'))?.mountPoint).toBe('/');
  });
  it('ignores other filesystems, no discard, and a later nodiscard', () => {
    expect(ext4DiscardMount(dir, rootOnly('xfs', 'rw,discard'))).toBeNull();
    expect(ext4DiscardMount(dir, rootOnly('ext4', 'rw,errors=remount-ro'))).toBeNull();
    expect(ext4DiscardMount(dir, rootOnly('ext4', 'rw,discard,nodiscard'))).toBeNull();
  });
  it('answers null for a directory that does not exist', () => {
    expect(ext4DiscardMount(`${dir}/no-such-dir-${process.pid}`, rootOnly('ext4', 'rw,discard'))).toBeNull();
  });
});
