/**
 * Config resources for DescribeConfigs, AlterConfigs and IncrementalAlterConfigs: which resources exist (TOPIC,
 * BROKER, BROKER_LOGGER), how each is described, and how a topic's overrides change.
 *
 * Broker configs are all static here (config file, BERTH_* environment, flags): Kafka answers an attempt to change
 * a config that is not dynamically updatable with INVALID_REQUEST ("Cannot update these configs dynamically"), so
 * Berth does the same for every broker config, saying that Berth has no dynamic broker configs.
 */
import { ErrorCode, KafkaError } from '../protocol/error-codes.js';
import type { BrokerContext } from './broker-context.js';
import type { ConfigEntry } from './config.js';
import { ConfigSourceId, type ConfigView, describeTopicConfigs } from './topic-config-view.js';
import { topicConfigDef, topicConfigDefaults } from './topic-configs.js';
import { validateTopicName } from './topic-registry.js';

/** Kafka's ConfigResource.Type ids. */
export const ResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;

/** Kafka's AlterConfigOp.OpType ids (IncrementalAlterConfigs). */
export const ConfigOperation = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

const DYNAMIC_BROKER_LOGGER_CONFIG = 6;
const ConfigTypeId = { BOOLEAN: 1, STRING: 2, INT: 3, LONG: 5, LIST: 7 } as const;

/** Kafka's log4j level names for pino's levels. */
const KAFKA_LOG_LEVELS: Record<string, string> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'FATAL',
  silent: 'OFF',
};

/**
 * BROKER and BROKER_LOGGER resources are named by broker id; an empty BROKER name means the cluster-wide dynamic
 * defaults. Returns 'cluster-default' or 'this-broker', or throws INVALID_REQUEST as Kafka does.
 */
export function brokerResourceTarget(
  broker: BrokerContext,
  name: string,
  type: number,
): 'cluster-default' | 'this-broker' {
  if (name === '' && type === ResourceType.BROKER) return 'cluster-default';
  if (!/^-?\d+$/.test(name)) {
    throw new KafkaError(ErrorCode.INVALID_REQUEST, `broker id must be an integer, but it is: "${name}"`);
  }
  if (Number(name) !== broker.nodeId) {
    throw new KafkaError(
      ErrorCode.INVALID_REQUEST,
      `unexpected broker id, expected ${broker.nodeId}${type === ResourceType.BROKER ? ' or an empty string' : ''}, but received ${name}`,
    );
  }
  return 'this-broker';
}

/** A TOPIC resource's current overrides; throws INVALID_TOPIC_EXCEPTION or UNKNOWN_TOPIC_OR_PARTITION. */
export function topicOverrides(broker: BrokerContext, name: string): Record<string, string> {
  validateTopicName(name);
  const topic = broker.topics.get(name);
  if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic "${name}"`);
  return topic.configs;
}

function brokerConfigType(entry: ConfigEntry): number {
  switch (entry.def.type) {
    case 'boolean':
      return ConfigTypeId.BOOLEAN;
    case 'int':
      return ConfigTypeId.INT;
    case 'long':
      return ConfigTypeId.LONG;
    case 'list':
      return ConfigTypeId.LIST;
    default:
      return ConfigTypeId.STRING;
  }
}

/** The static broker configs, by name: read-only, DEFAULT_CONFIG or STATIC_BROKER_CONFIG by where each value came from. */
export function describeBrokerConfigs(broker: BrokerContext): ConfigView[] {
  const entries = [...broker.config.all()].sort((a, b) => a.name.localeCompare(b.name));
  return entries.map((e) => {
    const source = e.source === 'default' ? ConfigSourceId.DEFAULT_CONFIG : ConfigSourceId.STATIC_BROKER_CONFIG;
    const synonyms: ConfigView['synonyms'] = [{ name: e.name, value: e.value, source }];
    if (source !== ConfigSourceId.DEFAULT_CONFIG) {
      synonyms.push({ name: e.name, value: e.def.default, source: ConfigSourceId.DEFAULT_CONFIG });
    }
    return {
      name: e.name,
      value: e.value,
      readOnly: true,
      configSource: source,
      isSensitive: false,
      configType: brokerConfigType(e),
      documentation: e.def.doc,
      synonyms,
    };
  });
}

/** BROKER_LOGGER: Berth has one logger, reported as Kafka's root logger with its level. */
export function describeBrokerLoggers(broker: BrokerContext): ConfigView[] {
  const level = KAFKA_LOG_LEVELS[broker.log.level] ?? broker.log.level.toUpperCase();
  return [
    {
      name: 'root',
      value: level,
      readOnly: true,
      configSource: DYNAMIC_BROKER_LOGGER_CONFIG,
      isSensitive: false,
      configType: ConfigTypeId.STRING,
      documentation: 'The broker log level (log.level); it cannot be changed at runtime.',
      synonyms: [],
    },
  ];
}

/** Everything a DescribeConfigs resource names, before the keys filter. */
export function describeResource(broker: BrokerContext, type: number, name: string): ConfigView[] {
  switch (type) {
    case ResourceType.TOPIC:
      return describeTopicConfigs(broker, topicOverrides(broker, name));
    case ResourceType.BROKER:
      // No dynamic defaults exist, so the cluster-wide resource is empty, as on a Kafka cluster without any.
      return brokerResourceTarget(broker, name, type) === 'cluster-default' ? [] : describeBrokerConfigs(broker);
    case ResourceType.BROKER_LOGGER:
      brokerResourceTarget(broker, name, type);
      return describeBrokerLoggers(broker);
    default:
      throw new KafkaError(ErrorCode.INVALID_REQUEST, `unsupported resource type ${type}`);
  }
}

/** The answer to an attempt to change a BROKER or BROKER_LOGGER resource (after checking its name); null: nothing to change. */
export function refuseBrokerChange(
  broker: BrokerContext,
  type: number,
  name: string,
  keys: string[],
): KafkaError | null {
  brokerResourceTarget(broker, name, type);
  // Changing nothing is allowed (and changes nothing), as in Kafka.
  if (keys.length === 0) return null;
  if (type === ResourceType.BROKER_LOGGER) {
    return new KafkaError(
      ErrorCode.INVALID_REQUEST,
      'log levels cannot be changed at runtime; set log.level and restart',
    );
  }
  return new KafkaError(
    ErrorCode.INVALID_REQUEST,
    `cannot update these configs dynamically: ${keys.join(', ')} (Berth has no dynamic broker configs; ` +
      'set them in the config file, environment or flags and restart)',
  );
}

interface ConfigResource {
  resourceType: number;
  resourceName: string;
}

export interface ResourceResult {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
}

export function resourceResult(
  r: ConfigResource,
  errorCode: number,
  errorMessage: string | null = null,
): ResourceResult {
  return { errorCode, errorMessage, resourceType: r.resourceType, resourceName: r.resourceName };
}

/**
 * Runs `alter` on each resource and reports each outcome separately (AlterConfigs, IncrementalAlterConfigs).
 * A resource named more than once in one request fails with INVALID_REQUEST, as Kafka's admin manager answers.
 */
export async function alterEachResource<R extends ConfigResource>(
  resources: readonly R[],
  alter: (r: R) => Promise<void>,
): Promise<ResourceResult[]> {
  const seen = new Map<string, number>();
  const key = (r: ConfigResource) => `${r.resourceType}:${r.resourceName}`;
  for (const r of resources) seen.set(key(r), (seen.get(key(r)) ?? 0) + 1);
  const results: ResourceResult[] = [];
  for (const r of resources) {
    if ((seen.get(key(r)) ?? 0) > 1) {
      results.push(resourceResult(r, ErrorCode.INVALID_REQUEST, 'resource named more than once in the request'));
      continue;
    }
    try {
      await alter(r);
      results.push(resourceResult(r, ErrorCode.NONE));
    } catch (err) {
      if (!(err instanceof KafkaError)) throw err;
      results.push(resourceResult(r, err.errorCode, err.message));
    }
  }
  return results;
}

/** Throws INVALID_REQUEST when a config name appears twice among one resource's configs. */
export function checkDuplicateKeys(names: string[]): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new KafkaError(ErrorCode.INVALID_REQUEST, `config ${n} is named more than once`);
    seen.add(n);
  }
}

export interface IncrementalOp {
  name: string;
  configOperation: number;
  value: string | null;
}

/**
 * IncrementalAlterConfigs on a topic's overrides: SET and DELETE change one override; APPEND and SUBTRACT apply to
 * list configs only (INVALID_CONFIG otherwise) and start from the current value, the default when not overridden.
 */
export function applyIncrementalOps(
  broker: BrokerContext,
  overrides: Record<string, string>,
  ops: readonly IncrementalOp[],
): Record<string, string> {
  const next = { ...overrides };
  const defaults = topicConfigDefaults(broker.config);
  for (const op of ops) {
    const splitList = (v: string) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
    switch (op.configOperation) {
      case ConfigOperation.SET:
        if (op.value === null) throw new KafkaError(ErrorCode.INVALID_REQUEST, `null value for ${op.name}`);
        next[op.name] = op.value;
        break;
      case ConfigOperation.DELETE:
        delete next[op.name];
        break;
      case ConfigOperation.APPEND:
      case ConfigOperation.SUBTRACT: {
        const def = topicConfigDef(op.name);
        if (!def) throw new KafkaError(ErrorCode.INVALID_CONFIG, `unknown topic config ${op.name}`);
        const verb = op.configOperation === ConfigOperation.APPEND ? 'append' : 'subtract';
        if (def.type !== 'list') {
          throw new KafkaError(
            ErrorCode.INVALID_CONFIG,
            `config value ${verb} is not allowed for config key ${op.name}`,
          );
        }
        if (op.value === null) throw new KafkaError(ErrorCode.INVALID_REQUEST, `null value for ${op.name}`);
        const current = splitList(next[op.name] ?? defaults[op.name] ?? '');
        const given = splitList(op.value);
        const result =
          op.configOperation === ConfigOperation.APPEND
            ? [...new Set([...current, ...given])]
            : current.filter((v) => !given.includes(v));
        next[op.name] = result.join(',');
        break;
      }
      default:
        throw new KafkaError(ErrorCode.INVALID_REQUEST, `unknown config operation ${op.configOperation}`);
    }
  }
  return next;
}
