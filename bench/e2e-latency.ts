/**
 * End to end through the broker alone (issue 8): producer to consumer at 10,000 msgs/s of 100 B, acks=1, the
 * consumer long-polling, with minimal C clients (bench/c/latency-raw.c: one Produce request per message, restamped
 * and sent at its scheduled time; one Fetch v4 in flight) instead of librdkafka, whose batching and threads are part
 * of broker-produce-fetch's end-to-end figure. Beside it, in the same run, the machine's loopback round trip.
 * Target: p50 < 1 ms, p99 < 3 ms. Knobs: BERTH_BENCH_E2E_RATE (default 10000), BERTH_BENCH_E2E_SECONDS (default 3).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BenchRow, median, renderTable } from './bench-row.js';
import { compileTool, cpuSeconds, runTool, type SystemUnderTest, startBerth } from './broker-load-tools.js';

const RATE = Number(process.env.BERTH_BENCH_E2E_RATE ?? 10_000);
const SECONDS = Number(process.env.BERTH_BENCH_E2E_SECONDS ?? 3);
const REPEATS = 3;

export async function run(): Promise<BenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-e2e-'));
  let sut: SystemUnderTest | undefined;
  try {
    const tool = compileTool(dir, 'latency-raw');
    const loopback = compileTool(dir, 'loopback');
    sut = await startBerth(path.join(dir, 'data'), 'zerocopy');
    const p50: number[] = [];
    const p99: number[] = [];
    const rttP50: number[] = [];
    const rttP99: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const rtt = await runTool(loopback, ['rtt', 10_000]);
      rttP50.push(rtt.p50Ms!);
      rttP99.push(rtt.p99Ms!);
      const topic = `e2e-latency-${i}`;
      await sut.createTopic(topic);
      const [host, port] = sut.bootstrap.split(':');
      const cpu0 = cpuSeconds(sut.pid);
      const r = await runTool(tool, [host!, port!, topic, RATE, SECONDS], () => sut!.died());
      cpu.push((cpuSeconds(sut.pid) - cpu0) / (SECONDS + 0.5));
      if (r.received !== r.sent || r.produceErrors !== 0) {
        throw new Error(`latency-raw: ${r.received} of ${r.sent} received, ${r.produceErrors} produce errors`);
      }
      p50.push(r.p50Ms!);
      p99.push(r.p99Ms!);
    }
    const note =
      `median of ${REPEATS} x ${SECONDS} s at ${RATE} msgs/s of 100 B, one Produce request each, acks=1; Fetch v4 ` +
      `long poll (100 ms), one in flight; minimal C clients; broker CPU ${median(cpu).toFixed(2)} cores ` +
      `(runs: p50 ${p50.map((v) => v.toFixed(2)).join('/')}, p99 ${p99.map((v) => v.toFixed(1)).join('/')} ms)`;
    return [
      {
        name: 'end to end p50, broker alone',
        value: median(p50),
        unit: 'ms',
        reference: { name: 'loopback TCP round trip, 100 B', value: median(rttP50) },
        note: `target < 1 ms; ${note}`,
      },
      {
        name: 'end to end p99, broker alone',
        value: median(p99),
        unit: 'ms',
        reference: { name: 'loopback TCP round trip p99, 100 B', value: median(rttP99) },
        note: 'target < 3 ms',
      },
    ];
  } finally {
    await sut?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(renderTable('broker-e2e-latency', await run()));
}
