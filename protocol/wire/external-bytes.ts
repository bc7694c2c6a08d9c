/**
 * A stand-in for bytes that are not in memory (a Fetch response's records, which stay in segment files).
 * It passes through message types as a zero-byte Uint8Array whose `length` is the real length, so encoders write
 * the right length prefixes; the Writer records it as a placeholder part instead of copying anything, and the
 * sender puts the real bytes in its place.
 */
export class ExternalBytes<Ref = unknown> extends Uint8Array {
  constructor(
    readonly externalLength: number,
    readonly ref: Ref,
  ) {
    super(0);
    // TypedArray's length is an accessor on the prototype; an own property shadows it for this instance only.
    Object.defineProperty(this, 'length', { value: externalLength, enumerable: false });
  }
}

export function isExternalBytes(v: unknown): v is ExternalBytes {
  return v instanceof ExternalBytes;
}
