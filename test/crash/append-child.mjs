// Crash-test child: appends record batches with acks=-1 from several concurrent appenders and prints one line per
// acknowledged batch: `ack <baseOffset> <lastOffset> <sha1 of the stored batch bytes>`. The parent kills it with
// SIGKILL at a random moment. Runs from the compiled dist/ (package.json's test script runs tsc first).
// Usage: node append-child.mjs <dataDir> <engine: sync|uring> <seed>
import { createHash } from 'node:crypto';
import { crc32c } from '../../dist/protocol/records/crc32c.js';
import { LogManager } from '../../dist/storage/log-manager.js';

const [dataDir, engineName, seedArg] = process.argv.slice(2);
let seed = Number(seedArg) >>> 0;
function rand() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

// One uncompressed v2 batch of `count` records whose values are `size` bytes (record encoding per the Kafka spec).
function varint(n) {
  let v = n >= 0 ? n * 2 : -n * 2 - 1;
  const out = [];
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return out;
}
function batch(count, size) {
  const ts = Date.now();
  const recs = [];
  for (let i = 0; i < count; i++) {
    const value = Buffer.alloc(size, Math.floor(rand() * 256));
    const body = Buffer.concat([
      Buffer.from([0, ...varint(0), ...varint(i), ...varint(-1), ...varint(size)]),
      value,
      Buffer.from([0]),
    ]);
    recs.push(Buffer.from(varint(body.length)), body);
  }
  const records = Buffer.concat(recs);
  const b = Buffer.alloc(61 + records.length);
  b.writeInt32BE(b.length - 12, 8);
  b.writeInt32BE(-1, 12);
  b.writeInt8(2, 16);
  b.writeInt32BE(count - 1, 23);
  b.writeBigInt64BE(BigInt(ts), 27);
  b.writeBigInt64BE(BigInt(ts), 35);
  b.writeBigInt64BE(-1n, 43);
  b.writeInt16BE(-1, 51);
  b.writeInt32BE(-1, 53);
  b.writeInt32BE(count, 57);
  records.copy(b, 61);
  b.writeUInt32BE(crc32c(b, 21, b.length), 17);
  return b;
}

const mgr = await LogManager.open({
  dataDir,
  ioEngine: engineName === 'uring' ? 'uring' : 'sync',
  background: false,
  defaultConfig: { 'segment.bytes': 64 * 1024, 'index.interval.bytes': 1024 },
});
const log = mgr.getPartition('crash', 0) ?? (await mgr.createPartition('crash', 0));
process.stdout.write('ready\n');

async function appender() {
  for (;;) {
    const b = batch(1 + Math.floor(rand() * 4), 1 + Math.floor(rand() * 3000));
    const r = await log.append(b, { acks: -1 });
    process.stdout.write(`ack ${r.baseOffset} ${r.lastOffset} ${createHash('sha1').update(b).digest('hex')}\n`);
  }
}
await Promise.all([appender(), appender(), appender(), appender()]);
