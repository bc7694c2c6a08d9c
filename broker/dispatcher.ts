/**
 * Routes a request frame to its handler and encodes the answer. This is the one place where errors become
 * responses:
 * - an unknown API key, an unsupported version (other than ApiVersions) or undecodable bytes close the connection,
 *   as Kafka does;
 * - an ApiVersions request newer than ours is answered in the v0 layout with UNSUPPORTED_VERSION and our ranges;
 * - a KafkaError thrown by a handler becomes the handler's error response with that code; anything else is logged
 *   and answered with UNKNOWN_SERVER_ERROR.
 */
import { performance } from 'node:perf_hooks';
import { ErrorCode, errorCodeName, KafkaError } from '../protocol/error-codes.js';
import { decodeRequestHeader, encodeResponseHeader, type RequestHeader } from '../protocol/headers.js';
import { Reader } from '../protocol/wire/reader.js';
import { Writer } from '../protocol/wire/writer.js';
import type { BrokerContext } from './broker-context.js';
import { type ClientInfo, CloseConnectionError } from './connection.js';
import { encodeResponseParts } from './file-records.js';
import type { ApiHandler, RequestContext } from './handler.js';
import type { ResponseParts } from './outbound.js';

const API_VERSIONS = 18;

export class Dispatcher {
  constructor(
    private readonly broker: BrokerContext,
    private readonly handlers: ReadonlyMap<number, ApiHandler>,
  ) {}

  readonly dispatch = async (frame: Buffer, client: ClientInfo): Promise<ResponseParts | null> => {
    const receivedAt = performance.now();
    const { metrics } = this.broker;
    metrics.countBytesIn(frame.length + 4);
    const apiKey = frame.readInt16BE(0);
    const version = frame.readInt16BE(2);
    const handler = this.handlers.get(apiKey);
    if (!handler) throw new CloseConnectionError(`unknown api key ${apiKey}`);
    const api = handler.codec.name;

    const r = new Reader(frame);
    const header = decodeRequestHeader(r, handler.codec.requestHeaderVersion(version));
    if (r.failed) throw new CloseConnectionError(`undecodable ${api} request header: ${r.error}`);
    const served = version >= handler.minVersion && version <= handler.maxVersion;
    // The version label takes only served values: any int16 from the wire would grow the registry without bound.
    metrics.countRequest(api, served ? version : 'unsupported');

    if (!served) {
      if (apiKey === API_VERSIONS) return this.unsupportedApiVersions(header, handler);
      throw new CloseConnectionError(
        `${api} v${version} is not supported (v${handler.minVersion}-${handler.maxVersion})`,
      );
    }

    let body: unknown;
    try {
      body = handler.codec.request.decode(r, version);
      // Bytes after the body are ignored, as Kafka does (librdkafka 2.12 sends three after some Metadata v12).
      r.check(`${api} v${version} request`);
    } catch (err) {
      throw new CloseConnectionError((err as Error).message);
    }

    const ctx: RequestContext = { broker: this.broker, client, header, version, receivedAt };
    let response: unknown;
    try {
      response = await handler.handle(body, ctx);
    } catch (err) {
      // A handler's way to say "no answer but a close" (a failed acks=0 Produce): not an error response.
      if (err instanceof CloseConnectionError) throw err;
      const code = err instanceof KafkaError ? err.errorCode : ErrorCode.UNKNOWN_SERVER_ERROR;
      if (!(err instanceof KafkaError)) {
        this.broker.log.error({ err, api, version, client: client.clientId }, 'request failed unexpectedly');
      }
      metrics.requestErrors.inc({ api, version, error: errorCodeName(code) });
      response = handler.errorResponse(body, code, ctx);
    }
    metrics.requestLatency.observe({ api }, (performance.now() - receivedAt) / 1000);
    if (response === null) return null;
    const parts = encodeResponseParts(handler.codec, version, header.correlationId, response);
    let length = 0;
    for (const p of parts) length += p.length;
    metrics.countBytesOut(length);
    return parts;
  };

  private unsupportedApiVersions(header: RequestHeader, handler: ApiHandler): ResponseParts {
    const w = new Writer(512).reserveSizePrefix();
    encodeResponseHeader(w, { correlationId: header.correlationId }, 0);
    const body = handler.errorResponse({}, ErrorCode.UNSUPPORTED_VERSION, {
      broker: this.broker,
      client: null as unknown as ClientInfo,
      header,
      version: 0,
      receivedAt: 0,
    });
    handler.codec.response.encode(w, body, 0);
    return [w.finish()];
  }
}
