/**
 * Requests encoded by kafkajs's own protocol encoders (the installed package, CommonJS) decode with our codecs to
 * the values kafkajs was given. Every API and version kafkajs implements is covered; versions Kafka 4 removed
 * (below the spec's validVersions) are listed as skipped.
 *
 * kafkajs deviations handled here:
 * - For flexible versions kafkajs sends request header v1 and writes the v2 header's tagged-field byte as the
 *   first byte of the body; that byte is checked and removed before decoding.
 * - SaslAuthenticate: kafkajs's authBytes already carry their int32 length (it writes them raw).
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KafkaError } from '../../../protocol/error-codes.js';
import { codecFor, decodeRequestBody } from '../../../protocol/frames.js';
import { apiCodecs } from '../../../protocol/generated/index.js';
import { readBatchHeader } from '../../../protocol/records/batch-header.js';

const require = createRequire(import.meta.url);
const requestsDir = dirname(require.resolve('kafkajs/src/protocol/requests/index.js'));

function kafkajsVersions(api: string): number[] {
  return readdirSync(`${requestsDir}/${api}`)
    .filter((d) => /^v\d+$/.test(d))
    .map((d) => Number(d.slice(1)))
    .sort((a, b) => a - b);
}

// biome-ignore lint/suspicious/noExplicitAny: kafkajs is untyped JavaScript
type Any = any;

interface RequestCase {
  api: string;
  apiKey: number;
  args: (v: number) => Any;
  /** What our decoder must produce (a subset, compared with toMatchObject). */
  expected: (v: number) => Any;
  check?: (decoded: Any, v: number) => void;
}

const GZIP = 1;
const messages = [
  { key: 'k1', value: 'v1', timestamp: 1_700_000_000_000, headers: { h1: 'x' } },
  { key: null, value: 'second value', timestamp: 1_700_000_000_001 },
];

const cases: RequestCase[] = [
  {
    api: 'produce',
    apiKey: 0,
    args: (v) => ({
      acks: -1,
      timeout: 30000,
      transactionalId: v >= 3 ? 'tx-1' : undefined,
      producerId: undefined,
      compression: v >= 3 && v % 2 === 0 ? GZIP : 0,
      topicData: [
        { topic: 'orders', partitions: [{ partition: 2, firstSequence: 0, messages }] },
        { topic: 'audit', partitions: [{ partition: 0, firstSequence: 5, messages: messages.slice(0, 1) }] },
      ],
    }),
    expected: () => ({
      transactionalId: 'tx-1',
      acks: -1,
      timeoutMs: 30000,
      topicData: [
        { name: 'orders', partitionData: [{ index: 2 }] },
        { name: 'audit', partitionData: [{ index: 0 }] },
      ],
    }),
    check: (decoded, v) => {
      const records: Buffer = decoded.topicData[0].partitionData[0].records;
      const header = readBatchHeader(records, 0);
      expect(header.magic).toBe(2);
      expect(header.recordsCount).toBe(2);
      expect(header.batchLength + 12).toBe(records.length);
      expect(header.attributes & 0x07).toBe(v % 2 === 0 ? GZIP : 0);
      expect(readBatchHeader(decoded.topicData[1].partitionData[0].records, 0).baseSequence).toBe(5);
    },
  },
  {
    api: 'fetch',
    apiKey: 1,
    args: () => ({
      replicaId: -1,
      maxWaitTime: 500,
      minBytes: 1,
      maxBytes: 10485760,
      isolationLevel: 1,
      sessionId: 7,
      sessionEpoch: 3,
      rackId: 'rack-a',
      forgottenTopics: [{ topic: 'gone', partitions: [4, 5] }],
      topics: [
        {
          topic: 'orders',
          partitions: [
            { partition: 1, currentLeaderEpoch: 9, fetchOffset: '42', logStartOffset: '3', maxBytes: 1048576 },
          ],
        },
      ],
    }),
    expected: (v) => ({
      replicaId: -1,
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 10485760,
      isolationLevel: 1,
      sessionId: v >= 7 ? 7 : 0,
      sessionEpoch: v >= 7 ? 3 : -1,
      rackId: v >= 11 ? 'rack-a' : '',
      forgottenTopicsData: v >= 7 ? [{ topic: 'gone', partitions: [4, 5] }] : [],
      topics: [
        {
          topic: 'orders',
          partitions: [
            {
              partition: 1,
              currentLeaderEpoch: v >= 9 ? 9 : -1,
              fetchOffset: 42n,
              logStartOffset: v >= 5 ? 3n : -1n,
              partitionMaxBytes: 1048576,
            },
          ],
        },
      ],
    }),
  },
  {
    api: 'listOffsets',
    apiKey: 2,
    args: () => ({
      replicaId: -1,
      isolationLevel: 1,
      topics: [{ topic: 'orders', partitions: [{ partition: 3, timestamp: -2 }] }],
    }),
    expected: (v) => ({
      replicaId: -1,
      isolationLevel: v >= 2 ? 1 : 0,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 3, timestamp: -2n }] }],
    }),
  },
  {
    api: 'metadata',
    apiKey: 3,
    args: () => ({ topics: ['a', 'b'], allowAutoTopicCreation: false }),
    expected: (v) => ({
      topics: [{ name: 'a' }, { name: 'b' }],
      allowAutoTopicCreation: v < 4, // false as asked from v4; absent before, so the default (true)
    }),
  },
  {
    api: 'offsetCommit',
    apiKey: 8,
    args: () => ({
      groupId: 'g1',
      groupGenerationId: 4,
      memberId: 'm-1',
      retentionTime: -1,
      topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: '100', metadata: 'meta' }] }],
    }),
    expected: () => ({
      groupId: 'g1',
      generationIdOrMemberEpoch: 4,
      memberId: 'm-1',
      topics: [
        { name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 100n, committedMetadata: 'meta' }] },
      ],
    }),
  },
  {
    api: 'offsetFetch',
    apiKey: 9,
    args: () => ({ groupId: 'g1', topics: [{ topic: 'orders', partitions: [{ partition: 0 }, { partition: 1 }] }] }),
    expected: () => ({ groupId: 'g1', topics: [{ name: 'orders', partitionIndexes: [0, 1] }] }),
  },
  {
    api: 'findCoordinator',
    apiKey: 10,
    args: (v) => (v === 0 ? { groupId: 'g1' } : { coordinatorKey: 'g1', coordinatorType: 1 }),
    expected: (v) => ({ key: 'g1', keyType: v >= 1 ? 1 : 0 }),
  },
  {
    api: 'joinGroup',
    apiKey: 11,
    args: () => ({
      groupId: 'g1',
      sessionTimeout: 30000,
      rebalanceTimeout: 60000,
      memberId: '',
      groupInstanceId: 'instance-1',
      protocolType: 'consumer',
      groupProtocols: [{ name: 'RoundRobinAssigner', metadata: Buffer.from([0, 1, 2]) }],
    }),
    expected: (v) => ({
      groupId: 'g1',
      sessionTimeoutMs: 30000,
      rebalanceTimeoutMs: v >= 1 ? 60000 : -1,
      memberId: '',
      groupInstanceId: v >= 5 ? 'instance-1' : null,
      protocolType: 'consumer',
      protocols: [{ name: 'RoundRobinAssigner', metadata: Buffer.from([0, 1, 2]) }],
    }),
  },
  {
    api: 'heartbeat',
    apiKey: 12,
    args: () => ({ groupId: 'g1', groupGenerationId: 5, memberId: 'm-1', groupInstanceId: 'instance-1' }),
    expected: (v) => ({
      groupId: 'g1',
      generationId: 5,
      memberId: 'm-1',
      groupInstanceId: v >= 3 ? 'instance-1' : null,
    }),
  },
  {
    api: 'leaveGroup',
    apiKey: 13,
    args: (v) =>
      v >= 3
        ? { groupId: 'g1', members: [{ memberId: 'm-1', groupInstanceId: 'i-1' }] }
        : { groupId: 'g1', memberId: 'm-1' },
    expected: (v) =>
      v >= 3
        ? { groupId: 'g1', members: [{ memberId: 'm-1', groupInstanceId: 'i-1' }] }
        : { groupId: 'g1', memberId: 'm-1' },
  },
  {
    api: 'syncGroup',
    apiKey: 14,
    args: () => ({
      groupId: 'g1',
      generationId: 6,
      memberId: 'm-1',
      groupInstanceId: 'i-1',
      groupAssignment: [{ memberId: 'm-1', memberAssignment: Buffer.from('assignment') }],
    }),
    expected: (v) => ({
      groupId: 'g1',
      generationId: 6,
      memberId: 'm-1',
      groupInstanceId: v >= 3 ? 'i-1' : null,
      assignments: [{ memberId: 'm-1', assignment: Buffer.from('assignment') }],
    }),
  },
  {
    api: 'describeGroups',
    apiKey: 15,
    args: () => ({ groupIds: ['g1', 'g2'] }),
    expected: () => ({ groups: ['g1', 'g2'] }),
  },
  { api: 'listGroups', apiKey: 16, args: () => ({}), expected: () => ({}) },
  {
    api: 'saslHandshake',
    apiKey: 17,
    args: () => ({ mechanism: 'PLAIN' }),
    expected: () => ({ mechanism: 'PLAIN' }),
  },
  { api: 'apiVersions', apiKey: 18, args: () => ({}), expected: () => ({}) },
  {
    api: 'createTopics',
    apiKey: 19,
    args: () => ({
      topics: [
        {
          topic: 't1',
          numPartitions: 3,
          replicationFactor: 1,
          replicaAssignment: [{ partition: 0, replicas: [1, 2] }],
          configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
        },
      ],
      validateOnly: true,
      timeout: 1234,
    }),
    expected: () => ({
      topics: [
        {
          name: 't1',
          numPartitions: 3,
          replicationFactor: 1,
          assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }],
          configs: [{ name: 'cleanup.policy', value: 'compact' }],
        },
      ],
      timeoutMs: 1234,
      validateOnly: true,
    }),
  },
  {
    api: 'deleteTopics',
    apiKey: 20,
    args: () => ({ topics: ['t1', 't2'], timeout: 999 }),
    expected: () => ({ topicNames: ['t1', 't2'], timeoutMs: 999 }),
  },
  {
    api: 'deleteRecords',
    apiKey: 21,
    args: () => ({ topics: [{ topic: 't1', partitions: [{ partition: 0, offset: '77' }] }], timeout: 100 }),
    expected: () => ({ topics: [{ name: 't1', partitions: [{ partitionIndex: 0, offset: 77n }] }], timeoutMs: 100 }),
  },
  {
    api: 'initProducerId',
    apiKey: 22,
    args: () => ({ transactionalId: 'tx-1', transactionTimeout: 60000 }),
    expected: () => ({ transactionalId: 'tx-1', transactionTimeoutMs: 60000 }),
  },
  {
    api: 'addPartitionsToTxn',
    apiKey: 24,
    args: () => ({
      transactionalId: 'tx-1',
      producerId: '1000',
      producerEpoch: 2,
      topics: [{ topic: 't1', partitions: [0, 3] }],
    }),
    expected: () => ({
      v3AndBelowTransactionalId: 'tx-1',
      v3AndBelowProducerId: 1000n,
      v3AndBelowProducerEpoch: 2,
      v3AndBelowTopics: [{ name: 't1', partitions: [0, 3] }],
    }),
  },
  {
    api: 'addOffsetsToTxn',
    apiKey: 25,
    args: () => ({ transactionalId: 'tx-1', producerId: '1000', producerEpoch: 2, groupId: 'g1' }),
    expected: () => ({ transactionalId: 'tx-1', producerId: 1000n, producerEpoch: 2, groupId: 'g1' }),
  },
  {
    api: 'endTxn',
    apiKey: 26,
    args: () => ({ transactionalId: 'tx-1', producerId: '1000', producerEpoch: 2, transactionResult: true }),
    expected: () => ({ transactionalId: 'tx-1', producerId: 1000n, producerEpoch: 2, committed: true }),
  },
  {
    api: 'txnOffsetCommit',
    apiKey: 28,
    args: () => ({
      transactionalId: 'tx-1',
      groupId: 'g1',
      producerId: '1000',
      producerEpoch: 2,
      topics: [{ topic: 't1', partitions: [{ partition: 1, offset: '50', metadata: null }] }],
    }),
    expected: () => ({
      transactionalId: 'tx-1',
      groupId: 'g1',
      producerId: 1000n,
      producerEpoch: 2,
      topics: [{ name: 't1', partitions: [{ partitionIndex: 1, committedOffset: 50n, committedMetadata: null }] }],
    }),
  },
  {
    api: 'describeAcls',
    apiKey: 29,
    args: () => ({
      resourceType: 2,
      resourceName: 't1',
      resourcePatternType: 3,
      principal: 'User:alice',
      host: '*',
      operation: 3,
      permissionType: 3,
    }),
    expected: () => ({
      resourceTypeFilter: 2,
      resourceNameFilter: 't1',
      patternTypeFilter: 3,
      principalFilter: 'User:alice',
      hostFilter: '*',
      operation: 3,
      permissionType: 3,
    }),
  },
  {
    api: 'createAcls',
    apiKey: 30,
    args: () => ({
      creations: [
        {
          resourceType: 2,
          resourceName: 't1',
          resourcePatternType: 3,
          principal: 'User:bob',
          host: '*',
          operation: 2,
          permissionType: 3,
        },
      ],
    }),
    expected: () => ({
      creations: [
        {
          resourceType: 2,
          resourceName: 't1',
          resourcePatternType: 3,
          principal: 'User:bob',
          host: '*',
          operation: 2,
          permissionType: 3,
        },
      ],
    }),
  },
  {
    api: 'deleteAcls',
    apiKey: 31,
    args: () => ({
      filters: [
        {
          resourceType: 2,
          resourceName: 't1',
          resourcePatternType: 3,
          principal: 'User:bob',
          host: '*',
          operation: 2,
          permissionType: 3,
        },
      ],
    }),
    expected: () => ({
      filters: [
        {
          resourceTypeFilter: 2,
          resourceNameFilter: 't1',
          patternTypeFilter: 3,
          principalFilter: 'User:bob',
          hostFilter: '*',
          operation: 2,
          permissionType: 3,
        },
      ],
    }),
  },
  {
    api: 'describeConfigs',
    apiKey: 32,
    args: () => ({ resources: [{ type: 2, name: 't1', configNames: ['retention.ms'] }], includeSynonyms: true }),
    expected: () => ({
      resources: [{ resourceType: 2, resourceName: 't1', configurationKeys: ['retention.ms'] }],
      includeSynonyms: true,
    }),
  },
  {
    api: 'alterConfigs',
    apiKey: 33,
    args: () => ({
      resources: [{ type: 2, name: 't1', configEntries: [{ name: 'retention.ms', value: '1000' }] }],
      validateOnly: true,
    }),
    expected: () => ({
      resources: [{ resourceType: 2, resourceName: 't1', configs: [{ name: 'retention.ms', value: '1000' }] }],
      validateOnly: true,
    }),
  },
  {
    api: 'saslAuthenticate',
    apiKey: 36,
    args: () => {
      const token = Buffer.from('\0alice\0secret');
      const authBytes = Buffer.alloc(4 + token.length);
      authBytes.writeInt32BE(token.length, 0);
      token.copy(authBytes, 4);
      return { authBytes };
    },
    expected: () => ({ authBytes: Buffer.from('\0alice\0secret') }),
  },
  {
    api: 'createPartitions',
    apiKey: 37,
    args: () => ({
      topicPartitions: [{ topic: 't1', count: 6, assignments: [[1], [2]] }],
      validateOnly: false,
      timeout: 500,
    }),
    expected: () => ({
      topics: [{ name: 't1', count: 6, assignments: [{ brokerIds: [1] }, { brokerIds: [2] }] }],
      timeoutMs: 500,
      validateOnly: false,
    }),
  },
  {
    api: 'deleteGroups',
    apiKey: 42,
    args: () => ['g1', 'g2'],
    expected: () => ({ groupsNames: ['g1', 'g2'] }),
  },
  {
    api: 'alterPartitionReassignments',
    apiKey: 45,
    args: () => ({
      topics: [{ topic: 't1', partitionAssignment: [{ partition: 0, replicas: [1, 2, 3] }] }],
      timeout: 700,
    }),
    expected: () => ({
      timeoutMs: 700,
      topics: [{ name: 't1', partitions: [{ partitionIndex: 0, replicas: [1, 2, 3] }] }],
    }),
  },
  {
    api: 'listPartitionReassignments',
    apiKey: 46,
    args: () => ({ topics: [{ topic: 't1', partitions: [0, 1] }], timeout: 800 }),
    expected: () => ({ timeoutMs: 800, topics: [{ name: 't1', partitionIndexes: [0, 1] }] }),
  },
];

describe('kafkajs requests decode with our codecs', () => {
  it('covers every API kafkajs implements', () => {
    const apis = readdirSync(requestsDir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    expect(cases.map((c) => c.api).sort()).toEqual(apis);
  });

  for (const c of cases) {
    const codec = apiCodecs.get(c.apiKey)!;
    describe(`${c.api} (${codec.name})`, () => {
      for (const v of kafkajsVersions(c.api)) {
        if (v < codec.minVersion || v > codec.maxVersion) {
          // Removed in Kafka 4: not in the specs, so our codec refuses it rather than guessing its layout.
          it(`v${v} is refused (outside the spec's versions ${codec.minVersion}-${codec.maxVersion})`, () => {
            expect(() => codecFor(c.apiKey, v)).toThrow(KafkaError);
          });
          continue;
        }
        it(`v${v}`, async () => {
          const make = require(`${requestsDir}/${c.api}/v${v}/request.js`);
          const request = make(c.args(v));
          expect(request.apiKey).toBe(c.apiKey);
          expect(request.apiVersion).toBe(v);
          let body: Buffer = (await request.encode()).buffer;
          if (codec.flexibleMinVersion !== null && v >= codec.flexibleMinVersion) {
            // kafkajs writes the request header v2 tag section at the start of the body.
            expect(body[0]).toBe(0);
            body = body.subarray(1);
          }
          const decoded = decodeRequestBody(c.apiKey, v, body);
          expect(decoded).toMatchObject(c.expected(v));
          c.check?.(decoded, v);
        });
      }
    });
  }
});
