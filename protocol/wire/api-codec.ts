/** The shape every generated API module exports (one ApiCodec per Kafka API key). */
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

/** T is the decoded type (every field set); TInput the encodable one (fields with defaults may be left out). */
export interface MessageCodec<T, TInput = T> {
  /** Writes `msg` at `version`; throws ProtocolEncodeError for an unsupported version or a field it cannot carry. */
  encode(w: Writer, msg: TInput, version: number): void;
  /** Reads a message at `version`. Errors are sticky on the reader: call `r.check()` (or `r.checkEnd()`) after. */
  decode(r: Reader, version: number): T;
}

// biome-ignore lint/suspicious/noExplicitAny: the registry holds codecs of every message type
export interface ApiCodec<Req = any, Res = any, ReqInput = Req, ResInput = Res> {
  readonly apiKey: number;
  /** The API name without the Request/Response suffix, e.g. "Produce". */
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** Equal to maxVersion unless the spec marks its latest version unstable. */
  readonly maxStableVersion: number;
  /** The first flexible (KIP-482) version, or null when no version is flexible. */
  readonly flexibleMinVersion: number | null;
  /** Request header version used at an API version: 1 (classic) or 2 (flexible). */
  requestHeaderVersion(version: number): number;
  /** Response header version used at an API version: 0 or 1 (ApiVersions is always 0). */
  responseHeaderVersion(version: number): number;
  readonly request: MessageCodec<Req, ReqInput>;
  readonly response: MessageCodec<Res, ResInput>;
}
