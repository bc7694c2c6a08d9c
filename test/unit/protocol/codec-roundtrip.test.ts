import { describe, expect, it } from 'vitest';
import { apiCodecs } from '../../../protocol/generated/index.js';
import { Reader } from '../../../protocol/wire/reader.js';
import { Writer } from '../../../protocol/wire/writer.js';
import { loadSpecPairs, MessageGenerator, sharedAvailable, versionsOf } from './codec-fixtures.js';

const pairs = sharedAvailable ? loadSpecPairs() : [];
const SAMPLES = 4;

describe.runIf(sharedAvailable)('generated codecs round trip', () => {
  it('has a codec for every API in the specs, with the spec versions', () => {
    expect(apiCodecs.size).toBe(pairs.length);
    for (const { request } of pairs) {
      const codec = apiCodecs.get(request.apiKey);
      expect(codec, request.name).toBeDefined();
      expect(codec!.minVersion).toBe(request.validVersions.min);
      expect(codec!.maxVersion).toBe(request.validVersions.max);
      expect(codec!.maxStableVersion).toBe(request.validVersions.max - (request.latestVersionUnstable ? 1 : 0));
    }
  });

  for (const { request, response } of pairs) {
    const codec = apiCodecs.get(request.apiKey)!;
    describe(`${codec.name} (${request.apiKey})`, () => {
      for (const version of versionsOf(request)) {
        for (const [kind, spec] of [
          ['request', request],
          ['response', response],
        ] as const) {
          it(`${kind} v${version}`, () => {
            const gen = new MessageGenerator(spec, request.apiKey * 1000 + version * 2 + (kind === 'request' ? 0 : 1));
            for (let i = 0; i < SAMPLES; i++) {
              const msg = gen.message(version);
              const w = new Writer(16);
              codec[kind].encode(w, msg, version);
              const bytes = w.finish();
              const r = new Reader(bytes);
              const decoded = codec[kind].decode(r, version);
              r.checkEnd();
              expect(decoded).toEqual(msg);
              const again = new Writer();
              codec[kind].encode(again, decoded, version);
              expect(again.finish().equals(bytes)).toBe(true);
            }
          });
        }
      }
    });
  }
});
