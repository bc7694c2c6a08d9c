/**
 * Whole frames: a 4-byte size prefix, a header, a body. Encoders return the frame with its size prefix; decoders
 * take the frame after the size prefix (as the connection's framing hands it over).
 * Bytes after the body are tolerated and counted in `trailingBytes`, as Kafka's broker ignores them: librdkafka
 * 2.12 sends a Metadata v12 all-topics request with 3 stray bytes (an int32 array count slot never shrunk to its
 * varint), and its mock answers Metadata v12 with one.
 */
import { ErrorCode, KafkaError } from './error-codes.js';
import { apiCodecs } from './generated/index.js';
import {
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
  type RequestHeader,
  type ResponseHeader,
} from './headers.js';
import type { ApiCodec } from './wire/api-codec.js';
import { Reader } from './wire/reader.js';
import { Writer } from './wire/writer.js';

const API_VERSIONS_KEY = 18;

/** The codec of an API key at a version, or a KafkaError(UNSUPPORTED_VERSION). */
export function codecFor(apiKey: number, apiVersion: number): ApiCodec {
  const codec = apiCodecs.get(apiKey);
  if (codec === undefined) throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, `unknown api key ${apiKey}`);
  if (apiVersion < codec.minVersion || apiVersion > codec.maxVersion) {
    throw new KafkaError(
      ErrorCode.UNSUPPORTED_VERSION,
      `${codec.name} version ${apiVersion} is not in ${codec.minVersion}-${codec.maxVersion}`,
    );
  }
  return codec;
}

function writerFor(): Writer {
  return new Writer(1024).reserveSizePrefix();
}

function writeRequest(w: Writer, header: RequestHeader, body: unknown): void {
  const codec = codecFor(header.apiKey, header.apiVersion);
  encodeRequestHeader(w, header, codec.requestHeaderVersion(header.apiVersion));
  codec.request.encode(w, body, header.apiVersion);
}

function writeResponse(w: Writer, apiKey: number, apiVersion: number, header: ResponseHeader, body: unknown): void {
  const codec = codecFor(apiKey, apiVersion);
  encodeResponseHeader(w, header, codec.responseHeaderVersion(apiVersion));
  codec.response.encode(w, body, apiVersion);
}

/** A request frame (size prefix, header, body) for `header.apiKey` at `header.apiVersion`. */
export function encodeRequestFrame(header: RequestHeader, body: unknown): Buffer {
  const w = writerFor();
  writeRequest(w, header, body);
  return w.finish();
}

/** A response frame (size prefix, header, body). */
export function encodeResponseFrame(apiKey: number, apiVersion: number, correlationId: number, body: unknown): Buffer {
  const w = writerFor();
  writeResponse(w, apiKey, apiVersion, { correlationId }, body);
  return w.finish();
}

/**
 * Like encodeResponseFrame, but returns the frame as chunks in order (record slices are referenced, not copied),
 * for a vectored socket write.
 */
export function encodeResponseFrameChunks(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: unknown,
): Buffer[] {
  const w = writerFor();
  writeResponse(w, apiKey, apiVersion, { correlationId }, body);
  return w.finishChunks();
}

export interface DecodedRequest {
  header: RequestHeader;
  // biome-ignore lint/suspicious/noExplicitAny: the body's type depends on header.apiKey
  body: any;
  /** Bytes left after the body (0 for a well-formed frame). */
  trailingBytes: number;
}

/**
 * Decodes a request frame (without its size prefix): the header, then the body with the codec of its api key and
 * version. Throws KafkaError(UNSUPPORTED_VERSION) for an unknown api key or version (use decodeRequestHeader to
 * answer those), ProtocolDecodeError for malformed bytes.
 */
export function decodeRequest(frame: Buffer): DecodedRequest {
  const r = new Reader(frame);
  const header = decodeRequestHeader(r);
  r.check('request header');
  const codec = codecFor(header.apiKey, header.apiVersion);
  const body = codec.request.decode(r, header.apiVersion);
  r.check(`${codec.name} request v${header.apiVersion}`);
  return { header, body, trailingBytes: r.remaining() };
}

export interface DecodedResponse {
  header: ResponseHeader;
  // biome-ignore lint/suspicious/noExplicitAny: the body's type depends on the api key
  body: any;
  /** The version the body was decoded at (0 for an ApiVersions UNSUPPORTED_VERSION answer to v3+). */
  bodyVersion: number;
  /** Bytes left after the body (0 for a well-formed frame). */
  trailingBytes: number;
}

/** Decodes a response frame (without its size prefix) to a request of `apiKey` at `apiVersion`. */
export function decodeResponse(apiKey: number, apiVersion: number, frame: Buffer): DecodedResponse {
  const codec = codecFor(apiKey, apiVersion);
  const r = new Reader(frame);
  const header = decodeResponseHeader(r, codec.responseHeaderVersion(apiVersion));
  r.check('response header');
  // A broker that does not speak this ApiVersions version answers UNSUPPORTED_VERSION in the v0 layout. Clients
  // only look at the error code there; librdkafka's mock writes a body that is neither v0 nor v3, so when the v0
  // decode fails the answer is the error code alone (with the v0 defaults for the rest), as clients read it.
  if (apiKey === API_VERSIONS_KEY && apiVersion >= 3 && r.remaining() >= 2) {
    const errorCode = frame.readInt16BE(r.offset);
    if (errorCode === ErrorCode.UNSUPPORTED_VERSION) {
      const v0 = new Reader(frame, r.offset);
      let body = codec.response.decode(v0, 0);
      if (v0.failed) body = codec.response.decode(new Reader(Buffer.from([0, errorCode, 0, 0, 0, 0])), 0);
      return { header, body, bodyVersion: 0, trailingBytes: v0.failed ? 0 : v0.remaining() };
    }
  }
  const body = codec.response.decode(r, apiVersion);
  r.check(`${codec.name} response v${apiVersion}`);
  return { header, body, bodyVersion: apiVersion, trailingBytes: r.remaining() };
}

/** Decodes a request body alone (no header) at a version; strict: the body must use every byte. */
export function decodeRequestBody(apiKey: number, apiVersion: number, body: Buffer): unknown {
  const codec = codecFor(apiKey, apiVersion);
  const r = new Reader(body);
  const msg = codec.request.decode(r, apiVersion);
  r.checkEnd(`${codec.name} request v${apiVersion}`);
  return msg;
}

/** Decodes a response body alone (no header) at a version; strict: the body must use every byte. */
export function decodeResponseBody(apiKey: number, apiVersion: number, body: Buffer): unknown {
  const codec = codecFor(apiKey, apiVersion);
  const r = new Reader(body);
  const msg = codec.response.decode(r, apiVersion);
  r.checkEnd(`${codec.name} response v${apiVersion}`);
  return msg;
}

/** Encodes a request body alone (no header, no size prefix). */
export function encodeRequestBody(apiKey: number, apiVersion: number, body: unknown): Buffer {
  const w = new Writer();
  codecFor(apiKey, apiVersion).request.encode(w, body, apiVersion);
  return w.finish();
}

/** Encodes a response body alone (no header, no size prefix). */
export function encodeResponseBody(apiKey: number, apiVersion: number, body: unknown): Buffer {
  const w = new Writer();
  codecFor(apiKey, apiVersion).response.encode(w, body, apiVersion);
  return w.finish();
}
