/**
 * Reads Kafka's JSON message specs (with their `//` comments) into a model of structs and fields with version
 * ranges resolved. Pure: takes the spec texts, does no I/O, so tests can use it to build random messages.
 */

export interface VersionRange {
  min: number;
  /** Infinity for an open range ("3+"); min > max for "none". */
  max: number;
}

export type PrimitiveType =
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint16'
  | 'uint32'
  | 'float64'
  | 'bool'
  | 'string'
  | 'bytes'
  | 'records'
  | 'uuid';

const PRIMITIVES = new Set<string>([
  'int8',
  'int16',
  'int32',
  'int64',
  'uint16',
  'uint32',
  'float64',
  'bool',
  'string',
  'bytes',
  'records',
  'uuid',
]);

/** A field's default, already typed: number, bigint, boolean, string, null, or 'empty' for bytes/arrays/structs. */
export type DefaultValue = number | bigint | boolean | string | null | { empty: true };

export interface Field {
  specName: string;
  name: string;
  /** Element type for arrays, the type itself otherwise. */
  type: PrimitiveType | 'struct';
  array: boolean;
  struct: Struct | null;
  versions: VersionRange;
  nullableVersions: VersionRange;
  taggedVersions: VersionRange;
  tag: number | null;
  ignorable: boolean;
  defaultValue: DefaultValue;
  /** Whether the spec gives an explicit default. */
  hasDefault: boolean;
}

export interface Struct {
  /** The spec's struct name (e.g. TopicProduceData); for a message, the message name. */
  specName: string;
  /** The TypeScript type name, unique within the generated module. */
  typeName: string;
  fields: Field[];
}

export interface MessageSpec {
  apiKey: number;
  kind: 'request' | 'response';
  name: string;
  validVersions: VersionRange;
  flexibleVersions: VersionRange;
  latestVersionUnstable: boolean;
  root: Struct;
  /** Every struct of the message, root first, in definition order. */
  structs: Struct[];
}

export const NONE: VersionRange = { min: 0, max: -1 };

export function parseRange(text: string | undefined, fallback: VersionRange = NONE): VersionRange {
  if (text === undefined) return fallback;
  const t = text.trim();
  if (t === 'none') return NONE;
  if (t.endsWith('+')) return { min: Number(t.slice(0, -1)), max: Number.POSITIVE_INFINITY };
  const dash = t.indexOf('-');
  if (dash >= 0) return { min: Number(t.slice(0, dash)), max: Number(t.slice(dash + 1)) };
  const n = Number(t);
  if (!Number.isInteger(n)) throw new Error(`bad version range ${JSON.stringify(text)}`);
  return { min: n, max: n };
}

export function inRange(r: VersionRange, v: number): boolean {
  return v >= r.min && v <= r.max;
}

/** Removes `//` line comments outside strings. */
export function stripComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i++;
      } else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else out += c;
  }
  return out;
}

export function lowerCamel(name: string): string {
  return name[0].toLowerCase() + name.slice(1);
}

interface RawField {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  ignorable?: boolean;
  default?: string | number | boolean;
  flexibleVersions?: string;
  fields?: RawField[];
}

interface RawSpec {
  apiKey?: number;
  type: string;
  name: string;
  validVersions: string;
  flexibleVersions?: string;
  latestVersionUnstable?: boolean;
  fields: RawField[];
  commonStructs?: Array<{ name: string; versions?: string; fields: RawField[] }>;
}

function parseInteger(value: string | number, field: string): number {
  if (typeof value === 'number') return value;
  const t = value.trim();
  const neg = t.startsWith('-');
  const body = neg ? t.slice(1) : t;
  const n = body.toLowerCase().startsWith('0x') ? Number.parseInt(body.slice(2), 16) : Number(body);
  if (!Number.isFinite(n)) throw new Error(`bad default ${JSON.stringify(value)} for ${field}`);
  return neg ? -n : n;
}

function parseBigInt(value: string | number, field: string): bigint {
  if (typeof value === 'number') return BigInt(value);
  const t = value.trim();
  const neg = t.startsWith('-');
  const body = neg ? t.slice(1) : t;
  let n: bigint;
  try {
    n = BigInt(body);
  } catch {
    throw new Error(`bad default ${JSON.stringify(value)} for ${field}`);
  }
  return neg ? -n : n;
}

function parseDefault(raw: RawField, type: PrimitiveType | 'struct', array: boolean, nullable: boolean): DefaultValue {
  const d = raw.default;
  const where = raw.name;
  if (d === 'null') {
    if (!nullable) throw new Error(`field ${where} has default null but is never nullable`);
    return null;
  }
  if (array || type === 'struct' || type === 'bytes' || type === 'records') {
    if (d !== undefined && d !== '') throw new Error(`field ${where}: unsupported default ${JSON.stringify(d)}`);
    // Kafka's records field defaults to null; bytes, arrays and structs to empty.
    if (type === 'records' && !array && nullable) return null;
    return { empty: true };
  }
  switch (type) {
    case 'bool':
      return d === undefined ? false : d === true || d === 'true';
    case 'string':
      return d === undefined ? '' : String(d);
    case 'uuid':
      return 'AAAAAAAAAAAAAAAAAAAAAA';
    case 'int64':
      return d === undefined || d === '' ? 0n : parseBigInt(d as string | number, where);
    case 'float64':
      return d === undefined || d === '' ? 0 : Number(d);
    default:
      return d === undefined || d === '' ? 0 : parseInteger(d as string | number, where);
  }
}

function rangeNonEmpty(r: VersionRange): boolean {
  return r.min <= r.max;
}

/** Parses one spec file's text. Returns null for specs that are not requests or responses, or have no versions. */
export function parseMessageSpec(text: string): MessageSpec | null {
  const raw = JSON.parse(stripComments(text)) as RawSpec;
  if (raw.type !== 'request' && raw.type !== 'response') return null;
  const validVersions = parseRange(raw.validVersions);
  if (!rangeNonEmpty(validVersions)) return null;
  if (raw.apiKey === undefined) throw new Error(`${raw.name} has no apiKey`);
  const structs: Struct[] = [];
  const byName = new Map<string, Struct>();
  const common = new Map<string, RawField[]>();
  for (const c of raw.commonStructs ?? []) common.set(c.name, c.fields);

  const buildStruct = (specName: string, typeName: string, rawFields: RawField[]): Struct => {
    const s: Struct = { specName, typeName, fields: [] };
    structs.push(s);
    byName.set(specName, s);
    for (const rf of rawFields) s.fields.push(buildField(rf));
    return s;
  };

  const buildField = (rf: RawField): Field => {
    // Only the request header's ClientId overrides flexibility, and headers are written by hand (headers.ts).
    if (rf.flexibleVersions !== undefined) throw new Error(`${raw.name}.${rf.name}: field-level flexibleVersions`);
    let t = rf.type;
    const array = t.startsWith('[]');
    if (array) t = t.slice(2);
    let type: PrimitiveType | 'struct';
    let struct: Struct | null = null;
    if (PRIMITIVES.has(t)) {
      type = t as PrimitiveType;
    } else {
      type = 'struct';
      const existing = byName.get(t);
      if (rf.fields !== undefined) {
        if (existing !== undefined) throw new Error(`${raw.name}: struct ${t} defined twice`);
        struct = buildStruct(t, `${raw.name}${t}`, rf.fields);
      } else if (existing !== undefined) {
        struct = existing;
      } else {
        const cf = common.get(t);
        if (cf === undefined) throw new Error(`${raw.name}: unknown type ${rf.type}`);
        struct = buildStruct(t, `${raw.name}${t}`, cf);
      }
    }
    const versions = parseRange(rf.versions);
    const nullableVersions = parseRange(rf.nullableVersions);
    const nullable = rangeNonEmpty(nullableVersions);
    return {
      specName: rf.name,
      name: lowerCamel(rf.name),
      type,
      array,
      struct,
      versions,
      nullableVersions,
      taggedVersions: rf.tag !== undefined ? parseRange(rf.taggedVersions, versions) : NONE,
      tag: rf.tag ?? null,
      ignorable: rf.ignorable === true,
      defaultValue: parseDefault(rf, type, array, nullable),
      hasDefault: rf.default !== undefined,
    };
  };

  const root = buildStruct(raw.name, raw.name, raw.fields);
  return {
    apiKey: raw.apiKey,
    kind: raw.type,
    name: raw.name,
    validVersions,
    flexibleVersions: parseRange(raw.flexibleVersions),
    latestVersionUnstable: raw.latestVersionUnstable === true,
    root,
    structs,
  };
}

/** The API's name without the Request/Response suffix. */
export function apiName(spec: MessageSpec): string {
  return spec.name.replace(/(Request|Response)$/, '');
}

/** File name for an API module: ApiVersions -> api-versions. */
export function moduleName(api: string): string {
  return api
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

export function versionsOf(r: VersionRange): number[] {
  const out: number[] = [];
  for (let v = r.min; v <= r.max; v++) out.push(v);
  return out;
}

/** Whether a field is carried as a tagged field at version v (only in flexible versions). */
export function isTaggedAt(f: Field, v: number, flexible: boolean): boolean {
  return flexible && f.tag !== null && inRange(f.taggedVersions, v);
}
