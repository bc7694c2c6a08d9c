/**
 * `berth consume <topic>`: reads records with Fetch from an offset (earliest, latest, a number) or a time
 * (ListOffsets by timestamp), from one partition or all. Without --follow it stops at the high watermark seen at
 * start (scripts get an end); with --follow it waits for new records until interrupted. Output: the value per line,
 * optionally with key and headers, or one JSON object per record with --json.
 */
import type { Command } from 'commander';
import { Fetch } from '../../protocol/generated/fetch.js';
import { ATTR_CONTROL } from '../../protocol/records/batch-header.js';
import { decodeRecords } from '../../protocol/records/decode-records.js';
import { nextOffsetOf, scanBatches } from '../../protocol/records/record-batch.js';
import { check, EARLIEST, LATEST, listOffsets, pkey, topicMetadata } from '../admin-ops.js';
import { CliError, EXIT_USAGE, parseIntOption, parseTime } from '../cli-util.js';
import { brokerOptions, type ConnectOptions, withClient } from '../connect.js';
import { type BytesEncoding, renderBytes, toJson } from '../output.js';

interface ConsumeOptions extends ConnectOptions {
  json?: boolean;
  partition?: string;
  offset: string;
  fromTimestamp?: string;
  maxMessages?: string;
  follow?: boolean;
  printKey?: boolean;
  printHeaders?: boolean;
  printOffset?: boolean;
  keySeparator: string;
  encoding: string;
}

interface Cursor {
  partition: number;
  next: bigint;
  /** Stop here unless following. */
  end: bigint;
}

export function registerConsume(program: Command): void {
  brokerOptions(program.command('consume').description('read records from a topic').argument('<topic>', 'topic name'))
    .option('-p, --partition <n>', 'only this partition (default: all)')
    .option('-o, --offset <offset>', 'where to start: earliest, latest or an offset', 'earliest')
    .option('--from-timestamp <time>', 'start at the first record at or after this time (ISO 8601 or epoch ms)')
    .option('-n, --max-messages <n>', 'stop after this many records')
    .option('-f, --follow', 'keep waiting for new records (default: stop at the high watermark)')
    .option('--print-key', 'print the key before the value')
    .option('--print-headers', 'print headers before the value')
    .option('--print-offset', 'print partition and offset before the value')
    .option('--key-separator <sep>', 'between the printed fields', '\t')
    .option('--encoding <encoding>', 'keys, values and header values as utf8, hex or base64', 'utf8')
    .action(async (topic: string, opts: ConsumeOptions) => {
      const encoding = opts.encoding as BytesEncoding;
      if (!['utf8', 'hex', 'base64'].includes(encoding))
        throw new CliError(`--encoding expects utf8, hex or base64, got "${opts.encoding}"`, EXIT_USAGE);
      const only = opts.partition === undefined ? null : parseIntOption('--partition', opts.partition, 0);
      const max =
        opts.maxMessages === undefined
          ? Number.POSITIVE_INFINITY
          : parseIntOption('--max-messages', opts.maxMessages, 1);
      const fromTime = opts.fromTimestamp === undefined ? null : parseTime('--from-timestamp', opts.fromTimestamp);
      let startOffset: bigint | 'earliest' | 'latest';
      if (opts.offset === 'earliest' || opts.offset === 'latest') startOffset = opts.offset;
      else startOffset = BigInt(parseIntOption('--offset', opts.offset, 0));

      await withClient(opts, async (c) => {
        const [meta] = await topicMetadata(c, [topic]);
        const parts = meta.partitions.map((p) => p.partition).filter((p) => only === null || p === only);
        if (parts.length === 0) throw new CliError(`topic ${topic} has no partition ${only}`, EXIT_USAGE);
        const tps = parts.map((partition) => ({ topic, partition }));
        const earliest = await listOffsets(c, tps, EARLIEST);
        const latest = await listOffsets(c, tps, LATEST);
        const atTime = fromTime === null ? null : await listOffsets(c, tps, fromTime);
        const cursors: Cursor[] = parts.map((partition) => {
          const k = pkey(topic, partition);
          const lo = earliest.get(k)!.offset;
          const hi = latest.get(k)!.offset;
          let next: bigint;
          if (atTime) next = atTime.get(k)!.offset < 0n ? hi : atTime.get(k)!.offset;
          else if (startOffset === 'earliest') next = lo;
          else if (startOffset === 'latest') next = hi;
          else next = startOffset < lo ? lo : startOffset > hi ? hi : startOffset;
          return { partition, next, end: hi };
        });

        let printed = 0;
        let interrupted = false;
        process.once('SIGINT', () => {
          interrupted = true;
        });
        const out = (line: string) => process.stdout.write(`${line}\n`);
        // Fetch v12 is the last version that names topics (v13+ use topic ids).
        const version = c.versionFor(Fetch, 12);
        let idleFetches = 0;
        while (!interrupted && printed < max) {
          const active = cursors.filter((cur) => opts.follow || cur.next < cur.end);
          if (active.length === 0) break;
          // Without --follow, a broker that keeps answering with nothing below the high watermark must not hang us.
          const before = active.map((cur) => cur.next);
          if (!opts.follow && idleFetches >= 20) {
            process.stderr.write('berth: no progress below the high watermark; stopping\n');
            break;
          }
          const res = await c.send(Fetch, version, {
            replicaId: -1,
            maxWaitMs: opts.follow ? 1000 : 100,
            minBytes: 1,
            maxBytes: 16 * 1024 * 1024,
            isolationLevel: 0,
            topics: [
              {
                topic,
                partitions: active.map((cur) => ({
                  partition: cur.partition,
                  fetchOffset: cur.next,
                  partitionMaxBytes: 4 * 1024 * 1024,
                })),
              },
            ],
            forgottenTopicsData: [],
          });
          check(res.errorCode, `Fetch ${topic}`);
          for (const t of res.responses) {
            for (const p of t.partitions) {
              check(p.errorCode, `Fetch ${topic}-${p.partitionIndex}`);
              const cur = cursors.find((x) => x.partition === p.partitionIndex)!;
              if (!p.records || p.records.length === 0) continue;
              for (const b of scanBatches(p.records).batches) {
                const after = nextOffsetOf(b.header);
                if ((b.header.attributes & ATTR_CONTROL) === 0) {
                  for (const r of decodeRecords(p.records, b.position, { end: b.position + b.size })) {
                    if (r.offset < cur.next || printed >= max) continue;
                    printed++;
                    if (opts.json) {
                      out(
                        toJson(
                          {
                            topic,
                            partition: cur.partition,
                            offset: r.offset,
                            timestamp: r.timestamp,
                            key: renderBytes(r.key, encoding),
                            value: renderBytes(r.value, encoding),
                            headers: r.headers.map((h) => ({ key: h.key, value: renderBytes(h.value, encoding) })),
                          },
                          false,
                        ),
                      );
                    } else {
                      const fields: string[] = [];
                      if (opts.printOffset) fields.push(`${cur.partition}:${r.offset}`);
                      if (opts.printHeaders)
                        fields.push(r.headers.map((h) => `${h.key}=${renderBytes(h.value, encoding) ?? ''}`).join(','));
                      if (opts.printKey) fields.push(renderBytes(r.key, encoding) ?? 'null');
                      fields.push(renderBytes(r.value, encoding) ?? 'null');
                      out(fields.join(opts.keySeparator));
                    }
                  }
                }
                if (printed >= max) break;
                if (after > cur.next) cur.next = after;
              }
            }
          }
          idleFetches = active.some((cur, i) => cur.next !== before[i]) ? 0 : idleFetches + 1;
        }
      });
    });
}
