/** The public protocol surface: wire primitives, generated API codecs, headers and frames. */
export * from './error-codes.js';
export * from './frames.js';
export * from './generated/index.js';
export * from './headers.js';
export type { ApiCodec, MessageCodec } from './wire/api-codec.js';
export { EMPTY_BUFFER, ZERO_UUID } from './wire/constants.js';
export { Reader, type UnknownTaggedField } from './wire/reader.js';
export { type TaggedFieldWrite, Writer } from './wire/writer.js';
