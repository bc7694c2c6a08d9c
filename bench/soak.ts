/**
 * Soak (issue 7): the broker in a child process under mixed load on loopback for a while (ten minutes by default),
 * watched from outside. Not part of CI and not part of `npm run bench`:
 *
 *   node dist/bench/soak.js [--seconds 600] [--rate 20000] [--interval 15] [--keep-data]
 *
 * Load: four kafkajs producers (two at acks=1, two at acks=-1) writing batches of 200-byte messages to two topics at
 * about --rate msgs/s in all; two consumer groups (one on one topic, one on both) whose membership churns (a member
 * joins or the oldest extra member leaves every few seconds); topics created, written and deleted in a loop.
 * Every --interval seconds it prints throughput, produce p99 latency, the broker's resident size and open file
 * descriptors (from /proc/<pid>/status and /proc/<pid>/fd). At the end the producers stop, the groups drain, and
 * the summary says whether every acknowledged record was consumed by every group (same offset, same bytes) and
 * whether memory and descriptors stayed flat: the last third of the samples after warm-up against the first third.
 * The exit code is 1 when either check fails.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Consumer, Kafka as KafkaType, Producer } from 'kafkajs';

const require = createRequire(import.meta.url);
const { Kafka, logLevel } = require('kafkajs') as typeof import('kafkajs');

interface Options {
  seconds: number;
  rate: number;
  interval: number;
  keepData: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { seconds: 600, rate: 20_000, interval: 15, keepData: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${a} needs a positive number`);
      return v;
    };
    if (a === '--seconds') o.seconds = num();
    else if (a === '--rate') o.rate = num();
    else if (a === '--interval') o.interval = num();
    else if (a === '--keep-data') o.keepData = true;
    else throw new Error(`unknown option ${a} (--seconds N, --rate N, --interval N, --keep-data)`);
  }
  return o;
}

const TOPICS = [
  { name: 'soak-a', partitions: 6 },
  { name: 'soak-b', partitions: 4 },
];
const GROUPS = [
  { id: 'soak-g1', topics: ['soak-a'] },
  { id: 'soak-g2', topics: ['soak-a', 'soak-b'] },
];
const PRODUCER_ACKS = [1, 1, -1, -1];
const BATCH = 50;
const VALUE_BYTES = 200;
const CHURN_MS = 4000;
const MAX_EXTRA_MEMBERS = 2;
const TOPIC_CHURN_MS = 1500;
const SAMPLE_MS = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** FNV-1a of the bytes, never 0 (0 marks "nothing here" in the ledgers). */
function hashOf(buf: Buffer): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < buf.length; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return (h | 1) >>> 0;
}

/** Per partition, the hash of the record at each offset (0: none): what was acknowledged, or what a group read. */
class Ledger {
  readonly #parts = new Map<string, Uint32Array>();

  set(tp: string, offset: number, hash: number): void {
    let a = this.#parts.get(tp);
    if (!a || offset >= a.length) {
      const bigger = new Uint32Array(Math.max(1024, (offset + 1) * 2));
      if (a) bigger.set(a);
      this.#parts.set(tp, bigger);
      a = bigger;
    }
    a[offset] = hash;
  }

  get(tp: string, offset: number): number {
    const a = this.#parts.get(tp);
    return a && offset < a.length ? a[offset] : 0;
  }

  *entries(): Generator<[string, Uint32Array]> {
    yield* this.#parts.entries();
  }
}

interface Counters {
  acked: number;
  ackedBytes: number;
  produceErrors: number;
  latencies: number[];
  consumed: Map<string, number>;
  joins: number;
  leaves: number;
  topicsCreated: number;
  topicsDeleted: number;
  topicErrors: number;
}

interface Sample {
  t: number;
  rssMB: number;
  fds: number;
  /** V8 heap in use and memory outside it (Buffers), from the broker's own /metrics: where growth would be. */
  heapMB: number;
  externalMB: number;
}

interface SoakBroker {
  pid: number;
  bootstrap: string;
  adminPort: number;
  died(): string | null;
  stop(): Promise<void>;
}

const berthCli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../cli/berth.js');

/** The broker as a child process (`berth start`) with its admin API on, for /metrics. */
async function startSoakBroker(dataDir: string): Promise<SoakBroker> {
  const args = [berthCli, 'start', '--data-dir', dataDir, '--port', '0', '--admin-port', '0', '--host', '127.0.0.1'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let stopping = false;
  const ports = await new Promise<{ port: number; admin: number }>((resolve, reject) => {
    let admin = -1;
    const timer = setTimeout(() => reject(new Error(`berth did not start in 30 s: ${stderr}`)), 30_000);
    // readline keeps draining stdout for the whole run, so the broker never blocks on a full pipe.
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const rec = JSON.parse(line) as { msg?: string; port?: number; level?: number };
        if (rec.msg === 'admin API listening') admin = rec.port ?? -1;
        if (rec.msg === 'broker listening' && typeof rec.port === 'number') {
          clearTimeout(timer);
          resolve({ port: rec.port, admin });
        }
        if ((rec.level ?? 0) >= 50) console.error(`broker: ${line.slice(0, 500)}`);
      } catch {
        // not a JSON log line
      }
    });
    child.once('exit', (code) => reject(new Error(`berth exited (${code}) before listening: ${stderr}`)));
  });
  return {
    pid: child.pid!,
    bootstrap: `127.0.0.1:${ports.port}`,
    adminPort: ports.admin,
    died: () =>
      !stopping && (child.exitCode !== null || child.signalCode !== null)
        ? `broker exited (${child.exitCode ?? child.signalCode}): ${stderr.slice(-600)}`
        : null,
    async stop() {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(30_000)]);
    },
  };
}

async function brokerSample(b: SoakBroker, t: number): Promise<Sample> {
  const status = fs.readFileSync(`/proc/${b.pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  const fds = fs.readdirSync(`/proc/${b.pid}/fd`).length;
  let heapMB = NaN;
  let externalMB = NaN;
  try {
    const text = await (await fetch(`http://127.0.0.1:${b.adminPort}/metrics`)).text();
    const metric = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;
    heapMB = metric('berth_process_nodejs_heap_size_used_bytes');
    externalMB = metric('berth_process_nodejs_external_memory_bytes');
  } catch {
    // the admin API is optional to the figures
  }
  return { t, rssMB: kb / 1024, fds, heapMB, externalMB };
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

function median(xs: number[]): number {
  return percentile(xs, 50);
}

class Soak {
  readonly acked = new Ledger();
  readonly read = new Map(GROUPS.map((g) => [g.id, new Ledger()]));
  readonly c: Counters = {
    acked: 0,
    ackedBytes: 0,
    produceErrors: 0,
    latencies: [],
    consumed: new Map(GROUPS.map((g) => [g.id, 0])),
    joins: 0,
    leaves: 0,
    topicsCreated: 0,
    topicsDeleted: 0,
    topicErrors: 0,
  };
  producing = true;
  churning = true;
  readonly members = new Map<string, Consumer[]>(GROUPS.map((g) => [g.id, []]));

  constructor(
    readonly kafka: KafkaType,
    readonly opts: Options,
  ) {}

  /** One producer: batches to each partition in turn, paced to its share of the rate. */
  async produce(index: number, producer: Producer, acks: number): Promise<void> {
    const parts = TOPICS.flatMap((t) => Array.from({ length: t.partitions }, (_, p) => ({ topic: t.name, p })));
    const perSecond = this.opts.rate / PRODUCER_ACKS.length;
    const start = performance.now();
    let sent = 0;
    let seq = 0;
    for (let turn = index; this.producing; turn++) {
      const { topic, p } = parts[turn % parts.length];
      const values = Array.from({ length: BATCH }, () => {
        const head = `${index}:${seq++}:`;
        return Buffer.from(head.padEnd(VALUE_BYTES, 'x'));
      });
      const t0 = performance.now();
      try {
        const meta = await producer.send({ topic, acks, messages: values.map((value) => ({ partition: p, value })) });
        this.c.latencies.push(performance.now() - t0);
        const base = Number(meta[0].baseOffset);
        const tp = `${topic}/${p}`;
        for (let i = 0; i < values.length; i++) this.acked.set(tp, base + i, hashOf(values[i]));
        this.c.acked += values.length;
        this.c.ackedBytes += values.length * VALUE_BYTES;
      } catch {
        this.c.produceErrors++;
      }
      sent += BATCH;
      const ahead = (sent / perSecond) * 1000 - (performance.now() - start);
      if (ahead > 0) await sleep(ahead);
    }
  }

  async addMember(groupId: string, topics: string[]): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId,
      sessionTimeout: 10_000,
      rebalanceTimeout: 10_000,
      heartbeatInterval: 1000,
      maxWaitTimeInMs: 100,
    });
    const ledger = this.read.get(groupId)!;
    await consumer.connect();
    for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const tp = `${batch.topic}/${batch.partition}`;
        for (const m of batch.messages) {
          if (m.value) ledger.set(tp, Number(m.offset), hashOf(m.value));
        }
        this.c.consumed.set(groupId, (this.c.consumed.get(groupId) ?? 0) + batch.messages.length);
      },
    });
    this.members.get(groupId)!.push(consumer);
    this.c.joins++;
  }

  async removeMember(groupId: string, consumer: Consumer): Promise<void> {
    const list = this.members.get(groupId)!;
    list.splice(list.indexOf(consumer), 1);
    await Promise.race([consumer.disconnect(), sleep(15_000)]);
    this.c.leaves++;
  }

  /** Each group keeps one stable member; extra members join and leave in turn. */
  async churnMembers(): Promise<void> {
    for (let tick = 0; this.churning; tick++) {
      await sleep(CHURN_MS);
      if (!this.churning) break;
      const g = GROUPS[tick % GROUPS.length];
      const list = this.members.get(g.id)!;
      try {
        const grow = Math.floor(tick / GROUPS.length) % (2 * MAX_EXTRA_MEMBERS) < MAX_EXTRA_MEMBERS;
        if (grow && list.length <= MAX_EXTRA_MEMBERS) await this.addMember(g.id, g.topics);
        else if (list.length > 1) await this.removeMember(g.id, list[1]);
      } catch (err) {
        console.error(`member churn (${g.id}): ${(err as Error).message}`);
      }
    }
  }

  /**
   * Topics created, written to (acks=-1) and deleted in a loop. A fresh producer per topic: a kafkajs producer that
   * has written to a deleted topic keeps asking for its metadata and fails every later send (tulios/kafkajs#1622),
   * and the connection churn is welcome here anyway.
   */
  async churnTopics(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      for (let n = 0; this.churning; n++) {
        const topic = `soak-tmp-${n}`;
        const producer = this.kafka.producer({ allowAutoTopicCreation: false });
        try {
          await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
          this.c.topicsCreated++;
          await producer.connect();
          const messages = Array.from({ length: 20 }, (_, i) => ({ partition: i % 2, value: `tmp ${n} ${i}` }));
          await producer.send({ topic, acks: -1, messages });
          await producer.disconnect();
          await admin.deleteTopics({ topics: [topic] });
          this.c.topicsDeleted++;
        } catch (err) {
          this.c.topicErrors++;
          if (this.c.topicErrors <= 5) console.error(`topic churn (${topic}): ${(err as Error).message}`);
          await producer.disconnect().catch(() => {});
        }
        await sleep(TOPIC_CHURN_MS);
      }
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  /** Per group: acknowledged records not read (missing), and read with other bytes than acknowledged (differing). */
  verify(): Map<string, { missing: number; differing: number; firstMissing?: string }> {
    const out = new Map<string, { missing: number; differing: number; firstMissing?: string }>();
    for (const g of GROUPS) {
      const ledger = this.read.get(g.id)!;
      const r: { missing: number; differing: number; firstMissing?: string } = { missing: 0, differing: 0 };
      for (const [tp, hashes] of this.acked.entries()) {
        if (!g.topics.includes(tp.split('/')[0])) continue;
        for (let off = 0; off < hashes.length; off++) {
          if (hashes[off] === 0) continue;
          const got = ledger.get(tp, off);
          if (got === 0) {
            r.missing++;
            r.firstMissing ??= `${tp}@${off}`;
          } else if (got !== hashes[off]) r.differing++;
        }
      }
      out.set(g.id, r);
    }
    return out;
  }
}

/** Flat: the last third's median within 10% (+ slack) of the first third's, after warm-up. */
function flatness(samples: Sample[], warmupS: number, pick: (s: Sample) => number, slack: number) {
  const after = samples.filter((s) => s.t >= warmupS);
  const third = Math.max(1, Math.floor(after.length / 3));
  const first = median(after.slice(0, third).map(pick));
  const last = median(after.slice(-third).map(pick));
  const max = Math.max(...after.map(pick));
  return { first, last, max, flat: last <= first * 1.1 + slack, n: after.length };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-soak-data-'));
  const broker = await startSoakBroker(dataDir);
  const warmupS = Math.min(60, opts.seconds / 10);
  console.log(
    `# Berth soak: ${opts.seconds} s, ~${opts.rate} msgs/s of ${VALUE_BYTES} B in batches of ${BATCH}, ` +
      `${PRODUCER_ACKS.length} producers (acks ${PRODUCER_ACKS.join(',')}), ${GROUPS.length} groups with churn ` +
      `every ${CHURN_MS / 1000} s, topic create/delete every ${TOPIC_CHURN_MS / 1000} s; broker pid ${broker.pid}, ` +
      `${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)}`,
  );
  const kafka = new Kafka({ brokers: [broker.bootstrap], clientId: 'soak', logLevel: logLevel.NOTHING });
  const soak = new Soak(kafka, opts);
  const samples: Sample[] = [];
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  let failed = false;
  try {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: TOPICS.map((t) => ({ topic: t.name, numPartitions: t.partitions })),
      waitForLeaders: true,
    });
    await admin.disconnect();
    for (const g of GROUPS) await soak.addMember(g.id, g.topics);
    const producers = await Promise.all(
      PRODUCER_ACKS.map(async () => {
        const p = kafka.producer({ allowAutoTopicCreation: false });
        await p.connect();
        return p;
      }),
    );
    const work = [
      ...producers.map((p, i) => soak.produce(i, p, PRODUCER_ACKS[i])),
      soak.churnMembers(),
      soak.churnTopics(),
    ];
    let last = { t: 0, acked: 0, bytes: 0, consumed: 0 };
    const consumedTotal = () => [...soak.c.consumed.values()].reduce((a, b) => a + b, 0);
    let nextPrint = opts.interval;
    while (elapsed() < opts.seconds) {
      await sleep(SAMPLE_MS);
      if (broker.died()) throw new Error(broker.died()!);
      const s = await brokerSample(broker, elapsed());
      samples.push(s);
      if (s.t < nextPrint && s.t < opts.seconds) continue;
      nextPrint += opts.interval;
      const dt = s.t - last.t;
      const lat = soak.c.latencies.splice(0);
      const members = GROUPS.map((g) => soak.members.get(g.id)!.length).join('+');
      console.log(
        `t=${s.t.toFixed(0).padStart(4)}s  ${((soak.c.acked - last.acked) / dt).toFixed(0).padStart(6)} msgs/s  ` +
          `${((soak.c.ackedBytes - last.bytes) / dt / 1e6).toFixed(2)} MB/s  ` +
          `produce p99 ${percentile(lat, 99).toFixed(1)} ms (p50 ${percentile(lat, 50).toFixed(1)})  ` +
          `consumed ${((consumedTotal() - last.consumed) / dt).toFixed(0)} msgs/s  ` +
          `rss ${s.rssMB.toFixed(1)} MB (heap ${s.heapMB.toFixed(1)}, external ${s.externalMB.toFixed(1)})  ` +
          `fds ${s.fds}  members ${members}  ` +
          `topics +${soak.c.topicsCreated}/-${soak.c.topicsDeleted}  errors ${soak.c.produceErrors}/${soak.c.topicErrors}`,
      );
      last = { t: s.t, acked: soak.c.acked, bytes: soak.c.ackedBytes, consumed: consumedTotal() };
    }
    soak.producing = false;
    soak.churning = false;
    await Promise.all(work);
    await Promise.all(producers.map((p) => p.disconnect()));
    // Drain: wait until every group has read every acknowledged record (or give up after a minute).
    let check = soak.verify();
    for (let i = 0; i < 60 && [...check.values()].some((r) => r.missing > 0); i++) {
      await sleep(1000);
      check = soak.verify();
    }
    for (const list of soak.members.values()) await Promise.all(list.map((m) => m.disconnect().catch(() => {})));

    const rss = flatness(samples, warmupS, (s) => s.rssMB, 16);
    const fds = flatness(samples, warmupS, (s) => s.fds, 16);
    const heap = flatness(samples, warmupS, (s) => s.heapMB, 8);
    const external = flatness(samples, warmupS, (s) => s.externalMB, 8);
    const lost = [...check.values()].reduce((a, r) => a + r.missing + r.differing, 0);
    console.log('\n## Summary');
    console.log(
      `acknowledged ${soak.c.acked} records (${(soak.c.ackedBytes / 1e6).toFixed(0)} MB) in ${opts.seconds} s; ` +
        `produce errors ${soak.c.produceErrors}; members joined ${soak.c.joins}, left ${soak.c.leaves}; ` +
        `topics created ${soak.c.topicsCreated}, deleted ${soak.c.topicsDeleted}, errors ${soak.c.topicErrors}`,
    );
    for (const [g, r] of check) {
      console.log(
        `group ${g}: ${r.missing} acknowledged records not consumed, ${r.differing} consumed with other bytes` +
          (r.firstMissing ? ` (first missing ${r.firstMissing})` : ''),
      );
    }
    console.log(
      `broker RSS after ${warmupS.toFixed(0)} s warm-up: first third median ${rss.first.toFixed(1)} MB, ` +
        `last third ${rss.last.toFixed(1)} MB, max ${rss.max.toFixed(1)} MB (${rss.n} samples): ` +
        `${rss.flat ? 'flat' : 'GROWING'} (tolerance 10% + 16 MB)`,
    );
    console.log(
      `  of which V8 heap in use: ${heap.first.toFixed(1)} -> ${heap.last.toFixed(1)} MB ` +
        `(${heap.flat ? 'flat' : 'growing'}), external: ${external.first.toFixed(1)} -> ${external.last.toFixed(1)} MB ` +
        `(${external.flat ? 'flat' : 'growing'})`,
    );
    console.log(
      `broker open fds: first third median ${fds.first}, last third ${fds.last}, max ${fds.max}: ` +
        `${fds.flat ? 'flat' : 'GROWING'} (tolerance 10% + 16)`,
    );
    console.log(`every acknowledged record consumed by every group: ${lost === 0 ? 'yes' : 'NO'}`);
    failed = lost > 0 || !rss.flat || !fds.flat;
  } finally {
    await broker.stop();
    if (!opts.keepData) fs.rmSync(dataDir, { recursive: true, force: true });
    else console.log(`data kept in ${dataDir}`);
  }
  process.exitCode = failed ? 1 : 0;
}

await main();
