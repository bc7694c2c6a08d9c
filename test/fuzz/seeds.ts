/**
 * Fuzz seeds: valid request frames (header and body, without the size prefix) for every API key and every version
 * the broker serves or advertises, built with the generated codecs. Bodies come from the seeded sample-message
 * generator of the codec tests when Kafka's specs are at hand (../shared), from the codecs' defaults otherwise, plus
 * hand-built Produce and Fetch requests against a real topic (so mutations reach the records path) and the real
 * clients' wire captures.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ApiHandler } from '../../broker/handler.js';
import { loadHandlers } from '../../broker/handlers/index.js';
import { decodeRequest, encodeRequestFrame } from '../../protocol/frames.js';
import { Fetch } from '../../protocol/generated/fetch.js';
import { apiCodecs } from '../../protocol/generated/index.js';
import { Produce } from '../../protocol/generated/produce.js';
import { encodeRecordBatch } from '../../protocol/records/encode-batch.js';
import { sharedDir } from '../helpers/shared.js';
import { loadSpecPairs, MessageGenerator, rng } from '../unit/protocol/codec-fixtures.js';

export interface Seed {
  apiKey: number;
  version: number;
  api: string;
  /** Header and body, without the size prefix. */
  frame: Buffer;
  /** Where the record batch starts inside `frame` (Produce seeds with real records), else -1. */
  batchAt: number;
  origin: 'generated' | 'default' | 'target' | 'capture';
}

export interface SeedOptions {
  seed: number;
  /** Generated bodies per (api, version). */
  perVersion: number;
  /** A topic that exists, for Produce and Fetch seeds that reach storage. */
  topic: string;
  topicId: string;
}

const CLIENT_ID = 'berth-fuzz';

/** The versions a handler answers (served) or at least advertises (Produce v0-2, refused by closing). */
export function servedVersions(h: ApiHandler): number[] {
  const out: number[] = [];
  for (let v = h.advertisedMinVersion ?? h.minVersion; v <= h.maxVersion; v++) out.push(v);
  return out;
}

/** Long waits are legal (Fetch maxWaitMs, group rebalance timeouts) but would look like stuck connections. */
const WAIT_FIELDS = new Set(['maxWaitMs', 'rebalanceTimeoutMs', 'timeoutMs']);

function shortenWaits(value: unknown): void {
  if (Array.isArray(value)) {
    for (const v of value) shortenWaits(v);
    return;
  }
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return;
  const obj = value as Record<string, unknown>;
  for (const [k, v] of Object.entries(obj)) {
    if (WAIT_FIELDS.has(k) && typeof v === 'number') obj[k] = Math.abs(v) % 50;
    else shortenWaits(v);
  }
}

function frameOf(apiKey: number, version: number, correlationId: number, body: unknown): Buffer | null {
  try {
    // Versions advertised below what the codecs know (Produce v0-2) get the oldest known layout under their number.
    const codecMin = apiCodecs.get(apiKey)?.minVersion ?? version;
    const apiVersion = Math.max(version, codecMin);
    const frame = encodeRequestFrame({ apiKey, apiVersion, correlationId, clientId: CLIENT_ID }, body).subarray(4);
    frame.writeInt16BE(version, 2);
    return frame;
  } catch {
    return null; // a generated value the encoder refuses at this version: not a seed
  }
}

export function sampleBatch(rand: () => number, n: number): Buffer {
  const codecs = ['none', 'none', 'none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
  return encodeRecordBatch({
    compression: codecs[Math.floor(rand() * codecs.length)],
    records: Array.from({ length: n }, (_, i) => ({
      key: i % 3 === 0 ? null : `k${i}`,
      value: Buffer.alloc(Math.floor(rand() * 64), i),
      headers: i % 2 === 0 ? [{ key: 'h', value: Buffer.from([i]) }] : [],
      timestamp: 1_700_000_000_000n + BigInt(i),
    })),
  });
}

function targetSeeds(h: ApiHandler, opts: SeedOptions, rand: () => number): Seed[] {
  const out: Seed[] = [];
  for (const version of servedVersions(h)) {
    const byId = version >= 13;
    if (h.codec.apiKey === Produce.apiKey) {
      for (let i = 0; i < 3; i++) {
        const batch = sampleBatch(rand, 1 + Math.floor(rand() * 5));
        const topic = byId ? { topicId: opts.topicId } : { name: opts.topic };
        const body = {
          transactionalId: null,
          acks: [1, -1, 1][i],
          timeoutMs: 5000,
          topicData: [{ ...topic, partitionData: [{ index: 0, records: batch }] }],
        };
        const frame = frameOf(h.codec.apiKey, version, 1, body);
        if (frame)
          out.push({ apiKey: 0, version, api: h.codec.name, frame, batchAt: frame.indexOf(batch), origin: 'target' });
      }
    } else if (h.codec.apiKey === Fetch.apiKey) {
      const topic = byId ? { topicId: opts.topicId } : { topic: opts.topic };
      const body = {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ ...topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 16 }] }],
        forgottenTopicsData: [],
        rackId: '',
      };
      const frame = frameOf(h.codec.apiKey, version, 1, body);
      if (frame) out.push({ apiKey: 1, version, api: h.codec.name, frame, batchAt: -1, origin: 'target' });
    }
  }
  return out;
}

function captureSeeds(served: ReadonlyMap<number, ApiHandler>): Seed[] {
  const dir = resolve(sharedDir, 'wire-captures');
  if (!existsSync(dir)) return [];
  const out: Seed[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.jsonl'))) {
    for (const line of readFileSync(resolve(dir, file), 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const c = JSON.parse(line) as { direction: string; apiKey: number; apiVersion: number; hex: string };
      if (c.direction !== 'request') continue;
      const api = served.get(c.apiKey)?.codec.name ?? `key${c.apiKey}`;
      let frame: Buffer = Buffer.from(c.hex, 'hex');
      try {
        // Captured Fetch and JoinGroup requests wait seconds by design: shorten that, keep everything else.
        const { header, body } = decodeRequest(frame);
        shortenWaits(body);
        frame = encodeRequestFrame(header, body).subarray(4);
      } catch {
        // an unsupported version or a recorded quirk: the frame as captured
      }
      out.push({ apiKey: c.apiKey, version: c.apiVersion, api, frame, batchAt: -1, origin: 'capture' });
    }
  }
  return out;
}

/** Every seed, in a deterministic order. */
export function buildSeeds(opts: SeedOptions): { seeds: Seed[]; handlers: ReadonlyMap<number, ApiHandler> } {
  const handlers = loadHandlers();
  const rand = rng(opts.seed);
  const specs = existsSync(resolve(sharedDir, 'kafka-protocol/messages')) ? loadSpecPairs() : [];
  const specByKey = new Map(specs.map((p) => [p.request.apiKey, p.request]));
  const seeds: Seed[] = [];
  for (const h of handlers.values()) {
    const { apiKey, name } = h.codec;
    const spec = specByKey.get(apiKey);
    for (const version of servedVersions(h)) {
      // The codec's defaults: the smallest valid request at this version.
      const minimal = frameOf(apiKey, version, 1, {});
      if (minimal) seeds.push({ apiKey, version, api: name, frame: minimal, batchAt: -1, origin: 'default' });
      if (!spec) continue;
      const gen = new MessageGenerator(spec, opts.seed * 131 + apiKey * 1000 + version);
      for (let i = 0; i < opts.perVersion; i++) {
        const body = gen.message(version);
        shortenWaits(body);
        const frame = frameOf(apiKey, version, 1, body);
        if (frame) seeds.push({ apiKey, version, api: name, frame, batchAt: -1, origin: 'generated' });
      }
    }
    seeds.push(...targetSeeds(h, opts, rand));
  }
  seeds.push(...captureSeeds(handlers));
  return { seeds, handlers };
}
