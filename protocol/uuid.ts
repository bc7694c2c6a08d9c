/**
 * Kafka UUIDs (topic ids, cluster ids) in Kafka's text form: 22 characters of URL-safe base64 without padding.
 */
import { randomBytes } from 'node:crypto';

export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

export function uuidToBytes(uuid: string): Buffer {
  const bytes = Buffer.from(uuid, 'base64url');
  if (bytes.length !== 16) throw new Error(`not a Kafka UUID: ${uuid}`);
  return bytes;
}

export function uuidFromBytes(bytes: Buffer): string {
  return bytes.toString('base64url');
}

/** A random (version 4) UUID that, like Kafka's, is never zero and never starts with '-' in text form. */
export function randomUuid(): string {
  for (;;) {
    const b = randomBytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const s = uuidFromBytes(b);
    if (s !== ZERO_UUID && !s.startsWith('-')) return s;
  }
}
