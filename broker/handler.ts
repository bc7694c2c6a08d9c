/**
 * What one API handler file declares: the codec it serves, the versions it serves (ApiVersions is derived from
 * these), how to answer a request, and the response that reports one error code for the whole request.
 */
import type { RequestHeader } from '../protocol/headers.js';
import type { ApiCodec } from '../protocol/wire/api-codec.js';
import type { BrokerContext } from './broker-context.js';
import type { ClientInfo } from './connection.js';

export interface RequestContext {
  readonly broker: BrokerContext;
  readonly client: ClientInfo;
  readonly header: RequestHeader;
  readonly version: number;
  /** When the request frame was taken off the socket (performance.now()). */
  readonly receivedAt: number;
}

/** Req is the decoded request; Res the response as handlers build it (the codec's encodable input type). */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds handlers of every message type
export interface ApiHandler<Req = any, Res = any> {
  // biome-ignore lint/suspicious/noExplicitAny: decoded responses are not a handler's concern
  readonly codec: ApiCodec<Req, any, any, Res>;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** Advertised in ApiVersions from here although only minVersion+ is served (Produce v0-2, see 00-produce). */
  readonly advertisedMinVersion?: number;
  /** Returns the response body; `null` means no response is sent (Produce with acks=0). */
  handle(req: Req, ctx: RequestContext): Promise<Res | null> | Res | null;
  /** The response reporting `errorCode` for everything the request named (Kafka's getErrorResponse). */
  errorResponse(req: Req, errorCode: number, ctx: RequestContext): Res;
}

export function defineHandler<Req, Res>(handler: ApiHandler<Req, Res>): ApiHandler<Req, Res> {
  if (handler.minVersion < handler.codec.minVersion || handler.maxVersion > handler.codec.maxStableVersion) {
    throw new Error(
      `${handler.codec.name} handler serves v${handler.minVersion}-${handler.maxVersion}, ` +
        `outside the codec's stable v${handler.codec.minVersion}-${handler.codec.maxStableVersion}`,
    );
  }
  return handler;
}
