/**
 * kill -9 rounds: a `berth start` child process on one data directory, several producers writing acks=-1 batches to
 * several partitions and consumers fetching at the same time, then SIGKILL at a seeded random moment. After every
 * restart the whole log is checked against what was sent:
 * - every acknowledged batch is there, once, at the offset it was acknowledged at, byte-identical (the stored batch
 *   with baseOffset and partitionLeaderEpoch reset hashes to the sent one);
 * - offsets are contiguous per partition, each producer's batches appear in the order it sent them, every visible
 *   batch is one that was sent whole (nothing partial), and no batch appears twice;
 * - every batch a consumer saw before the kill is still there (a process kill keeps the page cache);
 * - `berth segments verify --json` reports no error on the recovered files (with the recovered broker idle, or after
 *   a clean stop with --restart-to-verify), and after the final clean stop.
 * Rounds cycle through io.engine uring/sync and fetch.path zerocopy/copy on the same directory.
 *
 *   node dist/bench/kill-rounds.js [--rounds 100] [--seed 1] [--dir <data dir>] [--engines uring,sync]
 *                                  [--restart-to-verify]
 *
 * The test suite runs a few rounds through runKillRounds() (test/faults/kill-rounds.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KafkaClient } from '../cli/kafka-client.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { CreateTopics } from '../protocol/generated/create-topics.js';
import { Fetch } from '../protocol/generated/fetch.js';
import { Metadata } from '../protocol/generated/metadata.js';
import { Produce } from '../protocol/generated/produce.js';
import type { CompressionCodec } from '../protocol/records/batch-header.js';
import { decodeRecords } from '../protocol/records/decode-records.js';
import { encodeRecordBatch } from '../protocol/records/encode-batch.js';
import { scanBatches } from '../protocol/records/record-batch.js';
import { BERTH_CLI, type BerthProcess, spawnBerth } from './berth-process.js';

const TOPIC = 'kill-rounds';

export interface KillMode {
  name: string;
  settings: Record<string, string>;
}

/** Every io engine and fetch path; rounds take them in turn. */
export const KILL_MODES: KillMode[] = [
  { name: 'uring+zerocopy', settings: { 'io.engine': 'uring', 'fetch.path': 'zerocopy' } },
  { name: 'sync+copy', settings: { 'io.engine': 'sync', 'fetch.path': 'copy' } },
  { name: 'uring+copy', settings: { 'io.engine': 'uring', 'fetch.path': 'copy' } },
  { name: 'sync+zerocopy', settings: { 'io.engine': 'sync', 'fetch.path': 'zerocopy' } },
];

export interface KillRoundsOptions {
  dataDir: string;
  rounds: number;
  seed: number;
  modes?: KillMode[];
  partitions?: number;
  producers?: number;
  consumers?: number;
  /** The kill lands this many ms after the load starts: min + seeded random * spread. */
  killMinMs?: number;
  killSpreadMs?: number;
  /** Stop the recovered broker cleanly before segments verify, and start it again for the load (slower). */
  restartToVerify?: boolean;
  log?: (line: string) => void;
}

export interface KillRoundsTotals {
  rounds: number;
  kills: number;
  batchesSent: number;
  batchesAcknowledged: number;
  recordsAcknowledged: number;
  /** Acknowledged batches missing after a restart (must be 0). */
  lost: number;
  /** Batches present more than once (must be 0). */
  duplicates: number;
  /** Acknowledged batches at another offset, different bytes, out of order, or unknown batches (must be 0). */
  misplaced: number;
  /** Batches a consumer read before a kill and missing or different after it (must be 0). */
  consumedLost: number;
  /** Sent, not acknowledged, present after restart (in flight at the kill: allowed). */
  unacknowledgedPresent: number;
  /** `berth segments verify` runs that reported errors (must be 0). */
  verifyFailures: number;
  /** Produce answers other than NONE before the kill (must be 0). */
  produceErrors: number;
  problems: string[];
}

interface SentBatch {
  id: number;
  producer: number;
  seq: number;
  partition: number;
  records: number;
  hash: string;
  ackedOffset: bigint | null;
}

/** A small seeded generator (mulberry32). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The batch's identity: its bytes with the broker-assigned fields (baseOffset, partitionLeaderEpoch) zeroed. */
function batchHash(bytes: Buffer): string {
  const copy = Buffer.from(bytes);
  copy.fill(0, 0, 8);
  copy.fill(0, 12, 16);
  return createHash('sha1').update(copy).digest('hex');
}

async function stopBerth(
  b: BerthProcess,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; signal: string | null }> {
  b.child.kill(signal);
  return b.exited;
}

/** `berth segments verify <dir> --json`: null when clean, else what it said. */
export function segmentsVerify(dataDir: string): string | null {
  const res = spawnSync(process.execPath, [BERTH_CLI, 'segments', 'verify', dataDir, '--json'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (res.status === 0) {
    try {
      const report = JSON.parse(res.stdout) as { ok: boolean; errors: number };
      if (report.ok && report.errors === 0) return null;
    } catch {
      // fall through: unreadable output is a failure
    }
  }
  return `segments verify exited ${res.status ?? res.signal}: ${res.stdout.slice(0, 2000)} ${res.stderr.slice(0, 2000)}`;
}

async function fetchOnce(
  client: KafkaClient,
  partition: number,
  offset: bigint,
  maxWaitMs: number,
): Promise<{ data: Buffer; highWatermark: bigint; errorCode: number }> {
  const res = await client.request(
    Fetch,
    {
      maxWaitMs,
      minBytes: 1,
      maxBytes: 4 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: TOPIC, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 2 << 20 }] }],
      forgottenTopicsData: [],
      rackId: '',
    },
    12,
  );
  const p = res.responses[0].partitions[0];
  return { data: p.records ?? Buffer.alloc(0), highWatermark: p.highWatermark, errorCode: p.errorCode };
}

interface ReadBatch {
  baseOffset: bigint;
  nextOffset: bigint;
  id: number;
  hash: string;
}

/** Batches of one partition from `from` to the high watermark, CRC-checked; the batch id from the first key. */
async function readAll(client: KafkaClient, partition: number, from: bigint, problems: string[]): Promise<ReadBatch[]> {
  const out: ReadBatch[] = [];
  let offset = from;
  for (;;) {
    const { data, highWatermark, errorCode } = await fetchOnce(client, partition, offset, 0);
    if (errorCode !== ErrorCode.NONE) {
      problems.push(`fetch p${partition}@${offset}: error ${errorCode}`);
      return out;
    }
    const scan = scanBatches(data, 0, data.length, { verifyCrc: true });
    if (scan.stopReason === 'corrupt' || scan.stopReason === 'oldFormat') {
      problems.push(`fetch p${partition}@${offset}: ${scan.stopReason} ${scan.detail ?? ''}`);
      return out;
    }
    for (const b of scan.batches) {
      const bytes = data.subarray(b.position, b.position + b.size);
      const key = decodeRecords(bytes, 0)[0]?.key?.toString() ?? '';
      const id = Number(/^b(\d+)-r0$/.exec(key)?.[1] ?? -1);
      const nextOffset = b.header.baseOffset + BigInt(b.header.lastOffsetDelta) + 1n;
      if (nextOffset <= offset) continue;
      out.push({ baseOffset: b.header.baseOffset, nextOffset, id, hash: batchHash(bytes) });
    }
    const last = scan.batches.at(-1);
    if (last) offset = last.header.baseOffset + BigInt(last.header.lastOffsetDelta) + 1n;
    if (offset >= highWatermark || scan.batches.length === 0) return out;
  }
}

const CODECS: CompressionCodec[] = ['none', 'none', 'none', 'lz4', 'zstd'];

/** Runs `rounds` kill rounds on `dataDir` (created when missing) and returns the totals. */
export async function runKillRounds(opts: KillRoundsOptions): Promise<KillRoundsTotals> {
  const rand = seededRandom(opts.seed);
  const modes = opts.modes ?? KILL_MODES;
  const partitions = opts.partitions ?? 4;
  const producers = opts.producers ?? 4;
  const consumers = opts.consumers ?? 2;
  const log = opts.log ?? (() => {});
  const settings = { 'log.segment.bytes': String(256 * 1024), 'num.partitions': String(partitions) };
  const t: KillRoundsTotals = {
    rounds: 0,
    kills: 0,
    batchesSent: 0,
    batchesAcknowledged: 0,
    recordsAcknowledged: 0,
    lost: 0,
    duplicates: 0,
    misplaced: 0,
    consumedLost: 0,
    unacknowledgedPresent: 0,
    verifyFailures: 0,
    produceErrors: 0,
    problems: [],
  };
  const problem = (s: string) => {
    if (t.problems.length < 50) t.problems.push(s);
    log(`PROBLEM ${s}`);
  };
  const sent: SentBatch[] = [];
  // Per partition: the batches verified so far (in offset order) and where verification may resume.
  const verified: Array<Map<number, bigint>> = Array.from({ length: partitions }, () => new Map());
  const idAt: Array<Map<bigint, number>> = Array.from({ length: partitions }, () => new Map());
  const verifiedEnd: bigint[] = Array.from({ length: partitions }, () => 0n);
  const lastSeqSeen: number[][] = Array.from({ length: partitions }, () => Array(producers).fill(-1));
  // What consumers read during the last round: offset -> hash, per partition.
  let consumed: Array<Map<bigint, string>> = [];
  const nextSeq = Array(producers).fill(0) as number[];

  /** Checks the log after a restart against everything sent, from where the last check ended. */
  async function check(client: KafkaClient, fromZero: boolean): Promise<void> {
    for (let p = 0; p < partitions; p++) {
      const from = fromZero ? 0n : verifiedEnd[p];
      if (fromZero) {
        verified[p].clear();
        idAt[p].clear();
        lastSeqSeen[p].fill(-1);
      }
      const batches = await readAll(client, p, from, t.problems);
      let expected = from;
      for (const b of batches) {
        if (b.baseOffset !== expected) problem(`p${p}: batch at ${b.baseOffset}, expected ${expected} (gap)`);
        expected = b.nextOffset;
        const s = sent[b.id];
        if (!s || s.partition !== p || s.hash !== b.hash) {
          t.misplaced++;
          problem(`p${p}@${b.baseOffset}: batch ${b.id} is not one that was sent here whole`);
          continue;
        }
        if (verified[p].has(b.id)) {
          t.duplicates++;
          problem(`p${p}: batch ${b.id} twice (${verified[p].get(b.id)} and ${b.baseOffset})`);
          continue;
        }
        verified[p].set(b.id, b.baseOffset);
        idAt[p].set(b.baseOffset, b.id);
        if (s.seq <= lastSeqSeen[p][s.producer]) {
          t.misplaced++;
          problem(`p${p}: producer ${s.producer} batch seq ${s.seq} after seq ${lastSeqSeen[p][s.producer]}`);
        }
        lastSeqSeen[p][s.producer] = s.seq;
        if (s.ackedOffset !== null && s.ackedOffset !== b.baseOffset) {
          t.misplaced++;
          problem(`p${p}: batch ${b.id} acknowledged at ${s.ackedOffset}, found at ${b.baseOffset}`);
        }
        if (s.ackedOffset === null && !fromZero) t.unacknowledgedPresent++;
      }
      verifiedEnd[p] = expected;
      for (const [offset, hash] of consumed[p] ?? []) {
        const id = idAt[p].get(offset);
        if (id === undefined || sent[id].hash !== hash) {
          t.consumedLost++;
          problem(`p${p}: batch at ${offset} read by a consumer before the kill is gone or different`);
        }
      }
    }
    for (const s of sent) {
      if (s.ackedOffset === null || verified[s.partition].has(s.id)) continue;
      // Counted once: a lost batch is marked so later checks do not count it again.
      t.lost++;
      problem(`acknowledged batch ${s.id} (p${s.partition}@${s.ackedOffset}) lost`);
      s.ackedOffset = null;
    }
    consumed = [];
  }

  async function connect(port: number, clientId: string): Promise<KafkaClient> {
    return KafkaClient.connect({ host: '127.0.0.1', port, clientId, requestTimeoutMs: 30_000 });
  }

  for (let round = 0; round <= opts.rounds; round++) {
    const mode = modes[round % modes.length];
    const broker = await spawnBerth(opts.dataDir, { ...settings, ...mode.settings }, 120_000);
    try {
      const admin = await connect(broker.port, 'kill-rounds-admin');
      if (round === 0) {
        const md = await admin.request(Metadata, { topics: [{ name: TOPIC }], allowAutoTopicCreation: false });
        if (md.topics[0].errorCode !== ErrorCode.NONE) {
          const res = await admin.request(CreateTopics, {
            topics: [{ name: TOPIC, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
            timeoutMs: 5000,
            validateOnly: false,
          });
          if (res.topics[0].errorCode !== ErrorCode.NONE) throw new Error(`create topic: ${res.topics[0].errorCode}`);
        }
      }
      await check(admin, round === opts.rounds);
      if (round === opts.rounds) {
        admin.close();
        const exit = await stopBerth(broker, 'SIGTERM');
        if (exit.code !== 0) problem(`clean stop exited ${exit.code ?? exit.signal}`);
        const v = segmentsVerify(opts.dataDir);
        if (v) {
          t.verifyFailures++;
          problem(v);
        }
        break;
      }
      admin.close();
      if (opts.restartToVerify) {
        // A clean stop and restart on the recovered directory, so that segments verify sees files at rest.
        const exit = await stopBerth(broker, 'SIGTERM');
        if (exit.code !== 0) problem(`clean stop after recovery exited ${exit.code ?? exit.signal}`);
      }
      // Otherwise the broker is idle here (recovered, nothing in flight): the files are what recovery left.
      const v = segmentsVerify(opts.dataDir);
      if (v) {
        t.verifyFailures++;
        problem(`round ${round}: ${v}`);
      }
    } catch (err) {
      broker.child.kill('SIGKILL');
      throw err;
    }

    const live = opts.restartToVerify
      ? await spawnBerth(opts.dataDir, { ...settings, ...mode.settings }, 120_000)
      : broker;
    const clients = await Promise.all(
      Array.from({ length: producers + consumers }, (_, i) => connect(live.port, `kill-rounds-${i}`)),
    );
    let killed = false;
    const ackedBefore = t.batchesAcknowledged;
    const producing = clients.slice(0, producers).map(async (client, producer) => {
      // A window of produces in flight on each connection, each to a seeded random partition.
      const WINDOW = 3;
      const inflight = new Set<Promise<void>>();
      while (!killed) {
        const id = sent.length;
        const partition = Math.floor(rand() * partitions);
        const large = rand() < 0.03;
        const count = large ? 1 : 1 + Math.floor(rand() * 8);
        const records = Array.from({ length: count }, (_, r) => ({
          key: `b${id}-r${r}`,
          value: createHash('sha256')
            .update(`${opts.seed}/${id}/${r}`)
            .digest()
            .toString('hex')
            .repeat(large ? 2000 : 1 + Math.floor(rand() * 20)),
          headers: [{ key: 'producer', value: Buffer.from(String(producer)) }],
        }));
        const bytes = encodeRecordBatch({ compression: CODECS[Math.floor(rand() * CODECS.length)], records });
        const s: SentBatch = {
          id,
          producer,
          seq: nextSeq[producer]++,
          partition,
          records: count,
          hash: batchHash(bytes),
          ackedOffset: null,
        };
        sent.push(s);
        t.batchesSent++;
        const p: Promise<void> = client
          .request(
            Produce,
            {
              transactionalId: null,
              acks: -1,
              timeoutMs: 30_000,
              topicData: [{ name: TOPIC, partitionData: [{ index: partition, records: bytes }] }],
            },
            9,
          )
          .then(
            (res) => {
              const r = res.responses[0].partitionResponses[0];
              if (r.errorCode !== ErrorCode.NONE) {
                t.produceErrors++;
                problem(`produce batch ${id}: error ${r.errorCode} ${r.errorMessage ?? ''}`);
                return;
              }
              s.ackedOffset = r.baseOffset;
              t.batchesAcknowledged++;
              t.recordsAcknowledged += count;
            },
            () => {
              // The connection died with the broker: not acknowledged.
            },
          )
          .finally(() => inflight.delete(p));
        inflight.add(p);
        if (inflight.size >= WINDOW) await Promise.race(inflight);
      }
      await Promise.allSettled(inflight);
    });
    const roundConsumed: Array<Map<bigint, string>> = Array.from({ length: partitions }, () => new Map());
    const consuming = clients.slice(producers).map(async (client, c) => {
      const positions = Array.from({ length: partitions }, (_, p) => verifiedEnd[p]);
      let p = c % partitions;
      while (!killed) {
        try {
          const { data, errorCode } = await fetchOnce(client, p, positions[p], 50);
          if (errorCode !== ErrorCode.NONE) {
            if (!killed) problem(`consumer fetch p${p}@${positions[p]}: error ${errorCode}`);
            return;
          }
          const scan = scanBatches(data, 0, data.length, { verifyCrc: true });
          if (scan.stopReason === 'corrupt' || scan.stopReason === 'oldFormat') {
            problem(`consumer p${p}@${positions[p]}: ${scan.stopReason} ${scan.detail ?? ''}`);
          }
          for (const b of scan.batches) {
            const next = b.header.baseOffset + BigInt(b.header.lastOffsetDelta) + 1n;
            if (next <= positions[p]) continue;
            roundConsumed[p].set(b.header.baseOffset, batchHash(data.subarray(b.position, b.position + b.size)));
            positions[p] = next;
          }
        } catch {
          return; // the broker is gone
        }
        p = (p + 1) % partitions;
      }
    });
    const killAt = (opts.killMinMs ?? 30) + Math.floor(rand() * (opts.killSpreadMs ?? 500));
    await new Promise((r) => setTimeout(r, killAt));
    killed = true;
    live.child.kill('SIGKILL');
    const exit = await live.exited;
    if (exit.signal !== 'SIGKILL') problem(`round ${round}: broker exited ${exit.code ?? exit.signal} before the kill`);
    await Promise.all([...producing, ...consuming]);
    for (const c of clients) c.close();
    consumed = roundConsumed;
    t.kills++;
    t.rounds++;
    log(
      `round ${round + 1}/${opts.rounds} ${mode.name}: kill at ${killAt} ms, ` +
        `${t.batchesAcknowledged - ackedBefore} batches acknowledged (total ${t.recordsAcknowledged} records), ` +
        `lost ${t.lost}, duplicates ${t.duplicates}`,
    );
  }
  return t;
}

function parseArgs(argv: string[]): {
  rounds: number;
  seed: number;
  dir: string | null;
  engines: string[] | null;
  restartToVerify: boolean;
} {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    rounds: Number(get('rounds') ?? 100),
    seed: Number(get('seed') ?? 1),
    dir: get('dir') ?? null,
    engines: get('engines')?.split(',') ?? null,
    restartToVerify: argv.includes('--restart-to-verify'),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dataDir = args.dir ?? mkdtempSync(join(tmpdir(), 'berth-kill-rounds-'));
  const modes = args.engines ? KILL_MODES.filter((m) => args.engines!.includes(m.settings['io.engine'])) : KILL_MODES;
  const started = Date.now();
  const totals = await runKillRounds({
    dataDir,
    rounds: args.rounds,
    seed: args.seed,
    modes,
    restartToVerify: args.restartToVerify,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  const { problems, ...figures } = totals;
  process.stdout.write(
    `${JSON.stringify({ ...figures, seed: args.seed, seconds: Math.round((Date.now() - started) / 1000) })}\n`,
  );
  const bad =
    totals.lost +
    totals.duplicates +
    totals.misplaced +
    totals.consumedLost +
    totals.verifyFailures +
    totals.produceErrors +
    problems.length;
  if (!args.dir) rmSync(dataDir, { recursive: true, force: true });
  process.exitCode = bad === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exitCode = 2;
  });
}
