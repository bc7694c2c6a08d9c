/**
 * IncrementalAlterConfigs (key 44), v0-1. For a TOPIC, each config operation changes one override: SET, DELETE
 * (back to the default), and APPEND / SUBTRACT for list configs (INVALID_CONFIG for any other type), starting from
 * the current value (the default when not overridden). The resulting overrides are validated as a whole
 * (INVALID_CONFIG), and validate_only stops there. BROKER and BROKER_LOGGER resources are refused with
 * INVALID_REQUEST: every Berth broker config is static (see config-resources.ts). A resource named twice, a config
 * named twice in one resource, a null value for SET/APPEND/SUBTRACT or an unknown operation is INVALID_REQUEST.
 * Errors are per resource; v1 is flexible.
 */
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import {
  IncrementalAlterConfigs,
  type IncrementalAlterConfigsRequestAlterConfigsResource as Resource,
} from '../../protocol/generated/incremental-alter-configs.js';
import type { BrokerContext } from '../broker-context.js';
import {
  alterEachResource,
  applyIncrementalOps,
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
  const current = topicOverrides(broker, r.resourceName);
  checkDuplicateKeys(names);
  const next = applyIncrementalOps(broker, current, r.configs);
  validateTopicConfigs(next);
  if (!validateOnly) await broker.partitions.setTopicConfigs(r.resourceName, next);
}

export default defineHandler({
  codec: IncrementalAlterConfigs,
  minVersion: 0,
  maxVersion: IncrementalAlterConfigs.maxStableVersion,
  async handle(req, ctx) {
    const responses = await alterEachResource(req.resources, (r) => alter(ctx.broker, r, req.validateOnly));
    return { throttleTimeMs: 0, responses };
  },
  errorResponse(req, errorCode) {
    return { throttleTimeMs: 0, responses: req.resources.map((r) => resourceResult(r, errorCode)) };
  },
});
