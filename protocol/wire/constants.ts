/** Shared immutable defaults and helpers used by the generated codecs. */
import { ProtocolEncodeError } from '../error-codes.js';

export const EMPTY_BUFFER: Buffer = Buffer.alloc(0);
/** Kafka's zero UUID in its 22-character base64url form. */
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

/**
 * A value of the wrong type or out of range for its wire type (Node's Buffer writers throw RangeError or
 * TypeError) becomes a ProtocolEncodeError naming the message; ProtocolEncodeErrors pass through.
 */
export function asEncodeError(err: unknown, message: string, version: number): unknown {
  if (err instanceof ProtocolEncodeError) return err;
  if (err instanceof RangeError || err instanceof TypeError) {
    return new ProtocolEncodeError(`cannot encode ${message} v${version}: ${err.message}`);
  }
  return err;
}
