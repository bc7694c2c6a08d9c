/**
 * ApiVersions (key 18), v0-4. The ranges come from the handler registry, never from a hand-written list.
 * v3+ carries the client's software name and version, kept on the connection for logs and metrics.
 * A version newer than ours is answered by the dispatcher in the v0 layout with UNSUPPORTED_VERSION.
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import { ApiVersions, type ApiVersionsResponseInput } from '../../protocol/generated/api-versions.js';
import type { BrokerContext } from '../broker-context.js';
import { defineHandler } from '../handler.js';

function supportedRanges(broker: BrokerContext): ApiVersionsResponseInput['apiKeys'] {
  return [...broker.handlers.values()]
    .map((h) => ({
      apiKey: h.codec.apiKey,
      minVersion: h.advertisedMinVersion ?? h.minVersion,
      maxVersion: h.maxVersion,
    }))
    .sort((a, b) => a.apiKey - b.apiKey);
}

export default defineHandler({
  codec: ApiVersions,
  minVersion: 0,
  maxVersion: 4,
  handle(req, ctx) {
    if (ctx.version >= 3) {
      ctx.client.clientSoftwareName = req.clientSoftwareName ?? null;
      ctx.client.clientSoftwareVersion = req.clientSoftwareVersion ?? null;
    }
    ctx.client.clientId = ctx.header.clientId;
    return { errorCode: ErrorCode.NONE, apiKeys: supportedRanges(ctx.broker), throttleTimeMs: 0 };
  },
  errorResponse(_req, errorCode, ctx) {
    return { errorCode, apiKeys: supportedRanges(ctx.broker), throttleTimeMs: 0 };
  },
});
