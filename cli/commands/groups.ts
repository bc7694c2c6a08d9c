/**
 * `berth groups list|describe|reset-offsets|delete`, over the Kafka protocol (FindCoordinator, ListGroups,
 * DescribeGroups, OffsetFetch, OffsetCommit, DeleteGroups, ListOffsets for lag). Lag is the high watermark minus
 * the committed offset, per partition.
 */
import type { Command } from 'commander';
import { ErrorCode, errorCodeName } from '../../protocol/error-codes.js';
import {
  commitGroupOffsets,
  deleteGroups,
  describeGroup,
  EARLIEST,
  fetchGroupOffsets,
  findGroupCoordinator,
  LATEST,
  listGroups,
  listOffsets,
  pkey,
  topicMetadata,
} from '../admin-ops.js';
import { CliError, EXIT_FAILURE, EXIT_USAGE, parseIntOption, parseTime } from '../cli-util.js';
import { brokerOptions, type ConnectOptions, withClient } from '../connect.js';
import type { KafkaClient } from '../kafka-client.js';
import { printJson, printTable } from '../output.js';

interface Common extends ConnectOptions {
  json?: boolean;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Offsets and lag of a group, with the member owning each partition. */
async function groupLag(c: KafkaClient, group: string, owners: Map<string, string>) {
  const committed = await fetchGroupOffsets(c, group);
  const ends = await listOffsets(c, committed, LATEST).catch(() => new Map());
  return committed.map((o) => {
    const end = ends.get(pkey(o.topic, o.partition))?.offset ?? null;
    return {
      topic: o.topic,
      partition: o.partition,
      committedOffset: o.offset,
      logEndOffset: end,
      lag: end === null ? null : end > o.offset ? end - o.offset : 0n,
      memberId: owners.get(pkey(o.topic, o.partition)) ?? null,
      metadata: o.metadata,
    };
  });
}

export function registerGroups(program: Command): void {
  const groups = program.command('groups').description('list, describe, reset and delete consumer groups');

  brokerOptions(groups.command('list').description('list groups')).action(async (opts: Common) => {
    await withClient(opts, async (c) => {
      const all = await listGroups(c);
      if (opts.json) printJson({ groups: all });
      else
        printTable(
          ['GROUP', 'PROTOCOL TYPE', 'STATE'],
          all.map((g) => [g.groupId, g.protocolType || '-', g.state]),
        );
    });
  });

  brokerOptions(
    groups
      .command('describe')
      .description('members, assignments, committed offsets and lag per partition')
      .argument('<group>', 'group id'),
  ).action(async (group: string, opts: Common) => {
    await withClient(opts, async (c) => {
      await findGroupCoordinator(c, group);
      const d = await describeGroup(c, group);
      if (d.state === 'Dead') throw new CliError(`group ${group} does not exist`, EXIT_FAILURE);
      const owners = new Map<string, string>();
      for (const m of d.members)
        for (const a of m.assignment) for (const p of a.partitions) owners.set(pkey(a.topic, p), m.memberId);
      const offsets = await groupLag(c, group, owners);
      if (opts.json) {
        printJson({ ...d, offsets });
        return;
      }
      process.stdout.write(
        `Group: ${d.groupId}  state: ${d.state}  protocol: ${d.protocolType || '-'}/${d.protocol || '-'}  members: ${d.members.length}\n`,
      );
      if (d.members.length) {
        process.stdout.write('\n');
        printTable(
          ['MEMBER', 'INSTANCE', 'CLIENT', 'HOST', 'ASSIGNMENT'],
          d.members.map((m) => [
            m.memberId,
            m.groupInstanceId,
            m.clientId,
            m.clientHost,
            m.assignment.map((a) => `${a.topic}:${a.partitions.join(',')}`).join(' ') || null,
          ]),
        );
      }
      process.stdout.write('\n');
      printTable(
        ['TOPIC', 'PARTITION', 'COMMITTED', 'LOG END', 'LAG', 'MEMBER'],
        offsets.map((o) => [o.topic, o.partition, o.committedOffset, o.logEndOffset, o.lag, o.memberId]),
      );
    });
  });

  brokerOptions(
    groups
      .command('reset-offsets')
      .description("move a group's committed offsets (the group must have no members); a dry run unless --execute")
      .argument('<group>', 'group id'),
  )
    .option('-t, --topic <topic[:p,p...]>', 'a topic, optionally some partitions; repeatable', collect)
    .option('--all-topics', 'every topic the group has committed offsets for')
    .option('--to-earliest', 'to the log start offset')
    .option('--to-latest', 'to the high watermark')
    .option('--to-offset <offset>', 'to this offset (clamped to the log)')
    .option('--to-datetime <time>', 'to the first offset at or after this time (ISO 8601 or epoch ms)')
    .option('--shift-by <n>', 'move by n (negative: back), clamped to the log')
    .option('--execute', 'commit the new offsets (without it, only print the plan)')
    .action(
      async (
        group: string,
        opts: Common & {
          topic?: string[];
          allTopics?: boolean;
          toEarliest?: boolean;
          toLatest?: boolean;
          toOffset?: string;
          toDatetime?: string;
          shiftBy?: string;
          execute?: boolean;
        },
      ) => {
        const modes = [opts.toEarliest, opts.toLatest, opts.toOffset, opts.toDatetime, opts.shiftBy].filter(
          (m) => m !== undefined,
        );
        if (modes.length !== 1)
          throw new CliError(
            'give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by',
            EXIT_USAGE,
          );
        if (!opts.topic?.length === !opts.allTopics)
          throw new CliError('give --topic (repeatable) or --all-topics', EXIT_USAGE);
        const toOffset = opts.toOffset === undefined ? null : BigInt(parseIntOption('--to-offset', opts.toOffset, 0));
        const shiftBy = opts.shiftBy === undefined ? null : BigInt(parseIntOption('--shift-by', opts.shiftBy));
        const toTime = opts.toDatetime === undefined ? null : parseTime('--to-datetime', opts.toDatetime);
        await withClient(opts, async (c) => {
          await findGroupCoordinator(c, group);
          const committed = await fetchGroupOffsets(c, group);
          let parts: Array<{ topic: string; partition: number }>;
          if (opts.allTopics) parts = committed.map((o) => ({ topic: o.topic, partition: o.partition }));
          else {
            parts = [];
            for (const spec of opts.topic ?? []) {
              const [topic, list] = spec.split(':');
              if (list) {
                for (const p of list.split(','))
                  parts.push({ topic, partition: parseIntOption(`--topic ${spec}`, p, 0) });
              } else {
                const [meta] = await topicMetadata(c, [topic]);
                for (const p of meta.partitions) parts.push({ topic, partition: p.partition });
              }
            }
          }
          const earliest = await listOffsets(c, parts, EARLIEST);
          const latest = await listOffsets(c, parts, LATEST);
          const atTime = toTime === null ? null : await listOffsets(c, parts, toTime);
          const current = new Map(committed.map((o) => [pkey(o.topic, o.partition), o.offset]));
          const plan = parts.map(({ topic, partition }) => {
            const k = pkey(topic, partition);
            const lo = earliest.get(k)!.offset;
            const hi = latest.get(k)!.offset;
            const clamp = (n: bigint) => (n < lo ? lo : n > hi ? hi : n);
            const now = current.get(k) ?? null;
            let target: bigint;
            if (opts.toEarliest) target = lo;
            else if (opts.toLatest) target = hi;
            else if (toOffset !== null) target = clamp(toOffset);
            else if (shiftBy !== null) target = clamp((now ?? lo) + shiftBy);
            else {
              const o = atTime!.get(k)!.offset;
              target = o < 0n ? hi : o;
            }
            return { topic, partition, currentOffset: now, newOffset: target };
          });
          if (opts.execute)
            await commitGroupOffsets(
              c,
              group,
              plan.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.newOffset })),
            );
          if (opts.json) printJson({ group, executed: opts.execute === true, offsets: plan });
          else {
            printTable(
              ['TOPIC', 'PARTITION', 'CURRENT', 'NEW'],
              plan.map((p) => [p.topic, p.partition, p.currentOffset, p.newOffset]),
            );
            if (!opts.execute) process.stdout.write('(dry run: add --execute to commit these offsets)\n');
          }
        });
      },
    );

  brokerOptions(
    groups
      .command('delete')
      .description('delete groups (they must have no members)')
      .argument('<group...>', 'group ids'),
  ).action(async (ids: string[], opts: Common) => {
    await withClient(opts, async (c) => {
      const results = await deleteGroups(c, ids);
      if (opts.json)
        printJson({ results: results.map((r) => ({ ...r, error: r.errorCode ? errorCodeName(r.errorCode) : null })) });
      let failed = 0;
      for (const r of results) {
        if (r.errorCode === ErrorCode.NONE) {
          if (!opts.json) process.stdout.write(`Deleted group ${r.groupId}\n`);
        } else {
          failed++;
          console.error(`berth: cannot delete group ${r.groupId}: ${errorCodeName(r.errorCode)}`);
        }
      }
      if (failed) process.exitCode = EXIT_FAILURE;
    });
  });
}
