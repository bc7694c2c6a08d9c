import { describe, expect, it } from 'vitest';
import {
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../../../protocol/headers.js';
import { Reader } from '../../../protocol/wire/reader.js';
import { Writer } from '../../../protocol/wire/writer.js';

function encoded(fn: (w: Writer) => void): Buffer {
  const w = new Writer();
  fn(w);
  return w.finish();
}

describe('request headers', () => {
  it('v1 is api key, version, correlation id and a classic nullable client id', () => {
    const header = { apiKey: 3, apiVersion: 6, correlationId: 42, clientId: 'kafkajs' };
    const buf = encoded((w) => encodeRequestHeader(w, header, 1));
    expect(buf.toString('hex')).toBe(`000300060000002a0007${Buffer.from('kafkajs').toString('hex')}`);
    const r = new Reader(buf);
    expect(decodeRequestHeader(r)).toEqual(header);
    r.checkEnd();
  });

  it('v2 adds tagged fields but keeps the client id classic (never compact)', () => {
    const header = { apiKey: 3, apiVersion: 12, correlationId: 7, clientId: 'c' };
    const buf = encoded((w) => encodeRequestHeader(w, header, 2));
    expect(buf.toString('hex')).toBe('0003000c0000000700016300');
    const r = new Reader(buf);
    expect(decodeRequestHeader(r)).toEqual(header);
    r.checkEnd();
  });

  it('carries a null client id and unknown header tags', () => {
    const header = {
      apiKey: 18,
      apiVersion: 3,
      correlationId: 1,
      clientId: null,
      unknownTaggedFields: [{ tag: 4, data: Buffer.from([9]) }],
    };
    const buf = encoded((w) => encodeRequestHeader(w, header, 2));
    expect(buf.toString('hex')).toBe('001200030000000' + '1ffff' + '01040109');
    const r = new Reader(buf);
    expect(decodeRequestHeader(r)).toEqual(header);
    r.checkEnd();
  });

  it('derives the header version from the api key and version', () => {
    expect(requestHeaderVersion(0, 8)).toBe(1);
    expect(requestHeaderVersion(0, 9)).toBe(2);
    expect(requestHeaderVersion(18, 2)).toBe(1);
    expect(requestHeaderVersion(18, 3)).toBe(2);
    // An ApiVersions request newer than any we know is still flexible, so its header parses.
    expect(requestHeaderVersion(18, 99)).toBe(2);
    expect(requestHeaderVersion(9999, 0)).toBe(1);
  });

  it('decodes the header of an ApiVersions request at an unknown version', () => {
    const header = { apiKey: 18, apiVersion: 42, correlationId: 5, clientId: 'new-client' };
    const buf = Buffer.concat([encoded((w) => encodeRequestHeader(w, header, 2)), Buffer.from([0xde, 0xad])]);
    const r = new Reader(buf);
    expect(decodeRequestHeader(r)).toEqual(header);
    r.check();
    expect(r.remaining()).toBe(2);
  });
});

describe('response headers', () => {
  it('v0 is the correlation id alone, v1 adds tagged fields', () => {
    expect(encoded((w) => encodeResponseHeader(w, { correlationId: 3 }, 0)).toString('hex')).toBe('00000003');
    expect(encoded((w) => encodeResponseHeader(w, { correlationId: 3 }, 1)).toString('hex')).toBe('0000000300');
    const r = new Reader(Buffer.from('0000000300', 'hex'));
    expect(decodeResponseHeader(r, 1)).toEqual({ correlationId: 3 });
    r.checkEnd();
  });

  it('is v0 for ApiVersions at every version, v1 for other flexible versions', () => {
    for (let v = 0; v <= 5; v++) expect(responseHeaderVersion(18, v)).toBe(0);
    expect(responseHeaderVersion(1, 11)).toBe(0);
    expect(responseHeaderVersion(1, 12)).toBe(1);
    expect(responseHeaderVersion(3, 9)).toBe(1);
  });
});
