/**
 * Topic-level configs under Kafka's names: their types, their defaults (taken from the broker's log.* settings
 * where Kafka does the same) and validation. CreateTopics, AlterConfigs and DescribeConfigs use this table.
 * Configs Berth stores but does not act on yet (cleanup.policy=compact, min.insync.replicas on one node) are
 * accepted so that tools that set them keep working; the README lists them.
 */
import { ErrorCode, KafkaError } from '../protocol/error-codes.js';
import type { BrokerConfig, ConfigSource } from './config.js';

export type TopicConfigType = 'int' | 'long' | 'boolean' | 'string' | 'list' | 'double';

export interface TopicConfigDef {
  name: string;
  type: TopicConfigType;
  /** The broker setting that provides the default, if any. */
  brokerSetting?: string;
  /** The default when no broker setting provides one. */
  default?: string;
  values?: readonly string[];
  min?: number;
  sensitive?: false;
  doc: string;
}

export const topicConfigDefs: readonly TopicConfigDef[] = [
  {
    name: 'cleanup.policy',
    type: 'list',
    default: 'delete',
    values: ['delete', 'compact'],
    doc: 'delete: retention removes old segments. compact is accepted but not performed yet.',
  },
  {
    name: 'compression.type',
    type: 'string',
    brokerSetting: 'compression.type',
    doc: 'Compression of stored batches.',
  },
  { name: 'delete.retention.ms', type: 'long', default: '86400000', min: 0, doc: 'Tombstone retention (compaction).' },
  {
    name: 'file.delete.delay.ms',
    type: 'long',
    default: '60000',
    min: 0,
    doc: 'Delay before deleted segment files are removed.',
  },
  {
    name: 'flush.messages',
    type: 'long',
    brokerSetting: 'log.flush.interval.messages',
    min: 1,
    doc: 'Messages between forced flushes.',
  },
  {
    name: 'flush.ms',
    type: 'long',
    default: String(Number.MAX_SAFE_INTEGER),
    min: 0,
    doc: 'Time between forced flushes.',
  },
  {
    name: 'index.interval.bytes',
    type: 'int',
    brokerSetting: 'log.index.interval.bytes',
    min: 0,
    doc: 'Bytes between offset index entries.',
  },
  {
    name: 'max.compaction.lag.ms',
    type: 'long',
    default: String(Number.MAX_SAFE_INTEGER),
    min: 1,
    doc: 'Compaction lag bound.',
  },
  {
    name: 'max.message.bytes',
    type: 'int',
    brokerSetting: 'message.max.bytes',
    min: 0,
    doc: 'Largest record batch accepted.',
  },
  {
    name: 'message.timestamp.type',
    type: 'string',
    brokerSetting: 'log.message.timestamp.type',
    values: ['CreateTime', 'LogAppendTime'],
    doc: 'Timestamp of stored records.',
  },
  {
    name: 'message.timestamp.before.max.ms',
    type: 'long',
    default: String(Number.MAX_SAFE_INTEGER),
    min: 0,
    doc: 'Accepted timestamp skew into the past.',
  },
  {
    name: 'message.timestamp.after.max.ms',
    type: 'long',
    default: String(Number.MAX_SAFE_INTEGER),
    min: 0,
    doc: 'Accepted timestamp skew into the future.',
  },
  { name: 'min.cleanable.dirty.ratio', type: 'double', default: '0.5', doc: 'Compaction trigger.' },
  { name: 'min.compaction.lag.ms', type: 'long', default: '0', min: 0, doc: 'Compaction lag.' },
  {
    name: 'min.insync.replicas',
    type: 'int',
    default: '1',
    min: 1,
    doc: 'Replicas that must acknowledge acks=all (one node: 1).',
  },
  {
    name: 'preallocate',
    type: 'boolean',
    default: 'true',
    brokerSetting: 'log.preallocate',
    doc: 'Preallocate segment files.',
  },
  {
    name: 'retention.bytes',
    type: 'long',
    brokerSetting: 'log.retention.bytes',
    min: -1,
    doc: 'Retention by size per partition.',
  },
  { name: 'retention.ms', type: 'long', brokerSetting: 'log.retention.ms', min: -1, doc: 'Retention by time.' },
  {
    name: 'segment.bytes',
    type: 'int',
    brokerSetting: 'log.segment.bytes',
    min: 14,
    doc: 'Segment size before a roll.',
  },
  {
    name: 'segment.index.bytes',
    type: 'int',
    brokerSetting: 'log.index.size.max.bytes',
    min: 4,
    doc: 'Preallocated index size.',
  },
  { name: 'segment.jitter.ms', type: 'long', default: '0', min: 0, doc: 'Random jitter subtracted from segment.ms.' },
  { name: 'segment.ms', type: 'long', brokerSetting: 'log.roll.ms', min: 1, doc: 'Segment age before a roll.' },
  { name: 'unclean.leader.election.enable', type: 'boolean', default: 'false', doc: 'No effect on one node.' },
];

const defsByName = new Map(topicConfigDefs.map((d) => [d.name, d]));

export function topicConfigDef(name: string): TopicConfigDef | undefined {
  return defsByName.get(name);
}

/** The default of every topic config on this broker, and where it comes from. */
export function topicConfigDefaultsWithSource(
  config: BrokerConfig,
): Map<string, { value: string; source: ConfigSource | 'fixed' }> {
  const out = new Map<string, { value: string; source: ConfigSource | 'fixed' }>();
  for (const def of topicConfigDefs) {
    if (def.brokerSetting) {
      const entry = config.entry(def.brokerSetting);
      out.set(def.name, { value: entry.value ?? def.default ?? '', source: entry.source });
    } else out.set(def.name, { value: def.default ?? '', source: 'fixed' });
  }
  if (config.optionalString('log.flush.interval.ms') !== null) {
    out.set('flush.ms', {
      value: config.string('log.flush.interval.ms'),
      source: config.entry('log.flush.interval.ms').source,
    });
  }
  return out;
}

export function topicConfigDefaults(config: BrokerConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, { value }] of topicConfigDefaultsWithSource(config)) out[name] = value;
  return out;
}

/** Throws INVALID_CONFIG naming the first unknown or malformed topic config. */
export function validateTopicConfigs(configs: Record<string, string>): void {
  for (const [name, value] of Object.entries(configs)) validateTopicConfig(name, value);
}

export function validateTopicConfig(name: string, value: string): void {
  const def = defsByName.get(name);
  const bad = (why: string) => new KafkaError(ErrorCode.INVALID_CONFIG, `invalid value "${value}" for ${name}: ${why}`);
  if (!def) throw new KafkaError(ErrorCode.INVALID_CONFIG, `unknown topic config ${name}`);
  const v = value.trim();
  switch (def.type) {
    case 'int':
    case 'long': {
      if (!/^-?\d+$/.test(v)) throw bad('expected an integer');
      const n = Number(v);
      if (def.type === 'int' && (n > 2 ** 31 - 1 || n < -(2 ** 31))) throw bad('not an int32');
      if (def.min !== undefined && n < def.min) throw bad(`below the minimum ${def.min}`);
      return;
    }
    case 'double':
      if (!Number.isFinite(Number(v)) || v === '') throw bad('expected a number');
      return;
    case 'boolean':
      if (v !== 'true' && v !== 'false') throw bad('expected true or false');
      return;
    case 'list':
      for (const item of v.split(',').map((s) => s.trim())) {
        if (def.values && !def.values.includes(item)) throw bad(`expected any of ${def.values.join(', ')}`);
      }
      return;
    default:
      if (name === 'compression.type') {
        // Batches are stored exactly as the producer sent them, so broker-side recompression is refused (README).
        if (v !== 'producer') throw bad('only "producer" is supported (batches are stored as sent)');
      } else if (def.values && !def.values.includes(v)) throw bad(`expected one of ${def.values.join(', ')}`);
  }
}
