/**
 * Emits one TypeScript module per API: message types, and straight-line encode/decode functions per struct per
 * group of versions that share a wire layout (no schema is interpreted at run time).
 */
import {
  apiName,
  type DefaultValue,
  type Field,
  inRange,
  isTaggedAt,
  type MessageSpec,
  type Struct,
  versionsOf,
} from './model.js';

const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

/** Versions of one struct that share a layout; functions are named after the first one. */
interface Group {
  first: number;
  versions: number[];
}

class MessageEmitter {
  private readonly groupKeys = new Map<Struct, Map<number, string>>();
  private readonly groups = new Map<Struct, Map<string, Group>>();
  private tmp = 0;

  constructor(
    readonly spec: MessageSpec,
    private readonly needIsDefault: Set<Struct>,
  ) {
    for (const v of versionsOf(spec.validVersions)) this.groupKey(spec.root, v);
  }

  flexible(v: number): boolean {
    return inRange(this.spec.flexibleVersions, v);
  }

  /** A key that differs whenever the wire layout (or the absent-field checks) of a struct differ between versions. */
  private groupKey(s: Struct, v: number): string {
    let perVersion = this.groupKeys.get(s);
    if (perVersion === undefined) {
      perVersion = new Map();
      this.groupKeys.set(s, perVersion);
      this.groups.set(s, new Map());
    }
    const known = perVersion.get(v);
    if (known !== undefined) return known;
    const flex = this.flexible(v);
    const parts: string[] = [flex ? 'F' : 'C'];
    for (const f of s.fields) {
      if (!inRange(f.versions, v)) {
        parts.push(f.ignorable ? '-' : '!');
        continue;
      }
      let p = isTaggedAt(f, v, flex) ? 'T' : 'R';
      if (inRange(f.nullableVersions, v)) p += 'n';
      if (f.struct !== null) p += `(${this.groupOf(f.struct, v).first})`;
      parts.push(p);
    }
    const key = parts.join(',');
    perVersion.set(v, key);
    const groups = this.groups.get(s)!;
    const g = groups.get(key);
    if (g === undefined) groups.set(key, { first: v, versions: [v] });
    else g.versions.push(v);
    return key;
  }

  groupOf(s: Struct, v: number): Group {
    const key = this.groupKey(s, v);
    return this.groups.get(s)!.get(key)!;
  }

  private name(): string {
    this.tmp++;
    return `t${this.tmp}`;
  }

  // ---- types -------------------------------------------------------------------------------------------------

  private structVersions(s: Struct): number[] {
    return [...this.groups.get(s)!.values()].flatMap((g) => g.versions).sort((a, b) => a - b);
  }

  emitTypes(out: string[]): void {
    for (const s of this.spec.structs) {
      // A struct never present in a valid version still gets a type (its field may be set to its default).
      const versions = this.groups.has(s) ? this.structVersions(s) : [];
      const flexible = versions.some((v) => this.flexible(v));
      const root = s === this.spec.root;
      if (root) out.push('/** As decoded: every field is set (to its default where a version lacks it). */');
      out.push(`export interface ${s.typeName} {`);
      for (const f of s.fields) out.push(`  ${f.name}: ${tsType(f, false)};`);
      if (flexible) out.push('  unknownTaggedFields?: UnknownTaggedField[];');
      out.push('}', '');
      if (root) out.push('/** For encoding: a field left undefined is written as its spec default. */');
      out.push(`export interface ${s.typeName}Input {`);
      for (const f of s.fields) {
        const always = versions.every((v) => inRange(f.versions, v) && !isTaggedAt(f, v, this.flexible(v)));
        const optional = !always || f.hasDefault;
        out.push(`  ${f.name}${optional ? '?' : ''}: ${tsType(f, true)};`);
      }
      if (flexible) out.push('  unknownTaggedFields?: UnknownTaggedField[];');
      out.push('}', '');
    }
  }

  // ---- defaults ----------------------------------------------------------------------------------------------

  defaultExpr(f: Field): string {
    return defaultLiteral(f.defaultValue, f);
  }

  emitDefaults(out: string[]): void {
    for (const s of this.spec.structs) {
      out.push(`function default${s.typeName}(): ${s.typeName} {`);
      out.push(`  return { ${s.fields.map((f) => `${f.name}: ${this.defaultExpr(f)}`).join(', ')} };`);
      out.push('}', '');
    }
  }

  // ---- encode ------------------------------------------------------------------------------------------------

  emitEncoders(out: string[]): void {
    for (const s of this.spec.structs) {
      const groups = this.groups.get(s);
      if (groups === undefined) continue;
      for (const g of groups.values()) this.emitEncoder(out, s, g);
    }
  }

  private emitEncoder(out: string[], s: Struct, g: Group): void {
    const v = g.first;
    const flex = this.flexible(v);
    this.tmp = 0;
    out.push(`function enc${s.typeName}_v${v}(w: Writer, m: ${s.typeName}Input): void {`);
    const body: string[] = [];
    const tagged: Field[] = [];
    for (const f of s.fields) {
      if (!inRange(f.versions, v)) {
        if (!f.ignorable) {
          const val = `m.${f.name}`;
          body.push(
            `if (${val} !== undefined && ${this.nonDefault(f, val)}) throw new ProtocolEncodeError('${this.spec.name} field ${s.specName}.${f.specName} cannot be written at version ${rangeText(g.versions)}');`,
          );
        }
        continue;
      }
      if (isTaggedAt(f, v, flex)) {
        tagged.push(f);
        continue;
      }
      this.writeField(body, f, this.valueExpr(f), v, flex);
    }
    if (flex) {
      if (tagged.length === 0) {
        body.push('if (m.unknownTaggedFields === undefined) w.uvarint(0);');
        body.push('else w.taggedFields(undefined, m.unknownTaggedFields);');
      } else {
        const conds: string[] = [];
        const temps = new Map<Field, [string, string]>();
        for (const f of tagged) {
          // Undefined means the default: nothing is written and no default value is built.
          const t = this.name();
          body.push(`const ${t} = m.${f.name};`);
          const c = this.name();
          body.push(`const ${c} = ${t} !== undefined && ${this.nonDefault(f, t)};`);
          conds.push(c);
          temps.set(f, [t, c]);
        }
        body.push(
          `if (${conds.map((c) => `!${c}`).join(' && ')} && m.unknownTaggedFields === undefined) w.uvarint(0);`,
        );
        body.push('else {');
        body.push('  const tf: TaggedFieldWrite[] = [];');
        for (const f of tagged) {
          const [t, c] = temps.get(f)!;
          const inner: string[] = [];
          this.writeField(inner, f, `${t}!`, v, flex);
          body.push(`  if (${c}) tf.push({ tag: ${f.tag}, write: (w) => { ${inner.join(' ')} } });`);
        }
        body.push('  w.taggedFields(tf, m.unknownTaggedFields);');
        body.push('}');
      }
    }
    for (const line of body) out.push(`  ${line}`);
    out.push('}', '');
  }

  private valueExpr(f: Field): string {
    const d = this.defaultExpr(f);
    // `??` would turn an explicit null into the default for nullable fields.
    if (f.nullableVersions.min <= f.nullableVersions.max) return `m.${f.name} === undefined ? ${d} : m.${f.name}`;
    return `m.${f.name} ?? ${d}`;
  }

  /** An expression that is true when `val` differs from the field's default. */
  private nonDefault(f: Field, val: string): string {
    const d = f.defaultValue;
    if (f.array || f.type === 'bytes' || f.type === 'records') {
      return d === null ? `${val} !== null` : `(${val} === null || ${val}.length !== 0)`;
    }
    if (f.type === 'struct') {
      if (d === null) return `${val} !== null`;
      this.needIsDefault.add(f.struct!);
      return `(${val} === null || !isDefault${f.struct!.typeName}(${val}))`;
    }
    return `${val} !== ${defaultLiteral(d, f)}`;
  }

  private writeField(out: string[], f: Field, val: string, v: number, flex: boolean): void {
    const nullable = inRange(f.nullableVersions, v);
    if (f.array) {
      const a = this.name();
      const i = this.name();
      out.push(`const ${a} = ${val};`);
      const nullWrite = flex ? 'w.uvarint(0);' : 'w.int32(-1);';
      const nullCase = nullable
        ? nullWrite
        : `throw new ProtocolEncodeError('${this.spec.name} field ${f.specName} is not nullable');`;
      out.push(`if (${a} === null) ${nullCase}`);
      out.push('else {');
      out.push(`  ${flex ? `w.uvarint(${a}.length + 1)` : `w.int32(${a}.length)`};`);
      out.push(`  for (let ${i} = 0; ${i} < ${a}.length; ${i}++) ${this.writeOne(f, `${a}[${i}]`, v, flex, false)}`);
      out.push('}');
      return;
    }
    out.push(this.writeOne(f, val, v, flex, nullable));
  }

  private writeOne(f: Field, val: string, v: number, flex: boolean, nullable: boolean): string {
    // Nullable at other versions only: the writer rejects a null at run time.
    if (!nullable && !f.array && f.nullableVersions.min <= f.nullableVersions.max) {
      if (f.type === 'struct') {
        const t = this.name();
        return `{ const ${t} = ${val}; if (${t} === null) throw new ProtocolEncodeError('${this.spec.name} field ${f.specName} is not nullable at this version'); ${this.writeValue(f, t, v, flex, false)} }`;
      }
      val = `(${val}) as ${elemType(f)}`;
    }
    return this.writeValue(f, val, v, flex, nullable);
  }

  private writeValue(f: Field, val: string, v: number, flex: boolean, nullable: boolean): string {
    switch (f.type) {
      case 'int8':
      case 'int16':
      case 'int32':
      case 'int64':
      case 'uint16':
      case 'uint32':
      case 'float64':
      case 'bool':
      case 'uuid':
        return `w.${f.type}(${val});`;
      case 'string':
        return `w.${stringMethod(flex, nullable, 'String')}(${val});`;
      case 'bytes':
      case 'records':
        return `w.${stringMethod(flex, nullable, 'Bytes')}(${val});`;
      case 'struct': {
        const fn = `enc${f.struct!.typeName}_v${this.groupOf(f.struct!, v).first}`;
        if (!nullable) return `${fn}(w, ${val});`;
        const t = this.name();
        return `{ const ${t} = ${val}; if (${t} === null) w.int8(-1); else { w.int8(1); ${fn}(w, ${t}); } }`;
      }
    }
  }

  // ---- decode ------------------------------------------------------------------------------------------------

  emitDecoders(out: string[]): void {
    for (const s of this.spec.structs) {
      const groups = this.groups.get(s);
      if (groups === undefined) continue;
      for (const g of groups.values()) this.emitDecoder(out, s, g);
    }
  }

  private emitDecoder(out: string[], s: Struct, g: Group): void {
    const v = g.first;
    const flex = this.flexible(v);
    this.tmp = 0;
    out.push(`function dec${s.typeName}_v${v}(r: Reader): ${s.typeName} {`);
    const body: string[] = [];
    const locals = new Map<Field, string>();
    const tagged: Field[] = [];
    for (const f of s.fields) {
      if (!inRange(f.versions, v)) continue;
      const local = `f_${f.name}`;
      locals.set(f, local);
      if (isTaggedAt(f, v, flex)) {
        tagged.push(f);
        body.push(`let ${local}: ${tsType(f)} = ${this.defaultExpr(f)};`);
        continue;
      }
      this.readField(body, f, local, v, flex, true);
    }
    if (flex) {
      if (tagged.length === 0) {
        body.push('const unknown = r.unknownTaggedFields();');
      } else {
        body.push('let unknown: UnknownTaggedField[] | undefined;');
        body.push('const tagCount = r.taggedFieldCount();');
        body.push('for (let i = 0; i < tagCount; i++) {');
        body.push('  const tag = r.uvarint();');
        body.push('  const end = r.taggedFieldEnd();');
        body.push('  switch (tag) {');
        for (const f of tagged) {
          const inner: string[] = [];
          this.readField(inner, f, locals.get(f)!, v, flex, false);
          body.push(`    case ${f.tag}: { ${inner.join(' ')} break; }`);
        }
        body.push('    default:');
        body.push('      if (unknown === undefined) unknown = [];');
        body.push('      unknown.push({ tag, data: r.raw(end - r.offset) });');
        body.push('  }');
        body.push('  r.expectOffset(end);');
        body.push('}');
      }
    }
    const props = s.fields.map((f) => {
      const local = locals.get(f);
      return local === undefined ? `${f.name}: ${this.defaultExpr(f)}` : `${f.name}: ${local}`;
    });
    if (flex) props.push('unknownTaggedFields: unknown');
    body.push(`return { ${props.join(', ')} };`);
    for (const line of body) out.push(`  ${line}`);
    out.push('}', '');
  }

  /** Reads a field into `local` (declared with const when `declare`, else assigned). */
  private readField(out: string[], f: Field, local: string, v: number, flex: boolean, declare: boolean): void {
    const nullable = inRange(f.nullableVersions, v);
    const decl = declare ? `const ${local} = ` : `${local} = `;
    if (!f.array) {
      out.push(`${decl}${this.readOne(f, v, flex, nullable)};`);
      return;
    }
    const n = this.name();
    const a = this.name();
    const i = this.name();
    out.push(`const ${n} = ${flex ? 'r.compactArrayLength()' : 'r.arrayLength()'};`);
    out.push(`let ${a}: ${elemType(f)}[] | null = null;`);
    if (nullable) out.push(`if (${n} >= 0) {`);
    else out.push(`if (${n} < 0) r.fail('null for non-nullable array ${f.specName}');`, `else {`);
    out.push(`  ${a} = [];`);
    out.push(`  for (let ${i} = 0; ${i} < ${n}; ${i}++) ${a}.push(${this.readOne(f, v, flex, false)});`);
    out.push('}');
    if (nullable) out.push(`${decl}${a};`);
    else out.push(`${decl}${a} ?? [];`);
  }

  private readOne(f: Field, v: number, flex: boolean, nullable: boolean): string {
    switch (f.type) {
      case 'int8':
      case 'int16':
      case 'int32':
      case 'int64':
      case 'uint16':
      case 'uint32':
      case 'float64':
      case 'bool':
      case 'uuid':
        return `r.${f.type}()`;
      case 'string':
        return `r.${stringMethod(flex, nullable, 'String')}()`;
      case 'bytes':
      case 'records':
        return `r.${stringMethod(flex, nullable, 'Bytes')}()`;
      case 'struct': {
        const fn = `dec${f.struct!.typeName}_v${this.groupOf(f.struct!, v).first}`;
        if (!nullable) return `${fn}(r)`;
        return `(r.int8() < 0 ? null : ${fn}(r))`;
      }
    }
  }

  // ---- isDefault (for tagged and absent struct fields) --------------------------------------------------------

  emitIsDefault(out: string[], s: Struct): void {
    const conds = s.fields.map((f) => `(m.${f.name} === undefined || !(${this.nonDefault(f, `m.${f.name}`)}))`);
    out.push(`function isDefault${s.typeName}(m: ${s.typeName}Input): boolean {`);
    out.push(`  return ${conds.length === 0 ? 'true' : conds.join(' && ')};`);
    out.push('}', '');
  }

  /** The version dispatch of the root struct: a switch from version to the group's function. */
  dispatch(kind: 'enc' | 'dec'): string[] {
    const s = this.spec.root;
    const lines: string[] = [];
    lines.push('switch (version) {');
    for (const g of this.groups.get(s)!.values()) {
      const cases = g.versions.map((v) => `case ${v}:`).join(' ');
      if (kind === 'enc') lines.push(`  ${cases} return enc${s.typeName}_v${g.first}(w, msg);`);
      else lines.push(`  ${cases} return dec${s.typeName}_v${g.first}(r);`);
    }
    const err = kind === 'enc' ? 'ProtocolEncodeError' : 'ProtocolDecodeError';
    lines.push(`  default: throw new ${err}(\`${this.spec.name} version \${version} is not supported\`);`);
    lines.push('}');
    return lines;
  }
}

function stringMethod(flex: boolean, nullable: boolean, base: 'String' | 'Bytes'): string {
  if (flex) return nullable ? `compactNullable${base}` : `compact${base}`;
  return nullable ? `nullable${base}` : base.toLowerCase();
}

function rangeText(versions: number[]): string {
  const lo = versions[0];
  const hi = versions[versions.length - 1];
  return lo === hi ? `${lo}` : `${lo}-${hi}`;
}

function elemType(f: Field, input = false): string {
  switch (f.type) {
    case 'int8':
    case 'int16':
    case 'int32':
    case 'uint16':
    case 'uint32':
    case 'float64':
      return 'number';
    case 'int64':
      return 'bigint';
    case 'bool':
      return 'boolean';
    case 'string':
    case 'uuid':
      return 'string';
    case 'bytes':
    case 'records':
      return 'Buffer';
    case 'struct':
      return input ? `${f.struct!.typeName}Input` : f.struct!.typeName;
  }
}

/** The field's TypeScript type; `input` refers to the Input variants of nested structs. */
function tsType(f: Field, input = false): string {
  const nullable = f.nullableVersions.min <= f.nullableVersions.max;
  const base = f.array ? `${elemType(f, input)}[]` : elemType(f, input);
  return nullable ? `${base} | null` : base;
}

function defaultLiteral(d: DefaultValue, f: Field): string {
  if (d === null) return 'null';
  if (typeof d === 'object') {
    if (f.array) return '[]';
    if (f.type === 'struct') return `default${f.struct!.typeName}()`;
    return 'EMPTY_BUFFER';
  }
  if (typeof d === 'bigint') return `${d}n`;
  if (typeof d === 'string') return f.type === 'uuid' ? `'${ZERO_UUID}'` : JSON.stringify(d).replace(/^"|"$/g, "'");
  return String(d);
}

/** Generates the module text of one API from its request and response specs. */
export function emitApiModule(request: MessageSpec, response: MessageSpec): string {
  const api = apiName(request);
  const needIsDefault = new Set<Struct>();
  const req = new MessageEmitter(request, needIsDefault);
  const res = new MessageEmitter(response, needIsDefault);
  const out: string[] = [];
  const vr = request.validVersions;
  const flexMin = request.flexibleVersions.min <= request.flexibleVersions.max ? request.flexibleVersions.min : null;
  const maxStable = request.latestVersionUnstable ? vr.max - 1 : vr.max;
  out.push('// Generated by scripts/codegen.mjs from the Kafka message specs. Do not edit.');
  out.push(
    `// ${api} (api key ${request.apiKey}): versions ${vr.min}-${vr.max}, flexible ${flexMin === null ? 'never' : `from ${flexMin}`}.`,
  );
  out.push("import { ProtocolDecodeError, ProtocolEncodeError } from '../error-codes.js';");
  out.push("import type { ApiCodec } from '../wire/api-codec.js';");
  out.push("import { asEncodeError, EMPTY_BUFFER } from '../wire/constants.js';");
  out.push("import type { Reader, UnknownTaggedField } from '../wire/reader.js';");
  out.push("import type { TaggedFieldWrite, Writer } from '../wire/writer.js';");
  out.push('');
  req.emitTypes(out);
  res.emitTypes(out);
  const fns: string[] = [];
  for (const e of [req, res]) {
    e.emitDefaults(fns);
    e.emitEncoders(fns);
    e.emitDecoders(fns);
  }
  // isDefault functions may pull in nested ones; emit until none are pending.
  const done = new Set<Struct>();
  for (;;) {
    const pending = [...needIsDefault].filter((s) => !done.has(s));
    if (pending.length === 0) break;
    for (const s of pending) {
      done.add(s);
      const owner = request.structs.includes(s) ? req : res;
      owner.emitIsDefault(fns, s);
    }
  }
  out.push(...fns);
  const flexExpr = flexMin === null ? null : flexMin;
  out.push(
    `export const ${api}: ApiCodec<${request.name}, ${response.name}, ${request.name}Input, ${response.name}Input> = {`,
  );
  out.push(`  apiKey: ${request.apiKey},`);
  out.push(`  name: '${api}',`);
  out.push(`  minVersion: ${vr.min},`);
  out.push(`  maxVersion: ${vr.max},`);
  out.push(`  maxStableVersion: ${maxStable},`);
  out.push(`  flexibleMinVersion: ${flexExpr},`);
  out.push(
    flexExpr === null
      ? '  requestHeaderVersion: (_version: number) => 1,'
      : `  requestHeaderVersion: (version: number) => (version >= ${flexExpr} ? 2 : 1),`,
  );
  if (request.apiKey === 18) out.push('  responseHeaderVersion: (_version: number) => 0,');
  else
    out.push(
      flexExpr === null
        ? '  responseHeaderVersion: (_version: number) => 0,'
        : `  responseHeaderVersion: (version: number) => (version >= ${flexExpr} ? 1 : 0),`,
    );
  for (const [kind, e] of [
    ['request', req],
    ['response', res],
  ] as const) {
    out.push(`  ${kind}: {`);
    out.push(`    encode(w: Writer, msg: ${e.spec.name}Input, version: number): void {`);
    out.push('      try {');
    for (const l of e.dispatch('enc')) out.push(`        ${l}`);
    out.push('      } catch (err) {');
    out.push(`        throw asEncodeError(err, '${e.spec.name}', version);`);
    out.push('      }');
    out.push('    },');
    out.push(`    decode(r: Reader, version: number): ${e.spec.name} {`);
    for (const l of e.dispatch('dec')) out.push(`      ${l}`);
    out.push('    },');
    out.push('  },');
  }
  out.push('};', '');
  return out.join('\n');
}
