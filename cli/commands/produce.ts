/**
 * `berth produce <topic>`: one record from --value, or one per line of standard input (text, `key<sep>value` with
 * --key-separator, or JSON objects with --format json). Records go in batches of --batch-size, compressed with
 * --compression, with the given acks. Keys and values are read as UTF-8, hex or base64 (--encoding).
 */
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { Produce } from '../../protocol/generated/produce.js';
import type { CompressionCodec } from '../../protocol/records/batch-header.js';
import { encodeRecordBatch, type RecordInput } from '../../protocol/records/encode-batch.js';
import { check } from '../admin-ops.js';
import { CliError, collectSetting, EXIT_USAGE, parseIntOption, parseTime } from '../cli-util.js';
import { brokerOptions, type ConnectOptions, withClient } from '../connect.js';
import type { KafkaClient } from '../kafka-client.js';
import { printJson } from '../output.js';

interface ProduceOptions extends ConnectOptions {
  json?: boolean;
  partition: string;
  key?: string;
  value?: string;
  header?: Map<string, string>;
  keySeparator?: string;
  format: string;
  encoding: string;
  acks: string;
  compression: string;
  batchSize: string;
  timestamp?: string;
}

interface Pending {
  partition: number;
  record: RecordInput;
}

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

export function registerProduce(program: Command): void {
  brokerOptions(
    program
      .command('produce')
      .description('write records: --value for one, else one per line of standard input')
      .argument('<topic>', 'topic name'),
  )
    .option('-p, --partition <n>', 'partition to write to', '0')
    .option('-k, --key <key>', 'key of every record')
    .option('-v, --value <value>', 'write one record with this value instead of reading standard input')
    .option('-H, --header <key=value>', 'a header on every record; repeatable', collectSetting)
    .option('--key-separator <sep>', 'input lines are key<sep>value')
    .option(
      '--format <format>',
      'input lines: text, or json ({"key","value","headers":{},"partition","timestamp"})',
      'text',
    )
    .option('--encoding <encoding>', 'keys and values are utf8, hex or base64', 'utf8')
    .option('--acks <acks>', '-1 (all), 1 (leader) or 0 (no response)', '-1')
    .option('--compression <codec>', 'none, gzip, snappy, lz4 or zstd', 'none')
    .option('--batch-size <n>', 'records per batch', '1000')
    .option('--timestamp <time>', 'CreateTime of every record (ISO 8601 or epoch ms; default now)')
    .action(async (topic: string, opts: ProduceOptions) => {
      const partition = parseIntOption('--partition', opts.partition, 0);
      const acks = parseIntOption('--acks', opts.acks, -1);
      if (acks !== -1 && acks !== 0 && acks !== 1)
        throw new CliError(`--acks expects -1, 0 or 1, got "${opts.acks}"`, EXIT_USAGE);
      if (!CODECS.includes(opts.compression))
        throw new CliError(`--compression expects one of ${CODECS.join(', ')}, got "${opts.compression}"`, EXIT_USAGE);
      if (opts.format !== 'text' && opts.format !== 'json')
        throw new CliError(`--format expects text or json, got "${opts.format}"`, EXIT_USAGE);
      const encoding = opts.encoding as BufferEncoding;
      if (!['utf8', 'hex', 'base64'].includes(encoding))
        throw new CliError(`--encoding expects utf8, hex or base64, got "${opts.encoding}"`, EXIT_USAGE);
      const batchSize = parseIntOption('--batch-size', opts.batchSize, 1);
      const timestamp = opts.timestamp === undefined ? undefined : parseTime('--timestamp', opts.timestamp);
      const bytes = (s: string | null | undefined) => (s === undefined || s === null ? null : Buffer.from(s, encoding));
      const headers = [...(opts.header ?? [])].map(([key, value]) => ({ key, value: Buffer.from(value, 'utf8') }));

      const parseLine = (line: string, lineNo: number): Pending => {
        if (opts.format === 'json') {
          let o: {
            key?: string | null;
            value?: string | null;
            headers?: Record<string, string>;
            partition?: number;
            timestamp?: number | string;
          };
          try {
            o = JSON.parse(line);
          } catch {
            throw new CliError(`line ${lineNo}: not JSON`, EXIT_USAGE);
          }
          const hs = [
            ...headers,
            ...Object.entries(o.headers ?? {}).map(([key, value]) => ({
              key,
              value: Buffer.from(String(value), 'utf8'),
            })),
          ];
          return {
            partition: o.partition ?? partition,
            record: {
              key: bytes(o.key ?? opts.key),
              value: bytes(o.value),
              headers: hs,
              ...(o.timestamp !== undefined
                ? { timestamp: parseTime(`line ${lineNo} timestamp`, String(o.timestamp)) }
                : timestamp !== undefined
                  ? { timestamp }
                  : {}),
            },
          };
        }
        let key: string | undefined = opts.key;
        let value = line;
        if (opts.keySeparator) {
          const at = line.indexOf(opts.keySeparator);
          if (at < 0) throw new CliError(`line ${lineNo}: no key separator "${opts.keySeparator}"`, EXIT_USAGE);
          key = line.slice(0, at);
          value = line.slice(at + opts.keySeparator.length);
        }
        return {
          partition,
          record: { key: bytes(key), value: bytes(value), headers, ...(timestamp !== undefined ? { timestamp } : {}) },
        };
      };

      await withClient(opts, async (c) => {
        const results = new Map<number, { baseOffset: bigint | null; count: number }>();
        const send = async (batch: Pending[]) => {
          const byPartition = new Map<number, RecordInput[]>();
          for (const p of batch) byPartition.set(p.partition, [...(byPartition.get(p.partition) ?? []), p.record]);
          for (const [p, records] of byPartition) {
            const base = await produceBatch(
              c,
              topic,
              p,
              records,
              acks as -1 | 0 | 1,
              opts.compression as CompressionCodec,
            );
            const r = results.get(p) ?? { baseOffset: base, count: 0 };
            r.count += records.length;
            results.set(p, r);
          }
        };
        if (opts.value !== undefined) {
          await send([
            {
              partition,
              record: {
                key: bytes(opts.key),
                value: bytes(opts.value),
                headers,
                ...(timestamp !== undefined ? { timestamp } : {}),
              },
            },
          ]);
        } else {
          let pending: Pending[] = [];
          let lineNo = 0;
          for await (const line of createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
            lineNo++;
            if (line === '' && opts.format === 'json') continue;
            pending.push(parseLine(line, lineNo));
            if (pending.length >= batchSize) {
              await send(pending);
              pending = [];
            }
          }
          if (pending.length) await send(pending);
        }
        if (acks === 0) await c.closeGracefully();
        const partitions = [...results].map(([p, r]) => ({ partition: p, baseOffset: r.baseOffset, count: r.count }));
        const total = partitions.reduce((s, p) => s + p.count, 0);
        if (opts.json) printJson({ topic, records: total, partitions });
        else {
          const where = partitions
            .map((p) =>
              p.baseOffset === null
                ? `partition ${p.partition}`
                : `partition ${p.partition} from offset ${p.baseOffset}`,
            )
            .join(', ');
          process.stderr.write(
            `Produced ${total} record${total === 1 ? '' : 's'} to ${topic}${where ? ` (${where})` : ''}\n`,
          );
        }
      });
    });
}

/** Produces one batch; returns its base offset (null with acks=0). */
async function produceBatch(
  c: KafkaClient,
  topic: string,
  partition: number,
  records: RecordInput[],
  acks: -1 | 0 | 1,
  compression: CompressionCodec,
): Promise<bigint | null> {
  const body = {
    transactionalId: null,
    acks,
    timeoutMs: 30_000,
    topicData: [
      { name: topic, partitionData: [{ index: partition, records: encodeRecordBatch({ compression, records }) }] },
    ],
  };
  // v13 addresses topics by id; names are enough up to v12.
  const version = c.versionFor(Produce, 12);
  if (acks === 0) {
    await c.send(Produce, version, body, false);
    return null;
  }
  const res = await c.send(Produce, version, body);
  const p = res.responses[0].partitionResponses[0];
  check(p.errorCode, `Produce ${topic}-${partition}`, p.errorMessage);
  return p.baseOffset;
}
