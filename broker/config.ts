/**
 * Broker configuration: Kafka's property names and defaults, validated in one place.
 * Sources, lowest precedence first: built-in defaults, a properties file (--config), BERTH_* environment variables
 * (BERTH_LOG_SEGMENT_BYTES=... sets log.segment.bytes), then explicit overrides (command-line flags, startBroker()).
 * Each value remembers its source, which DescribeConfigs reports.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_DELETE_CHUNK_BYTES, DEFAULT_DELETE_CHUNK_INTERVAL_MS } from '../storage/file-remover.js';
import { parseProperties } from './properties.js';

export type ConfigType = 'int' | 'long' | 'string' | 'boolean' | 'list' | 'enum';
export type ConfigSource = 'default' | 'file' | 'env' | 'override';

export interface ConfigDef {
  name: string;
  type: ConfigType;
  default: string | null;
  /** Allowed values for 'enum'; inclusive bounds for numbers. */
  values?: readonly string[];
  min?: number;
  max?: number;
  doc: string;
  /** The topic-level config this broker default stands for (log.segment.bytes -> segment.bytes). */
  topicConfig?: string;
}

const I32_MAX = 2 ** 31 - 1;

export const brokerConfigDefs: readonly ConfigDef[] = [
  { name: 'node.id', type: 'int', default: '1', min: 0, doc: 'This broker id.' },
  { name: 'host', type: 'string', default: '0.0.0.0', doc: 'Address the Kafka listener binds.' },
  { name: 'port', type: 'int', default: '9092', min: 0, max: 65535, doc: 'Kafka listener port (0 picks one).' },
  {
    name: 'advertised.listeners',
    type: 'string',
    default: null,
    doc: 'host:port (or PLAINTEXT://host:port) that clients are told to connect to.',
  },
  { name: 'admin.port', type: 'int', default: '9644', min: -1, max: 65535, doc: 'HTTP admin port (-1 disables).' },
  { name: 'log.dirs', type: 'string', default: './berth-data', doc: 'Data directory.' },
  {
    name: 'socket.request.max.bytes',
    type: 'int',
    default: String(100 * 1024 * 1024),
    min: 1024,
    max: I32_MAX,
    doc: 'Largest request frame accepted; checked before any allocation.',
  },
  { name: 'max.connections', type: 'int', default: '10000', min: 1, doc: 'Connections accepted in total.' },
  { name: 'max.connections.per.ip', type: 'int', default: '1000', min: 1, doc: 'Connections per client address.' },
  {
    name: 'connections.max.idle.ms',
    type: 'long',
    default: '600000',
    min: 1000,
    doc: 'Idle connections are closed after this long.',
  },
  {
    name: 'queued.max.requests.per.connection',
    type: 'int',
    default: '100',
    min: 1,
    doc: 'Requests in flight on one connection before it stops being read.',
  },
  {
    name: 'queued.max.response.bytes.per.connection',
    type: 'long',
    default: String(64 * 1024 * 1024),
    min: 1024,
    doc: 'Response bytes queued on one connection before it stops being read.',
  },
  {
    name: 'request.frame.timeout.ms',
    type: 'long',
    default: '30000',
    min: 100,
    doc: 'A request frame must arrive whole within this time once started.',
  },
  { name: 'auto.create.topics.enable', type: 'boolean', default: 'true', doc: 'Create topics on first use.' },
  { name: 'num.partitions', type: 'int', default: '1', min: 1, doc: 'Partitions of auto-created topics.' },
  {
    name: 'max.partitions',
    type: 'int',
    default: '10000',
    min: 1,
    doc: 'Partitions on this broker in total, over all topics; creations past it get POLICY_VIOLATION.',
  },
  {
    name: 'default.replication.factor',
    type: 'int',
    default: '1',
    min: 1,
    max: 1,
    doc: 'Replication factor (one node).',
  },
  {
    name: 'log.preallocate',
    type: 'boolean',
    default: 'true',
    topicConfig: 'preallocate',
    doc: 'Reserve disk ahead of the active segment (16 MiB, doubling to 128 MiB). Default false on ext4 mounted with discard.',
  },
  {
    name: 'log.segment.bytes',
    type: 'int',
    default: String(1024 * 1024 * 1024),
    min: 14,
    topicConfig: 'segment.bytes',
    doc: 'Segment size before a roll.',
  },
  {
    name: 'log.roll.ms',
    type: 'long',
    default: String(7 * 24 * 3600 * 1000),
    min: 1,
    topicConfig: 'segment.ms',
    doc: 'Segment age before a roll.',
  },
  {
    name: 'log.retention.ms',
    type: 'long',
    default: String(7 * 24 * 3600 * 1000),
    min: -1,
    topicConfig: 'retention.ms',
    doc: 'Retention by time (-1: forever).',
  },
  {
    name: 'log.retention.bytes',
    type: 'long',
    default: '-1',
    min: -1,
    topicConfig: 'retention.bytes',
    doc: 'Retention by size per partition (-1: unlimited).',
  },
  {
    name: 'log.retention.check.interval.ms',
    type: 'long',
    default: '300000',
    min: 1,
    doc: 'How often retention runs.',
  },
  {
    name: 'log.file.delete.chunk.bytes',
    type: 'long',
    default: String(DEFAULT_DELETE_CHUNK_BYTES),
    min: 0,
    doc: 'Deleted segments and partitions are removed in the background, cut by this much at a time (0: whole files at once), so the discards of a large deletion do not stall every fdatasync.',
  },
  {
    name: 'log.file.delete.chunk.interval.ms',
    type: 'long',
    default: String(DEFAULT_DELETE_CHUNK_INTERVAL_MS),
    min: 0,
    max: 60_000,
    doc: 'Pause between two cuts of log.file.delete.chunk.bytes.',
  },
  {
    name: 'log.index.interval.bytes',
    type: 'int',
    default: '4096',
    min: 0,
    topicConfig: 'index.interval.bytes',
    doc: 'Bytes between offset index entries.',
  },
  {
    name: 'log.index.size.max.bytes',
    type: 'int',
    default: String(10 * 1024 * 1024),
    min: 4,
    topicConfig: 'segment.index.bytes',
    doc: 'Preallocated index size.',
  },
  {
    name: 'log.flush.interval.messages',
    type: 'long',
    default: String(Number.MAX_SAFE_INTEGER),
    min: 1,
    topicConfig: 'flush.messages',
    doc: 'Messages between forced flushes.',
  },
  {
    name: 'log.flush.interval.ms',
    type: 'long',
    default: null,
    min: 0,
    topicConfig: 'flush.ms',
    doc: 'Time between forced flushes.',
  },
  {
    name: 'message.max.bytes',
    type: 'int',
    default: '1048588',
    min: 0,
    topicConfig: 'max.message.bytes',
    doc: 'Largest record batch accepted.',
  },
  {
    name: 'log.message.timestamp.type',
    type: 'enum',
    default: 'CreateTime',
    values: ['CreateTime', 'LogAppendTime'],
    topicConfig: 'message.timestamp.type',
    doc: 'Timestamp of stored records.',
  },
  {
    name: 'compression.type',
    type: 'enum',
    default: 'producer',
    values: ['producer'],
    topicConfig: 'compression.type',
    doc: 'Compression of stored batches: only "producer" (stored as sent) is supported.',
  },
  {
    name: 'io.engine',
    type: 'enum',
    default: 'auto',
    values: ['auto', 'uring', 'sync'],
    doc: 'Append engine: io_uring with registered buffers, or pwrite on the thread pool.',
  },
  {
    name: 'v8.allocation.site.pretenuring',
    type: 'boolean',
    default: 'false',
    doc: 'Let V8 allocate objects from allocation sites it sees surviving straight into the old generation (berth start only).',
  },
  {
    name: 'fetch.path',
    type: 'enum',
    default: 'auto',
    values: ['auto', 'zerocopy', 'copy'],
    doc: 'Fetch send path: splice/sendfile from the page cache, or read and socket.write.',
  },
  // Group coordinator (broker/groups/).
  {
    name: 'group.initial.rebalance.delay.ms',
    type: 'int',
    default: '3000',
    min: 0,
    doc: 'How long the first rebalance of an empty group waits for more members (extended per join, capped).',
  },
  {
    name: 'group.min.session.timeout.ms',
    type: 'int',
    default: '6000',
    min: 1,
    doc: 'Smallest session timeout a member may ask for.',
  },
  {
    name: 'group.max.session.timeout.ms',
    type: 'int',
    default: '1800000',
    min: 1,
    doc: 'Largest session timeout a member may ask for.',
  },
  { name: 'group.max.size', type: 'int', default: String(I32_MAX), min: 1, doc: 'Members allowed in one group.' },
  {
    name: 'offsets.retention.minutes',
    type: 'int',
    default: String(7 * 24 * 60),
    min: 1,
    doc: 'Committed offsets of an empty group expire this long after the group became empty (or the last commit).',
  },
  {
    name: 'offsets.retention.check.interval.ms',
    type: 'long',
    default: '600000',
    min: 1,
    doc: 'How often expired offsets are removed.',
  },
  {
    name: 'group.consumer.session.timeout.ms',
    type: 'int',
    default: '45000',
    min: 1,
    doc: 'Session timeout of KIP-848 consumer group members.',
  },
  {
    name: 'group.consumer.heartbeat.interval.ms',
    type: 'int',
    default: '5000',
    min: 1,
    doc: 'Heartbeat interval KIP-848 consumer group members are told to use.',
  },
  {
    name: 'offset.metadata.max.bytes',
    type: 'int',
    default: '4096',
    min: 0,
    doc: 'Largest metadata string stored with a committed offset.',
  },
  {
    name: 'log.level',
    type: 'enum',
    default: 'info',
    values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    doc: 'Log level.',
  },
];

const defsByName = new Map(brokerConfigDefs.map((d) => [d.name, d]));

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`invalid setting ${setting}: ${message}`);
    this.name = 'ConfigError';
  }
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  source: ConfigSource;
  def: ConfigDef;
}

export class BrokerConfig {
  private readonly entries = new Map<string, ConfigEntry>();

  constructor(layers: ReadonlyArray<{ source: ConfigSource; values: ReadonlyMap<string, string | null> }> = []) {
    for (const def of brokerConfigDefs)
      this.entries.set(def.name, { name: def.name, value: def.default, source: 'default', def });
    for (const layer of layers) {
      for (const [name, raw] of layer.values) {
        const def = defsByName.get(name);
        if (!def) throw new ConfigError(name, 'unknown setting');
        const value = raw === null ? null : validate(def, raw);
        this.entries.set(name, { name, value, source: layer.source, def });
      }
    }
  }

  entry(name: string): ConfigEntry {
    const e = this.entries.get(name);
    if (!e) throw new ConfigError(name, 'unknown setting');
    return e;
  }

  all(): ConfigEntry[] {
    return [...this.entries.values()];
  }

  string(name: string): string {
    const v = this.entry(name).value;
    if (v === null) throw new ConfigError(name, 'has no value');
    return v;
  }

  optionalString(name: string): string | null {
    return this.entry(name).value;
  }

  number(name: string): number {
    return Number(this.string(name));
  }

  optionalNumber(name: string): number | null {
    const v = this.entry(name).value;
    return v === null ? null : Number(v);
  }

  boolean(name: string): boolean {
    return this.string(name) === 'true';
  }

  /**
   * Replaces a built-in default that depends on the machine, decided at start-up; a value the operator set (file,
   * environment, flag) stays. Returns whether the default was replaced.
   */
  adjustDefault(name: string, value: string): boolean {
    const e = this.entry(name);
    if (e.source !== 'default') return false;
    this.entries.set(name, { ...e, value: validate(e.def, value) });
    return true;
  }

  /** Broker defaults of topic-level configs, keyed by the topic config name. */
  topicDefaults(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of this.entries.values()) if (e.def.topicConfig && e.value !== null) out[e.def.topicConfig] = e.value;
    return out;
  }
}

function validate(def: ConfigDef, raw: string): string {
  const value = raw.trim();
  switch (def.type) {
    case 'int':
    case 'long': {
      if (!/^-?\d+$/.test(value)) throw new ConfigError(def.name, `expected an integer, got "${raw}"`);
      const n = Number(value);
      if (!Number.isSafeInteger(n)) throw new ConfigError(def.name, `${raw} is out of range`);
      if (def.type === 'int' && (n > I32_MAX || n < -(2 ** 31)))
        throw new ConfigError(def.name, `${raw} is not an int32`);
      if (def.min !== undefined && n < def.min)
        throw new ConfigError(def.name, `${raw} is below the minimum ${def.min}`);
      if (def.max !== undefined && n > def.max)
        throw new ConfigError(def.name, `${raw} is above the maximum ${def.max}`);
      return String(n);
    }
    case 'boolean':
      if (value !== 'true' && value !== 'false')
        throw new ConfigError(def.name, `expected true or false, got "${raw}"`);
      return value;
    case 'enum':
      if (!def.values?.includes(value))
        throw new ConfigError(def.name, `expected one of ${def.values?.join(', ')}, got "${raw}"`);
      return value;
    default:
      return value;
  }
}

/** Reads a properties file into a config layer. */
export function readConfigFile(path: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('--config', `cannot read ${path}: ${(err as Error).message}`);
  }
  return parseProperties(text);
}

/** BERTH_LOG_SEGMENT_BYTES=1024 -> log.segment.bytes=1024. Only names of known settings are taken. */
export function configFromEnv(env: NodeJS.ProcessEnv): Map<string, string> {
  const out = new Map<string, string>();
  const byEnvName = new Map(brokerConfigDefs.map((d) => [`BERTH_${d.name.replace(/\./g, '_').toUpperCase()}`, d.name]));
  for (const [key, value] of Object.entries(env)) {
    const name = byEnvName.get(key);
    if (name && value !== undefined) out.set(name, value);
  }
  return out;
}
