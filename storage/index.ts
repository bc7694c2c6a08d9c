/** The storage layer's public surface (what the broker uses). */

export { type IndexMapper, setIndexMapper } from './abstract-index.js';
export type { IoEngine, IoEngineName } from './io/io-engine.js';
export { type EngineLogger, type OpenIoEngineOptions, openIoEngine, type SelectedEngine } from './io/select-engine.js';
export { openSyncEngine, SyncEngine } from './io/sync-engine.js';
export { DEFAULT_LOG_CONFIG, type LogConfig, logConfig, type TimestampType } from './log-config.js';
export { LogManager, type LogManagerOptions } from './log-manager.js';
export {
  type Acks,
  type AppendOptions,
  type AppendResult,
  type FileRange,
  PartitionLog,
  type ReadOptions,
} from './partition-log.js';
export { OffsetOutOfRangeError, StorageError } from './storage-error.js';
