/**
 * DescribeConfigs (key 32), v1-4 (Kafka 4 no longer serves v0). Resources:
 * - TOPIC: every topic config with its value and source (TOPIC_CONFIG, STATIC_BROKER_CONFIG or DEFAULT_CONFIG);
 *   an unknown topic is UNKNOWN_TOPIC_OR_PARTITION, a malformed name INVALID_TOPIC_EXCEPTION;
 * - BROKER named by this broker's id: every broker config, read-only, DEFAULT_CONFIG or STATIC_BROKER_CONFIG;
 *   the empty name (cluster-wide dynamic defaults) is empty, there are none; another id is INVALID_REQUEST;
 * - BROKER_LOGGER named by this broker's id: the root logger and its level;
 * - anything else: INVALID_REQUEST.
 * configuration_keys filters by name (null: all). Synonyms only with include_synonyms; documentation (v3+) only
 * with include_documentation; config types from v3. Errors are per resource; v4 is flexible.
 */
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import {
  DescribeConfigs,
  type DescribeConfigsResponseDescribeConfigsResultInput as ResourceResult,
} from '../../protocol/generated/describe-configs.js';
import { describeResource } from '../config-resources.js';
import { defineHandler } from '../handler.js';

function resourceError(
  r: { resourceType: number; resourceName: string },
  errorCode: number,
  errorMessage: string | null = null,
): ResourceResult {
  return { errorCode, errorMessage, resourceType: r.resourceType, resourceName: r.resourceName, configs: [] };
}

export default defineHandler({
  codec: DescribeConfigs,
  minVersion: 1,
  maxVersion: DescribeConfigs.maxStableVersion,
  handle(req, ctx) {
    const { broker, version } = ctx;
    const synonyms = req.includeSynonyms ?? false;
    const documentation = version >= 3 && (req.includeDocumentation ?? false);
    const results = req.resources.map((r): ResourceResult => {
      try {
        const keys = r.configurationKeys === null ? null : new Set(r.configurationKeys);
        const views = describeResource(broker, r.resourceType, r.resourceName).filter((v) => !keys || keys.has(v.name));
        return {
          ...resourceError(r, ErrorCode.NONE),
          configs: views.map((v) => ({
            name: v.name,
            value: v.value,
            readOnly: v.readOnly,
            configSource: v.configSource,
            isSensitive: v.isSensitive,
            synonyms: synonyms ? v.synonyms : [],
            configType: version >= 3 ? v.configType : 0,
            documentation: documentation ? v.documentation : null,
          })),
        };
      } catch (err) {
        if (!(err instanceof KafkaError)) throw err;
        return resourceError(r, err.errorCode, err.message);
      }
    });
    return { throttleTimeMs: 0, results };
  },
  errorResponse(req, errorCode) {
    return { throttleTimeMs: 0, results: req.resources.map((r) => resourceError(r, errorCode)) };
  },
});
