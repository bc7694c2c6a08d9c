/**
 * Malformed input never escapes as anything but ProtocolDecodeError: truncated messages (every prefix), random
 * bytes, and messages whose bytes are overwritten with large values (lying lengths and counts).
 */
import { describe, expect, it } from 'vitest';
import { ProtocolDecodeError } from '../../../protocol/error-codes.js';
import { decodeRequestBody, decodeResponseBody } from '../../../protocol/frames.js';
import { apiCodecs } from '../../../protocol/generated/index.js';
import { Writer } from '../../../protocol/wire/writer.js';
import { loadSpecPairs, MessageGenerator, rng, sharedAvailable, versionsOf } from './codec-fixtures.js';

const pairs = sharedAvailable ? loadSpecPairs() : [];

type Outcome = 'ok' | 'decode-error';

function attempt(decode: () => unknown): Outcome {
  try {
    decode();
    return 'ok';
  } catch (err) {
    if (err instanceof ProtocolDecodeError) return 'decode-error';
    throw err;
  }
}

describe.runIf(sharedAvailable)('decoders on bad input', () => {
  for (const { request, response } of pairs) {
    const codec = apiCodecs.get(request.apiKey)!;
    for (const [kind, spec] of [
      ['request', request],
      ['response', response],
    ] as const) {
      const decodeBody = kind === 'request' ? decodeRequestBody : decodeResponseBody;
      it(`${codec.name} ${kind}: every prefix, random bytes and overwritten bytes`, () => {
        const rand = rng(request.apiKey * 7 + (kind === 'request' ? 1 : 2));
        for (const version of versionsOf(spec)) {
          const gen = new MessageGenerator(spec, request.apiKey * 31 + version);
          const w = new Writer();
          codec[kind].encode(w, gen.message(version), version);
          const valid = w.finish();
          expect(attempt(() => decodeBody(codec.apiKey, version, valid))).toBe('ok');
          // Every proper prefix fails.
          const step = valid.length > 600 ? Math.ceil(valid.length / 300) : 1;
          for (let n = 0; n < valid.length; n += step) {
            expect(attempt(() => decodeBody(codec.apiKey, version, valid.subarray(0, n)))).toBe('decode-error');
          }
          // Random bytes either decode or fail with ProtocolDecodeError.
          for (let i = 0; i < 20; i++) {
            const junk = Buffer.alloc(Math.floor(rand() * 64));
            for (let j = 0; j < junk.length; j++) junk[j] = Math.floor(rand() * 256);
            attempt(() => decodeBody(codec.apiKey, version, junk));
          }
          // Overwrite single bytes with values that make lengths and counts lie (0x7f.., 0xff.., 0x80..).
          const limit = Math.min(valid.length, 256);
          for (let pos = 0; pos < limit; pos++) {
            for (const value of [0x7f, 0xff, 0x80]) {
              const bad = Buffer.from(valid);
              bad[pos] = value;
              attempt(() => decodeBody(codec.apiKey, version, bad));
            }
          }
        }
      });
    }
  }

  it('an array count of 2^31-1 over a 10-byte buffer fails at once', () => {
    // Metadata request v0: Topics is a classic array of structs.
    const buf = Buffer.alloc(10);
    buf.writeInt32BE(0x7fffffff, 0);
    expect(() => decodeRequestBody(3, 0, buf)).toThrow(ProtocolDecodeError);
    // Compact count (uvarint 0xffffffff) in a flexible version.
    const compact = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0, 0]);
    expect(() => decodeRequestBody(3, 9, compact)).toThrow(ProtocolDecodeError);
  });
});
