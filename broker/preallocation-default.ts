/**
 * log.preallocate's default on this machine: off when the data directory is on ext4 mounted with online discard,
 * where converting preallocated space sometimes discards an extent-tree block inside the fdatasync path (measured:
 * acks=-1 p99 at 16 KB batches 8.8-10 ms without preallocation against 10.9-16.8 ms with it, docs/operations.md).
 * An operator's own setting always wins. Said once at start-up.
 */
import type { Logger } from 'pino';
import { ext4DiscardMount } from '../storage/mount-info.js';
import type { BrokerConfig } from './config.js';

export function preallocationDefault(config: BrokerConfig, dataDir: string, log: Logger, mountInfo?: string): void {
  const mount = ext4DiscardMount(dataDir, mountInfo);
  if (!mount || !config.adjustDefault('log.preallocate', 'false')) return;
  log.info(
    { mountPoint: mount.mountPoint, fsType: mount.fsType },
    `log.preallocate: false by default here (${mount.mountPoint} is ext4 mounted with discard; ` +
      'set log.preallocate=true to preallocate anyway)',
  );
}
