/**
 * A topic's configs as DescribeConfigs and CreateTopics report them: every known topic config with its value and
 * Kafka's config source (TOPIC_CONFIG for the topic's own override, STATIC_BROKER_CONFIG for a broker setting
 * from the config file, environment or flags, DEFAULT_CONFIG otherwise).
 */
import type { BrokerContext } from './broker-context.js';
import { topicConfigDef, topicConfigDefaultsWithSource, topicConfigDefs } from './topic-configs.js';

/** Kafka's ConfigSource ids. */
export const ConfigSourceId = {
  TOPIC_CONFIG: 1,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

/** Kafka's ConfigType ids (DescribeConfigs v3+). */
const ConfigTypeId = { BOOLEAN: 1, STRING: 2, INT: 3, LONG: 5, DOUBLE: 6, LIST: 7 } as const;

export interface ConfigView {
  name: string;
  value: string | null;
  readOnly: boolean;
  configSource: number;
  isSensitive: boolean;
  configType: number;
  documentation: string;
  /** The values below this one in precedence (DescribeConfigs include_synonyms). */
  synonyms: Array<{ name: string; value: string | null; source: number }>;
}

export function describeTopicConfigs(broker: BrokerContext, overrides: Record<string, string>): ConfigView[] {
  const defaults = topicConfigDefaultsWithSource(broker.config);
  return topicConfigDefs.map((def) => {
    const fallback = defaults.get(def.name)!;
    const fallbackSource =
      fallback.source === 'fixed' || fallback.source === 'default'
        ? ConfigSourceId.DEFAULT_CONFIG
        : ConfigSourceId.STATIC_BROKER_CONFIG;
    const synonyms: ConfigView['synonyms'] = [];
    const override = overrides[def.name];
    if (override !== undefined) synonyms.push({ name: def.name, value: override, source: ConfigSourceId.TOPIC_CONFIG });
    if (def.brokerSetting && fallbackSource === ConfigSourceId.STATIC_BROKER_CONFIG) {
      synonyms.push({ name: def.brokerSetting, value: fallback.value, source: ConfigSourceId.STATIC_BROKER_CONFIG });
    }
    synonyms.push({
      name: def.brokerSetting ?? def.name,
      value: def.brokerSetting ? broker.config.entry(def.brokerSetting).def.default : (def.default ?? null),
      source: ConfigSourceId.DEFAULT_CONFIG,
    });
    return {
      name: def.name,
      value: override ?? fallback.value,
      readOnly: false,
      configSource: override !== undefined ? ConfigSourceId.TOPIC_CONFIG : fallbackSource,
      isSensitive: false,
      configType: configTypeId(def.name),
      documentation: def.doc,
      synonyms,
    };
  });
}

function configTypeId(name: string): number {
  switch (topicConfigDef(name)?.type) {
    case 'boolean':
      return ConfigTypeId.BOOLEAN;
    case 'int':
      return ConfigTypeId.INT;
    case 'long':
      return ConfigTypeId.LONG;
    case 'double':
      return ConfigTypeId.DOUBLE;
    case 'list':
      return ConfigTypeId.LIST;
    default:
      return ConfigTypeId.STRING;
  }
}
