/** Shared immutable defaults used by the generated codecs. */
export const EMPTY_BUFFER: Buffer = Buffer.alloc(0);
/** Kafka's zero UUID in its 22-character base64url form. */
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';
