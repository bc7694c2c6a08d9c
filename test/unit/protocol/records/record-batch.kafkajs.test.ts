/**
 * Cross-checks against an independent implementation: kafkajs's own RecordBatch encoder and decoder (its
 * CRC32C, varints and record layout), in both directions. kafkajs ships only gzip; for snappy, lz4 and zstd its codec
 * registry is given codecs built straight on the libraries (lz4-napi's own frame writer, raw snappy, zstd-napi), so
 * those paths also meet framings our encoder does not produce.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressionOf } from '../../../../protocol/records/batch-header.js';
import {
  decodeRecords,
  encodeControlBatch,
  encodeRecordBatch,
  setLogAppendTime,
  validateBatch,
} from '../../../../protocol/records/record-batch.js';
import { requireCjs } from './helpers.js';

const Long = requireCjs('kafkajs/src/utils/long.js');
const Decoder = requireCjs('kafkajs/src/protocol/decoder.js');
const { RecordBatch } = requireCjs('kafkajs/src/protocol/recordBatch/v0/index.js');
const Record = requireCjs('kafkajs/src/protocol/recordBatch/record/v0/index.js');
const decodeKafkajsBatch = requireCjs('kafkajs/src/protocol/recordBatch/v0/decoder.js');
const compression = requireCjs('kafkajs/src/protocol/message/compression/index.js');
const snappy = requireCjs('snappy');
const lz4 = requireCjs('lz4-napi');
const zstd = requireCjs('zstd-napi');

type Codec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
const kafkajsType: Record<Codec, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

const libraryCodecs = {
  2: {
    compress: async (e: { buffer: Buffer }) => snappy.compressSync(e.buffer),
    decompress: async (b: Buffer) => snappy.uncompressSync(b, { asBuffer: true }),
  },
  3: {
    compress: async (e: { buffer: Buffer }) => lz4.compressFrameSync(e.buffer),
    decompress: async (b: Buffer) => lz4.decompressFrameSync(b),
  },
  4: {
    compress: async (e: { buffer: Buffer }) => zstd.compress(e.buffer),
    decompress: async (b: Buffer) => zstd.decompress(b),
  },
};
const saved = new Map<number, unknown>();

beforeAll(() => {
  for (const [type, codec] of Object.entries(libraryCodecs)) {
    saved.set(Number(type), compression.Codecs[type]);
    compression.Codecs[type] = () => codec;
  }
});
afterAll(() => {
  for (const [type, codec] of saved) compression.Codecs[type] = codec;
});

interface Message {
  key: string | null;
  value: string | null;
  headers: Record<string, string | string[] | undefined>;
  timestamp: number;
}

function messages(n: number): Message[] {
  return Array.from({ length: n }, (_, i) => ({
    key: i === 3 ? null : `key-${i}`,
    value: i === 5 ? null : `value ${i} `.repeat(10 + i),
    headers: i === 7 ? { multi: ['a', 'b'] } : { h1: 'v1', trace: 'abc' },
    timestamp: 1_732_500_000_000 + i * 3,
  }));
}

async function kafkajsBatch(codec: Codec, msgs: Message[], extra: Record<string, unknown> = {}): Promise<Buffer> {
  const first = msgs[0].timestamp;
  const records = msgs.map((m, i) =>
    Record({ offsetDelta: i, timestampDelta: m.timestamp - first, key: m.key, value: m.value, headers: m.headers }),
  );
  const encoder = await RecordBatch({
    compression: kafkajsType[codec],
    firstOffset: Long.fromString('500'),
    firstTimestamp: first,
    maxTimestamp: msgs[msgs.length - 1].timestamp,
    lastOffsetDelta: msgs.length - 1,
    records,
    ...extra,
  });
  return encoder.buffer;
}

const codecs: Codec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

describe('kafkajs encodes, Berth decodes', () => {
  for (const codec of codecs) {
    it(`${codec}: CRC, header and every record agree`, async () => {
      const msgs = messages(20);
      const buf = await kafkajsBatch(codec, msgs);
      const header = validateBatch(buf, 0);
      expect(compressionOf(header.attributes)).toBe(codec);
      expect(header.baseOffset).toBe(500n);
      expect(header.recordsCount).toBe(20);
      const records = decodeRecords(buf, 0);
      expect(records.length).toBe(20);
      records.forEach((r, i) => {
        const m = msgs[i];
        expect(r.offset).toBe(500n + BigInt(i));
        expect(r.timestamp).toBe(BigInt(m.timestamp));
        expect(r.key === null ? null : r.key.toString()).toBe(m.key);
        expect(r.value === null ? null : r.value.toString()).toBe(m.value);
        const flat = Object.entries(m.headers).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => [k, x]));
        expect(r.headers.map((h) => [h.key, h.value?.toString()])).toEqual(flat);
      });
    });
  }

  it('transactional producer batches keep their producer fields', async () => {
    const buf = await kafkajsBatch('gzip', messages(2), {
      transactional: true,
      producerId: Long.fromString('123456789'),
      producerEpoch: 7,
      firstSequence: 40,
    });
    expect(validateBatch(buf, 0)).toMatchObject({ producerId: 123456789n, producerEpoch: 7, baseSequence: 40 });
    expect(validateBatch(buf, 0).attributes & 0x10).toBe(0x10);
  });
});

describe('Berth encodes, kafkajs decodes', () => {
  for (const codec of codecs) {
    it(`${codec}: kafkajs reads every record`, async () => {
      const buf = encodeRecordBatch({
        baseOffset: 77n,
        compression: codec,
        records: messages(20).map((m) => ({
          key: m.key,
          value: m.value,
          headers: Object.entries(m.headers).flatMap(([k, v]) =>
            (Array.isArray(v) ? v : [v]).map((x) => ({ key: k, value: x })),
          ),
          timestamp: BigInt(m.timestamp),
        })),
      });
      const decoded = await decodeKafkajsBatch(new Decoder(buf));
      expect(decoded.firstOffset).toBe('77');
      expect(decoded.records.length).toBe(20);
      decoded.records.forEach(
        (
          r: {
            offset: string;
            timestamp: string;
            key: Buffer | null;
            value: Buffer | null;
            headers: Record<string, Buffer | Buffer[]>;
          },
          i: number,
        ) => {
          const m = messages(20)[i];
          expect(r.offset).toBe(String(77 + i));
          expect(r.timestamp).toBe(String(m.timestamp));
          expect(r.key === null ? null : r.key.toString()).toBe(m.key);
          expect(r.value === null ? null : r.value.toString()).toBe(m.value);
          const theirs = Object.fromEntries(
            Object.entries(r.headers).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : String(v)]),
          );
          expect(theirs).toEqual(m.headers);
        },
      );
    });
  }

  it('kafkajs reads LogAppendTime batches (patched by setLogAppendTime) as the broker time', async () => {
    const buf = encodeRecordBatch({
      records: [
        { value: 'a', timestamp: 1n },
        { value: 'b', timestamp: 2n },
      ],
    });
    setLogAppendTime(buf, 0, 1_732_500_999_999n);
    const decoded = await decodeKafkajsBatch(new Decoder(buf));
    expect(decoded.timestampType).toBe(1);
    expect(decoded.records.map((r: { timestamp: string }) => r.timestamp)).toEqual(['1732500999999', '1732500999999']);
  });

  it('kafkajs sees control batches as control records of a transaction', async () => {
    const buf = encodeControlBatch({ type: 'commit', producerId: 99n, producerEpoch: 2, coordinatorEpoch: 5 });
    const decoded = await decodeKafkajsBatch(new Decoder(buf));
    expect(decoded.isControlBatch).toBe(true);
    expect(decoded.inTransaction).toBe(true);
    expect(decoded.producerId).toBe('99');
    expect(decoded.records[0].isControlRecord).toBe(true);
    expect(decoded.records[0].key.toString('hex')).toBe('00000001');
  });
});
