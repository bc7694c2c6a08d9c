/**
 * A produce load whose requests do not depend on timing: the same N batches of R records of S bytes (one partition,
 * acks=1, W requests in flight) every run, so that the broker does the same work per run and its cost can be counted
 * in instructions rather than in CPU seconds on a busy machine (where a run's CPU time moves 2-4x with the load).
 * librdkafka's batches depend on how fast acks come back; these do not.
 *
 *   node dist/bench/produce-fixed-load.js HOST:PORT [SIZE=1024] [RECORDS=976] [BATCHES=400] [INFLIGHT=5] [WARMUP=200]
 *
 * With BERTH_CG_PID set, the measured batches (after WARMUP) are bracketed with `callgrind_control -i on/off` for
 * that pid, a broker started under `valgrind --tool=callgrind --instr-atstart=no`:
 *
 *   valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/x.cg \
 *     node dist/cli/berth.js start --data-dir D --port 19092 --admin-port -1 &
 *   BERTH_CG_PID=$! node dist/bench/produce-fixed-load.js 127.0.0.1:19092 1024 976 400 5 200
 *   kill -INT %1; callgrind_annotate /tmp/x.cg | head
 */
import { spawnSync } from 'node:child_process';
import { KafkaClient } from '../cli/kafka-client.js';
import { CreateTopics } from '../protocol/generated/create-topics.js';
import { Produce } from '../protocol/generated/produce.js';
import { encodeRecordBatch } from '../protocol/records/encode-batch.js';

async function main(): Promise<void> {
  const [bootstrap, sizeArg = '1024', recordsArg = '976', batchesArg = '400', inflightArg = '5', warmArg = '200'] =
    process.argv.slice(2);
  if (!bootstrap) throw new Error('usage: produce-fixed-load HOST:PORT [SIZE] [RECORDS] [BATCHES] [INFLIGHT] [WARMUP]');
  const [host, port] = bootstrap.split(':');
  const [size, records, batches, inflight, warm] = [sizeArg, recordsArg, batchesArg, inflightArg, warmArg].map(Number);
  const client = await KafkaClient.connect({ host, port: Number(port), requestTimeoutMs: 600_000 });
  const topic = `fixed-${process.pid}`;
  await client.request(CreateTopics, {
    topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 60_000,
  });
  const value = Buffer.alloc(size, 0x61);
  const batch = () =>
    encodeRecordBatch({ records: Array.from({ length: records }, () => ({ value })), now: 1_700_000_000_000n });
  // One template, copied per request: the broker patches offsets into the request's own bytes.
  const template = batch();
  // v12: topics by name (v13 names them by id).
  const version = client.versionFor(Produce, 12);
  const produce = async () => {
    const res = await client.send(Produce, version, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 30_000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records: Buffer.from(template) }] }],
    });
    const code = res.responses[0]?.partitionResponses[0]?.errorCode;
    if (code !== 0) throw new Error(`produce failed with error ${code}`);
  };
  const run = async (n: number) => {
    let next = 0;
    const lane = async () => {
      while (next < n) {
        next++;
        await produce();
      }
    };
    await Promise.all(Array.from({ length: inflight }, lane));
  };
  const cgPid = process.env.BERTH_CG_PID;
  const control = (...args: string[]) => {
    if (cgPid) spawnSync('callgrind_control', [...args, cgPid], { stdio: 'ignore' });
  };
  await run(warm);
  control('-z');
  control('-i', 'on');
  const started = performance.now();
  await run(batches);
  const ms = performance.now() - started;
  control('-i', 'off');
  control('-d');
  const bytes = batches * template.length;
  console.log(
    JSON.stringify({ batches, batchBytes: template.length, bytes, ms: Math.round(ms), mbPerSec: bytes / 1e3 / ms }),
  );
  client.close();
}

await main();
