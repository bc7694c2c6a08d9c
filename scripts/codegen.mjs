#!/usr/bin/env node
// Generates protocol/generated/ from Kafka's JSON message specs.
//   node scripts/codegen.mjs [--check] [--specs DIR]
// The generator is TypeScript (protocol/codegen/); it is transpiled here into a temp dir so that it runs right
// after `npm ci`, with no prior build. --check regenerates in memory and exits 1 naming the files that differ.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const check = args.includes('--check');
const specsArg = args.indexOf('--specs');
// Default: the shared/ folder beside the checkout (as CI lays it out), or BERTH_SHARED_DIR.
const sharedDir = resolve(process.env.BERTH_SHARED_DIR ?? join(root, '../shared'));
const specsDir = specsArg >= 0 ? resolve(args[specsArg + 1]) : join(sharedDir, 'kafka-protocol/messages');
if (!existsSync(specsDir)) {
  console.error(`codegen: no message specs at ${specsDir} (give --specs DIR or set BERTH_SHARED_DIR)`);
  process.exit(1);
}
const outDir = join(root, 'protocol/generated');

async function loadGenerator() {
  const tmp = mkdtempSync(join(tmpdir(), 'berth-codegen-'));
  const srcDir = join(root, 'protocol/codegen');
  writeFileSync(join(tmp, 'package.json'), '{"type":"module"}\n');
  for (const file of readdirSync(srcDir).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(join(srcDir, file), 'utf8');
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: file,
    }).outputText;
    writeFileSync(join(tmp, file.replace(/\.ts$/, '.js')), js);
  }
  try {
    return await import(pathToFileURL(join(tmp, 'generate.js')).href);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const { generate } = await loadGenerator();
const files = readdirSync(specsDir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((file) => ({ file, text: readFileSync(join(specsDir, file), 'utf8') }));
const generated = generate(files);

let existing = [];
try {
  existing = readdirSync(outDir).filter((f) => f.endsWith('.ts'));
} catch {
  // no output folder yet
}

if (check) {
  const differ = [];
  for (const [name, text] of generated) {
    let current = null;
    try {
      current = readFileSync(join(outDir, name), 'utf8');
    } catch {
      // missing
    }
    if (current !== text) differ.push(`protocol/generated/${name}`);
  }
  for (const name of existing) if (!generated.has(name)) differ.push(`protocol/generated/${name} (stale)`);
  if (differ.length > 0) {
    console.error(`codegen:check: ${differ.length} generated file(s) differ from the specs; run npm run codegen:`);
    for (const d of differ) console.error(`  ${d}`);
    process.exit(1);
  }
  console.log(`codegen:check: ${generated.size} generated files are up to date`);
} else {
  mkdirSync(outDir, { recursive: true });
  for (const name of existing) if (!generated.has(name)) rmSync(join(outDir, name));
  let written = 0;
  for (const [name, text] of generated) {
    let current = null;
    try {
      current = readFileSync(join(outDir, name), 'utf8');
    } catch {
      // missing
    }
    if (current !== text) {
      writeFileSync(join(outDir, name), text);
      written++;
    }
  }
  console.log(`codegen: ${generated.size} files in protocol/generated (${written} written) from ${specsDir}`);
}
