/**
 * Test fixtures for the protocol codecs: the parsed specs (through the generator's own model, which is independent
 * of the generated code) and seeded random messages that respect each version's field presence, nullability and
 * tagged fields.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pairSpecs } from '../../../protocol/codegen/generate.js';
import { type Field, inRange, isTaggedAt, type MessageSpec, type Struct } from '../../../protocol/codegen/model.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export { sharedAvailable, sharedDir } from '../../helpers/shared.js';

import { sharedDir } from '../../helpers/shared.js';

export function loadSpecPairs(): Array<{ request: MessageSpec; response: MessageSpec }> {
  const dir = resolve(sharedDir, 'kafka-protocol/messages');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((file) => ({ file, text: readFileSync(resolve(dir, file), 'utf8') }));
  return pairSpecs(files);
}

/** mulberry32: small, seeded, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';
const EMPTY = Buffer.alloc(0);
const CHARS = ['a', 'b', 'z', '0', '-', '_', '.', 'é', '日', '😀', ' '];

export class MessageGenerator {
  private readonly rand: () => number;
  constructor(
    private readonly spec: MessageSpec,
    seed: number,
  ) {
    this.rand = rng(seed);
  }

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.rand() * (hi - lo + 1));
  }

  private chance(p: number): boolean {
    return this.rand() < p;
  }

  message(version: number): Record<string, unknown> {
    return this.struct(this.spec.root, version, 0);
  }

  /** The value a decoder gives a field that is absent at a version (the spec default). */
  defaultOf(f: Field): unknown {
    const d = f.defaultValue;
    if (d === null) return null;
    if (typeof d === 'object') {
      if (f.array) return [];
      if (f.type === 'struct') return this.defaultStruct(f.struct!);
      return EMPTY;
    }
    if (f.type === 'uuid') return ZERO_UUID;
    return d;
  }

  defaultStruct(s: Struct): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const f of s.fields) out[f.name] = this.defaultOf(f);
    return out;
  }

  private struct(s: Struct, v: number, depth: number): Record<string, unknown> {
    const flexible = inRange(this.spec.flexibleVersions, v);
    const out: Record<string, unknown> = {};
    const usedTags = new Set<number>();
    for (const f of s.fields) {
      if (!inRange(f.versions, v)) {
        out[f.name] = this.defaultOf(f);
        continue;
      }
      if (isTaggedAt(f, v, flexible)) {
        usedTags.add(f.tag!);
        out[f.name] = this.chance(0.3) ? this.defaultOf(f) : this.field(f, v, depth);
        continue;
      }
      out[f.name] = this.field(f, v, depth);
    }
    if (flexible && this.chance(0.2)) {
      // Unknown tags, in ascending order as a decoder returns them.
      const unknown: Array<{ tag: number; data: Buffer }> = [];
      let tag = 50 + this.int(0, 10);
      for (let i = this.int(1, 2); i > 0; i--) {
        while (usedTags.has(tag)) tag++;
        unknown.push({ tag, data: this.bytes(0, 6) });
        tag += this.int(1, 200);
      }
      out.unknownTaggedFields = unknown;
    }
    return out;
  }

  private field(f: Field, v: number, depth: number): unknown {
    const nullable = inRange(f.nullableVersions, v);
    if (nullable && this.chance(0.2)) return null;
    if (f.array) {
      const n = depth > 3 ? 0 : this.int(0, 3);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(this.one(f, v, depth + 1));
      return out;
    }
    return this.one(f, v, depth);
  }

  private bytes(lo: number, hi: number): Buffer {
    const b = Buffer.alloc(this.int(lo, hi));
    for (let i = 0; i < b.length; i++) b[i] = this.int(0, 255);
    return b;
  }

  private one(f: Field, v: number, depth: number): unknown {
    switch (f.type) {
      case 'int8':
        return this.int(-128, 127);
      case 'int16':
        return this.int(-32768, 32767);
      case 'int32':
        return this.int(-(2 ** 31), 2 ** 31 - 1);
      case 'uint16':
        return this.int(0, 65535);
      case 'uint32':
        return this.int(0, 2 ** 32 - 1);
      case 'int64':
        return BigInt.asIntN(64, (BigInt(this.int(0, 2 ** 32 - 1)) << 32n) | BigInt(this.int(0, 2 ** 32 - 1)));
      case 'float64':
        return (this.rand() - 0.5) * 10 ** this.int(-5, 12);
      case 'bool':
        return this.chance(0.5);
      case 'uuid':
        return this.bytes(16, 16).toString('base64url');
      case 'string': {
        let s = '';
        for (let i = this.int(0, 12); i > 0; i--) s += CHARS[this.int(0, CHARS.length - 1)];
        return s;
      }
      case 'bytes':
      case 'records':
        // Sometimes large enough for the writer to reference the slice instead of copying it.
        return this.bytes(0, this.chance(0.1) ? 2000 : 24);
      case 'struct':
        return this.struct(f.struct!, v, depth + 1);
    }
  }
}

export function versionsOf(spec: MessageSpec): number[] {
  const out: number[] = [];
  for (let v = spec.validVersions.min; v <= spec.validVersions.max; v++) out.push(v);
  return out;
}
