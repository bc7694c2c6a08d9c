/**
 * AlterConfigs (key 33), v0-2. For a TOPIC, the configs given replace the topic's overrides wholesale (every
 * override not named goes back to its default), as Kafka's legacy AlterConfigs does; null values are ignored.
 * The new set is validated first (INVALID_CONFIG naming the first bad config), and validate_only stops there.
 * BROKER and BROKER_LOGGER resources are refused with INVALID_REQUEST: every Berth broker config is static (see
 * config-resources.ts). A resource named twice, or a config named twice in one resource, is INVALID_REQUEST.
 * Errors are per resource; v2 is flexible.
 */
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import {
  AlterConfigs,
  type AlterConfigsRequestAlterConfigsResource as Resource,
} from '../../protocol/generated/alter-configs.js';
import type { BrokerContext } from '../broker-context.js';
import {
  alterEachResource,
  checkDuplicateKeys,
  ResourceType,
  refuseBrokerChange,
  resourceResult,
  topicOverrides,
} from '../config-resources.js';
import { defineHandler } from '../handler.js';
import { validateTopicConfigs } from '../topic-configs.js';

async function alter(broker: BrokerContext, r: Resource, validateOnly: boolean): Promise<void> {
  const names = r.configs.map((c) => c.name);
  if (r.resourceType === ResourceType.BROKER || r.resourceType === ResourceType.BROKER_LOGGER) {
    const refusal = refuseBrokerChange(broker, r.resourceType, r.resourceName, names);
    if (refusal) throw refusal;
    return;
  }
  if (r.resourceType !== ResourceType.TOPIC) {
    throw new KafkaError(ErrorCode.INVALID_REQUEST, `unsupported resource type ${r.resourceType}`);
  }
  topicOverrides(broker, r.resourceName);
  checkDuplicateKeys(names);
  const configs: Record<string, string> = {};
  for (const c of r.configs) if (c.value !== null) configs[c.name] = c.value;
  validateTopicConfigs(configs);
  if (!validateOnly) await broker.partitions.setTopicConfigs(r.resourceName, configs);
}

export default defineHandler({
  codec: AlterConfigs,
  minVersion: 0,
  maxVersion: AlterConfigs.maxStableVersion,
  async handle(req, ctx) {
    const responses = await alterEachResource(req.resources, (r) => alter(ctx.broker, r, req.validateOnly));
    return { throttleTimeMs: 0, responses };
  },
  errorResponse(req, errorCode) {
    return { throttleTimeMs: 0, responses: req.resources.map((r) => resourceResult(r, errorCode)) };
  },
});
