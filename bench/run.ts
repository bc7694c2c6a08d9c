/**
 * `npm run bench`: runs every benchmark module and prints one table per module, each figure beside a reference
 * measured in the same run. `npm run bench -- storage` runs only the modules whose name contains "storage".
 */
import { cpus, totalmem } from 'node:os';
import { loadNative } from '../native/index.js';
import { type BenchRow, renderTable } from './bench-row.js';

/** Options handed to every module's run(): the hardware CRC32C when the addon has one (records compares both). */
const native = loadNative();
const runOptions = {
  crc32cAccelerated: native?.probe().hardwareCrc32c ? native.crc32c.bind(native) : undefined,
};

const modules: Array<{ name: string; path: string }> = [
  { name: 'protocol-codecs', path: './protocol-codecs.js' },
  { name: 'records', path: './records.js' },
  { name: 'native-io', path: './native-io.js' },
  { name: 'machine-page-cache', path: './page-cache-state.js' },
  { name: 'storage-append', path: './storage-append.js' },
  { name: 'group-convergence', path: './group-convergence.js' },
  { name: 'broker-produce-fetch', path: './broker-produce-fetch.js' },
  { name: 'broker-produce-limit', path: './produce-limit.js' },
  { name: 'broker-delete-under-load', path: './delete-under-load.js' },
  { name: 'broker-fetch-limit', path: './fetch-limit.js' },
  { name: 'broker-e2e-latency', path: './e2e-latency.js' },
  { name: 'broker-scale', path: './broker-scale.js' },
];

async function main(): Promise<void> {
  const filter = process.argv.slice(2);
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`# Berth benchmarks — ${new Date().toISOString()}`);
  console.log(`Node ${process.version}, ${cpus().length} x ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM\n`);
  let failed = 0;
  for (const m of modules) {
    if (filter.length > 0 && !filter.some((f) => m.name.includes(f))) continue;
    let mod: { run?: (options?: typeof runOptions) => Promise<BenchRow[]> };
    try {
      mod = await import(m.path);
    } catch (err) {
      console.log(`### ${m.name}\n\nnot available: ${(err as Error).message}\n`);
      continue;
    }
    if (typeof mod.run !== 'function') continue;
    try {
      console.log(`${renderTable(m.name, await mod.run(runOptions))}\n`);
    } catch (err) {
      failed++;
      console.log(`### ${m.name}\n\nfailed: ${(err as Error).stack}\n`);
    }
  }
  if (failed > 0) process.exitCode = 1;
}

await main();
