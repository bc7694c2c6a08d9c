import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generate } from '../../../protocol/codegen/generate.js';
import { moduleName, parseMessageSpec, parseRange, stripComments } from '../../../protocol/codegen/model.js';
import { repoRoot, sharedAvailable, sharedDir } from './codec-fixtures.js';

const specsDir = resolve(sharedDir, 'kafka-protocol/messages');
const specFiles = () =>
  readdirSync(specsDir)
    .filter((f) => f.endsWith('.json'))
    .map((file) => ({ file, text: readFileSync(join(specsDir, file), 'utf8') }));

describe.runIf(sharedAvailable)('codec generator', () => {
  it('the committed protocol/generated matches the specs', () => {
    const generated = generate(specFiles());
    const dir = resolve(repoRoot, 'protocol/generated');
    const committed = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(committed.sort()).toEqual([...generated.keys()].sort());
    for (const [name, text] of generated) expect(readFileSync(join(dir, name), 'utf8') === text, name).toBe(true);
  });

  it('is deterministic whatever the order of the spec files', () => {
    const files = specFiles();
    const a = generate(files);
    const b = generate([...files].reverse());
    expect([...a.entries()]).toEqual([...b.entries()]);
  });

  it('strips // comments but not // inside strings', () => {
    const text = '{\n  // a comment\n  "about": "see http://kafka.apache.org", // trailing\n  "x": 1\n}';
    expect(JSON.parse(stripComments(text))).toEqual({ about: 'see http://kafka.apache.org', x: 1 });
  });

  it('parses version ranges', () => {
    expect(parseRange('3+')).toEqual({ min: 3, max: Number.POSITIVE_INFINITY });
    expect(parseRange('0-12')).toEqual({ min: 0, max: 12 });
    expect(parseRange('7')).toEqual({ min: 7, max: 7 });
    const none = parseRange('none');
    expect(none.min > none.max).toBe(true);
  });

  it('names modules in kebab case', () => {
    expect(moduleName('ApiVersions')).toBe('api-versions');
    expect(moduleName('DescribeTopicPartitions')).toBe('describe-topic-partitions');
    expect(moduleName('Fetch')).toBe('fetch');
  });

  it('types defaults: hex, negative, bigint, null, booleans, unstable latest versions', () => {
    const spec = parseMessageSpec(`{
      // comment
      "apiKey": 1000, "type": "request", "name": "TestRequest", "validVersions": "0-3", "flexibleVersions": "2+",
      "latestVersionUnstable": true,
      "fields": [
        { "name": "MaxBytes", "type": "int32", "versions": "0+", "default": "0x7fffffff" },
        { "name": "Neg", "type": "int32", "versions": "0+", "default": "-2147483648" },
        { "name": "Big", "type": "int64", "versions": "0+", "default": "9223372036854775807" },
        { "name": "Flag", "type": "bool", "versions": "1+", "default": "true" },
        { "name": "Name", "type": "string", "versions": "0+", "nullableVersions": "1+", "default": "null" },
        { "name": "Tagged", "type": "int16", "versions": "2+", "taggedVersions": "2+", "tag": 0, "default": -1 }
      ]
    }`)!;
    expect(spec.latestVersionUnstable).toBe(true);
    const byName = Object.fromEntries(spec.root.fields.map((f) => [f.specName, f]));
    expect(byName.MaxBytes.defaultValue).toBe(0x7fffffff);
    expect(byName.Neg.defaultValue).toBe(-2147483648);
    expect(byName.Big.defaultValue).toBe(9223372036854775807n);
    expect(byName.Flag.defaultValue).toBe(true);
    expect(byName.Name.defaultValue).toBe(null);
    expect(byName.Tagged.defaultValue).toBe(-1);
    expect(byName.Tagged.tag).toBe(0);
    expect(byName.Name.name).toBe('name');
  });

  it('keeps spec prose out of the generated code', () => {
    const produce = generate(specFiles()).get('produce.ts')!;
    expect(produce).not.toMatch(/about|acknowledg|KIP-/i);
  });

  // The in-process drift test above covers the passing case; this one checks the script's failure path.
  it('codegen --check exits non-zero and names the files that differ', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-codegen-test-'));
    try {
      cpSync(specsDir, dir, { recursive: true });
      const heartbeat = join(dir, 'HeartbeatRequest.json');
      writeFileSync(
        heartbeat,
        readFileSync(heartbeat, 'utf8').replace('"validVersions": "0-4"', '"validVersions": "0-3"'),
      );
      const result = spawnSync(process.execPath, ['scripts/codegen.mjs', '--check', '--specs', dir], {
        cwd: repoRoot,
        encoding: 'utf8',
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('protocol/generated/heartbeat.ts');
      expect(result.stderr).not.toContain('protocol/generated/fetch.ts');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
