/**
 * Request and response headers. Request header v1 (classic) and v2 (flexible: tagged fields after ClientId);
 * ClientId is a classic nullable string in both, never compact. Response header v0 is the correlation id alone,
 * v1 adds tagged fields; the ApiVersions response header is always v0 so that a client can read it before it knows
 * which versions the broker speaks.
 */
import { ErrorCode, KafkaError } from './error-codes.js';
import { apiCodecs } from './generated/index.js';
import type { Reader, UnknownTaggedField } from './wire/reader.js';
import type { Writer } from './wire/writer.js';

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  /** Absent (null) in header v0 only. */
  clientId: string | null;
  unknownTaggedFields?: UnknownTaggedField[];
}

export interface ResponseHeader {
  correlationId: number;
  unknownTaggedFields?: UnknownTaggedField[];
}

/**
 * The request header version for an API key and version: 2 when the body is flexible, else 1. Versions outside
 * the known range follow the same rule (so that an ApiVersions request newer than ours still parses: it is
 * answered at v0 with UNSUPPORTED_VERSION). An unknown API key gets 1.
 */
export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  const codec = apiCodecs.get(apiKey);
  return codec === undefined ? 1 : codec.requestHeaderVersion(apiVersion);
}

/** The response header version for an API key and version: 1 when flexible, else 0; always 0 for ApiVersions. */
export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  const codec = apiCodecs.get(apiKey);
  if (codec === undefined) throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, `unknown api key ${apiKey}`);
  return codec.responseHeaderVersion(apiVersion);
}

export function encodeRequestHeader(w: Writer, header: RequestHeader, headerVersion: number): void {
  w.int16(header.apiKey);
  w.int16(header.apiVersion);
  w.int32(header.correlationId);
  if (headerVersion >= 1) w.nullableString(header.clientId);
  if (headerVersion >= 2) writeTags(w, header.unknownTaggedFields);
}

/**
 * Reads a request header. Without `headerVersion` the version is derived from the api key and version read
 * (see requestHeaderVersion). Errors are sticky on the reader; call r.check().
 */
export function decodeRequestHeader(r: Reader, headerVersion?: number): RequestHeader {
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const hv = headerVersion ?? requestHeaderVersion(apiKey, apiVersion);
  const clientId = hv >= 1 ? r.nullableString() : null;
  const header: RequestHeader = { apiKey, apiVersion, correlationId, clientId };
  if (hv >= 2) {
    const unknown = r.unknownTaggedFields();
    if (unknown !== undefined) header.unknownTaggedFields = unknown;
  }
  return header;
}

export function encodeResponseHeader(w: Writer, header: ResponseHeader, headerVersion: number): void {
  w.int32(header.correlationId);
  if (headerVersion >= 1) writeTags(w, header.unknownTaggedFields);
}

export function decodeResponseHeader(r: Reader, headerVersion: number): ResponseHeader {
  const header: ResponseHeader = { correlationId: r.int32() };
  if (headerVersion >= 1) {
    const unknown = r.unknownTaggedFields();
    if (unknown !== undefined) header.unknownTaggedFields = unknown;
  }
  return header;
}

function writeTags(w: Writer, unknown: UnknownTaggedField[] | undefined): void {
  if (unknown === undefined || unknown.length === 0) w.uvarint(0);
  else w.taggedFields(undefined, unknown);
}
