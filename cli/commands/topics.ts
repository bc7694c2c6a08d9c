/**
 * `berth topics list|describe|create|delete|alter-config`, over the Kafka protocol (Metadata, ListOffsets,
 * DescribeConfigs, CreateTopics, DeleteTopics, IncrementalAlterConfigs).
 */
import type { Command } from 'commander';
import { ErrorCode, errorCodeName, KafkaError } from '../../protocol/error-codes.js';
import {
  alterTopicConfigs,
  createTopic,
  deleteTopics,
  describeTopicConfigs,
  EARLIEST,
  LATEST,
  listOffsets,
  pkey,
  topicMetadata,
} from '../admin-ops.js';
import { CliError, collectSetting, EXIT_FAILURE, EXIT_USAGE, parseIntOption } from '../cli-util.js';
import { brokerOptions, type ConnectOptions, withClient } from '../connect.js';
import { printJson, printTable } from '../output.js';

interface Common extends ConnectOptions {
  json?: boolean;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function registerTopics(program: Command): void {
  const topics = program.command('topics').description('list, describe, create, delete and configure topics');

  brokerOptions(topics.command('list').description('list topics'))
    .option('--internal', 'include internal topics')
    .action(async (opts: Common & { internal?: boolean }) => {
      await withClient(opts, async (c) => {
        const all = (await topicMetadata(c, null)).filter((t) => opts.internal || !t.internal);
        if (opts.json)
          printJson({
            topics: all.map((t) => ({
              name: t.name,
              topicId: t.topicId,
              partitions: t.partitions.length,
              internal: t.internal,
            })),
          });
        else
          printTable(
            ['TOPIC', 'PARTITIONS', 'TOPIC ID'],
            all.map((t) => [t.name, t.partitions.length, t.topicId]),
          );
      });
    });

  brokerOptions(
    topics
      .command('describe')
      .description('partitions (leader, epoch, log start offset, high watermark) and configs of topics')
      .argument('<topic...>', 'topic names'),
  )
    .option('--all-configs', 'show every config, not only the ones set on the topic or the broker')
    .action(async (names: string[], opts: Common & { allConfigs?: boolean }) => {
      await withClient(opts, async (c) => {
        const meta = await topicMetadata(c, names);
        const parts = meta.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partition })));
        const earliest = await listOffsets(c, parts, EARLIEST);
        const latest = await listOffsets(c, parts, LATEST);
        const described = [];
        for (const t of meta) {
          const configs = await describeTopicConfigs(c, t.name);
          described.push({
            name: t.name,
            topicId: t.topicId,
            internal: t.internal,
            partitions: t.partitions.map((p) => ({
              ...p,
              logStartOffset: earliest.get(pkey(t.name, p.partition))?.offset ?? null,
              highWatermark: latest.get(pkey(t.name, p.partition))?.offset ?? null,
            })),
            configs,
          });
        }
        if (opts.json) {
          printJson({ topics: described });
          return;
        }
        for (const [i, t] of described.entries()) {
          if (i > 0) process.stdout.write('\n');
          process.stdout.write(`Topic: ${t.name}  id: ${t.topicId ?? '-'}  partitions: ${t.partitions.length}\n`);
          printTable(
            ['PARTITION', 'LEADER', 'EPOCH', 'REPLICAS', 'ISR', 'LOG START', 'HIGH WATERMARK'],
            t.partitions.map((p) => [
              p.partition,
              p.leader,
              p.leaderEpoch,
              p.replicas.join(','),
              p.isr.join(','),
              p.logStartOffset,
              p.highWatermark,
            ]),
          );
          if (t.configs === null) {
            process.stdout.write('(configs: the broker does not serve DescribeConfigs)\n');
          } else {
            const shown = t.configs.filter((e) => opts.allConfigs || e.source !== 'default');
            if (shown.length) {
              process.stdout.write('\n');
              printTable(
                ['CONFIG', 'VALUE', 'SOURCE'],
                shown.map((e) => [e.name, e.value, e.source]),
              );
            }
          }
        }
      });
    });

  brokerOptions(topics.command('create').description('create a topic').argument('<topic>', 'topic name'))
    .option('-p, --partitions <n>', 'number of partitions', '1')
    .option('-r, --replication-factor <n>', 'replication factor (1 on a single node)', '1')
    .option('-c, --config <key=value>', 'a topic config; repeatable', collectSetting)
    .option('--if-not-exists', 'succeed when the topic already exists')
    .action(
      async (
        name: string,
        opts: Common & {
          partitions: string;
          replicationFactor: string;
          config?: Map<string, string>;
          ifNotExists?: boolean;
        },
      ) => {
        const partitions = parseIntOption('--partitions', opts.partitions, 1);
        const rf = parseIntOption('--replication-factor', opts.replicationFactor, 1);
        await withClient(opts, async (c) => {
          const r = await createTopic(c, name, partitions, rf, opts.config ?? new Map());
          const exists = r.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS;
          if (r.errorCode !== ErrorCode.NONE && !(exists && opts.ifNotExists)) {
            const usage =
              r.errorCode === ErrorCode.INVALID_CONFIG ||
              r.errorCode === ErrorCode.INVALID_TOPIC_EXCEPTION ||
              r.errorCode === ErrorCode.INVALID_PARTITIONS ||
              r.errorCode === ErrorCode.INVALID_REPLICATION_FACTOR;
            throw new CliError(
              `cannot create topic ${name}: ${errorCodeName(r.errorCode)}${r.errorMessage ? ` (${r.errorMessage})` : ''}`,
              usage ? EXIT_USAGE : EXIT_FAILURE,
            );
          }
          if (opts.json) printJson({ name, topicId: r.topicId, created: !exists });
          else
            process.stdout.write(
              exists
                ? `Topic ${name} already exists\n`
                : `Created topic ${name} (${partitions} partition${partitions === 1 ? '' : 's'})\n`,
            );
        });
      },
    );

  brokerOptions(topics.command('delete').description('delete topics').argument('<topic...>', 'topic names'))
    .option('--if-exists', 'succeed when a topic does not exist')
    .action(async (names: string[], opts: Common & { ifExists?: boolean }) => {
      await withClient(opts, async (c) => {
        const results = await deleteTopics(c, names);
        if (opts.json)
          printJson({
            results: results.map((r) => ({ ...r, error: r.errorCode ? errorCodeName(r.errorCode) : null })),
          });
        let failed = 0;
        for (const r of results) {
          const missing = r.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          if (r.errorCode === ErrorCode.NONE) {
            if (!opts.json) process.stdout.write(`Deleted topic ${r.name}\n`);
          } else if (missing && opts.ifExists) {
            if (!opts.json) process.stdout.write(`Topic ${r.name} does not exist\n`);
          } else {
            failed++;
            console.error(
              `berth: cannot delete topic ${r.name}: ${errorCodeName(r.errorCode)}${r.errorMessage ? ` (${r.errorMessage})` : ''}`,
            );
          }
        }
        if (failed) process.exitCode = EXIT_FAILURE;
      });
    });

  brokerOptions(
    topics
      .command('alter-config')
      .description('set or remove topic configs (IncrementalAlterConfigs)')
      .argument('<topic>', 'topic name'),
  )
    .option('-s, --set <key=value>', 'set a config; repeatable', collectSetting)
    .option('-d, --delete <key>', 'remove a config override (back to the default); repeatable', collect)
    .action(async (name: string, opts: Common & { set?: Map<string, string>; delete?: string[] }) => {
      const set = opts.set ?? new Map<string, string>();
      const remove = opts.delete ?? [];
      if (set.size === 0 && remove.length === 0)
        throw new CliError('alter-config needs --set key=value or --delete key', EXIT_USAGE);
      await withClient(opts, async (c) => {
        try {
          await alterTopicConfigs(c, name, set, remove);
        } catch (err) {
          // A value the broker refuses is a bad argument (exit 2), like an invalid setting for berth start.
          if (err instanceof KafkaError && err.errorCode === ErrorCode.INVALID_CONFIG)
            throw new CliError(err.message, EXIT_USAGE);
          throw err;
        }
        if (opts.json) printJson({ topic: name, set: Object.fromEntries(set), deleted: remove });
        else process.stdout.write(`Updated configs of topic ${name}\n`);
      });
    });
}
