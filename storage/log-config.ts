/**
 * The topic configs storage honours, under Kafka's names, with Kafka's defaults. Configs arrive as a plain object
 * (strings from CreateTopics/AlterConfigs, or numbers from code); unknown keys are ignored here (the broker owns
 * validation of the full config set).
 */
import { ErrorCode, KafkaError } from '../protocol/error-codes.js';

export type TimestampType = 'CreateTime' | 'LogAppendTime';

export interface LogConfig {
  'segment.bytes': number;
  'segment.ms': number;
  'retention.ms': number;
  'retention.bytes': number;
  'index.interval.bytes': number;
  'segment.index.bytes': number;
  'flush.messages': number;
  'flush.ms': number;
  'message.timestamp.type': TimestampType;
  'file.delete.delay.ms': number;
  /** Kafka's name; Kafka defaults to false, Berth to true (fallocate makes appends cheaper, see MACHINE.md). */
  preallocate: boolean;
}

/** Kafka's Long.MAX_VALUE defaults ("never") clamp to the largest safe integer. */
const NEVER = Number.MAX_SAFE_INTEGER;

export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  'segment.bytes': 1073741824,
  'segment.ms': 604800000,
  'retention.ms': 604800000,
  'retention.bytes': -1,
  'index.interval.bytes': 4096,
  'segment.index.bytes': 10485760,
  'flush.messages': NEVER,
  'flush.ms': NEVER,
  'message.timestamp.type': 'CreateTime',
  'file.delete.delay.ms': 60000,
  preallocate: true,
});

/** Smallest segment Kafka accepts (LegacyRecord.RECORD_OVERHEAD_V0 = 14 bytes); smaller would not hold a batch. */
const MIN_SEGMENT_BYTES = 14;

function invalid(key: string, value: unknown): KafkaError {
  return new KafkaError(ErrorCode.INVALID_CONFIG, `invalid value ${String(value)} for ${key}`);
}

function toNumber(key: string, value: unknown): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || !Number.isInteger(value)) throw invalid(key, value);
    return Math.min(value, NEVER);
  }
  if (typeof value === 'bigint') return Number(value > BigInt(NEVER) ? BigInt(NEVER) : value);
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) {
    const big = BigInt(value.trim());
    return Number(big > BigInt(NEVER) ? BigInt(NEVER) : big);
  }
  throw invalid(key, value);
}

/** Merges `overrides` (Kafka names; strings or numbers) over `base` (default: Kafka's defaults). */
export function logConfig(overrides: Record<string, unknown> = {}, base: Readonly<LogConfig> = DEFAULT_LOG_CONFIG) {
  const cfg: LogConfig = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined || value === null) continue;
    switch (key) {
      case 'message.timestamp.type':
        if (value !== 'CreateTime' && value !== 'LogAppendTime') throw invalid(key, value);
        cfg[key] = value;
        break;
      case 'preallocate':
        cfg.preallocate = value === true || value === 'true';
        break;
      case 'segment.bytes':
      case 'segment.ms':
      case 'retention.ms':
      case 'retention.bytes':
      case 'index.interval.bytes':
      case 'segment.index.bytes':
      case 'flush.messages':
      case 'flush.ms':
      case 'file.delete.delay.ms':
        cfg[key] = toNumber(key, value);
        break;
      default:
        break;
    }
  }
  if (cfg['segment.bytes'] < MIN_SEGMENT_BYTES || cfg['segment.bytes'] > 0x7fffffff) {
    throw invalid('segment.bytes', cfg['segment.bytes']);
  }
  if (cfg['segment.ms'] < 1) throw invalid('segment.ms', cfg['segment.ms']);
  if (cfg['index.interval.bytes'] < 0) throw invalid('index.interval.bytes', cfg['index.interval.bytes']);
  if (cfg['segment.index.bytes'] < 12) throw invalid('segment.index.bytes', cfg['segment.index.bytes']);
  if (cfg['flush.messages'] < 1) throw invalid('flush.messages', cfg['flush.messages']);
  if (cfg['flush.ms'] < 0) throw invalid('flush.ms', cfg['flush.ms']);
  if (cfg['retention.ms'] < -1) throw invalid('retention.ms', cfg['retention.ms']);
  if (cfg['file.delete.delay.ms'] < 0) throw invalid('file.delete.delay.ms', cfg['file.delete.delay.ms']);
  return cfg;
}
