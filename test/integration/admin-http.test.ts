/**
 * The HTTP admin API against a real broker: every route answers with the shape its OpenAPI schema (served at /docs)
 * documents, /metrics parses and its counters move with traffic, readiness, 404/503 answers, and group views.
 */
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminServer } from '../../broker/admin/admin-server.js';
import type { RunningBroker } from '../../broker/index.js';
import { silentLogger } from '../../broker/logger.js';
import type { KafkaClient } from '../../cli/kafka-client.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { CreateTopics } from '../../protocol/generated/create-topics.js';
import { DeleteTopics } from '../../protocol/generated/delete-topics.js';
import { OffsetCommit } from '../../protocol/generated/offset-commit.js';
import { Produce } from '../../protocol/generated/produce.js';
import { encodeRecordBatch } from '../../protocol/records/encode-batch.js';
import { connectClient, startTestBroker } from '../helpers/broker.js';

interface OpenApiDoc {
  openapi: string;
  paths: Record<string, { get: { responses: Record<string, { content: Record<string, { schema: object }> }> } }>;
}

/** Parses the Prometheus text format into sample name{labels} -> value. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    out.set(m[1], Number(m[2]));
  }
  return out;
}

describe('admin HTTP API', () => {
  let broker: RunningBroker;
  let client: KafkaClient;
  let base: string;
  let doc: OpenApiDoc;
  const ajv = new Ajv({ strict: false, allErrors: true });

  async function get(path: string): Promise<{ status: number; body: unknown; type: string }> {
    const res = await fetch(base + path);
    const type = res.headers.get('content-type') ?? '';
    const body = type.includes('json') ? await res.json() : await res.text();
    return { status: res.status, body, type };
  }

  /** Fetches and checks the reply against the schema /docs gives for this path and status. */
  async function getValid(path: string, docPath: string, expectedStatus = 200) {
    const r = await get(path);
    expect(r.status).toBe(expectedStatus);
    const responses = doc.paths[docPath]?.get.responses;
    expect(responses, `${docPath} is documented`).toBeDefined();
    const content = responses[String(expectedStatus)]?.content;
    expect(content, `${docPath} documents status ${expectedStatus}`).toBeDefined();
    const schema = (content['application/json'] ?? content['text/plain']).schema;
    const validate = ajv.compile(schema);
    if (!validate(r.body)) throw new Error(`${path}: ${ajv.errorsText(validate.errors)}`);
    return r.body as Record<string, unknown>;
  }

  beforeAll(async () => {
    broker = await startTestBroker({ config: { 'admin.port': 0 } });
    base = `http://127.0.0.1:${broker.broker.adminPort}`;
    client = await connectClient(broker);
    const created = await client.request(CreateTopics, {
      topics: [
        { name: 'payments', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] },
        {
          name: 'audit',
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: [{ name: 'retention.ms', value: '3600000' }],
        },
      ],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(created.topics.map((t) => t.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.NONE]);
    doc = (await get('/docs')).body as OpenApiDoc;
  });

  afterAll(async () => {
    client?.close();
    await broker?.stop();
  });

  async function produce(topic: string, partition: number, n: number) {
    const records = encodeRecordBatch({
      records: Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `v${i}`, timestamp: 1_700_000_000_000n })),
    });
    const res = await client.request(
      Produce,
      {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5000,
        topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
      },
      12,
    );
    expect(res.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
  }

  it('serves an OpenAPI 3 document that lists every route with a response schema', () => {
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of [
      '/healthz',
      '/readyz',
      '/metrics',
      '/v1/broker',
      '/v1/topics',
      '/v1/topics/{name}',
      '/v1/groups',
      '/v1/groups/{id}',
      '/docs',
    ]) {
      const responses = doc.paths[path]?.get.responses;
      expect(responses, path).toBeDefined();
      expect(Object.values(responses['200'].content)[0].schema, path).toBeTypeOf('object');
    }
  });

  it('answers /healthz and /readyz', async () => {
    expect(await getValid('/healthz', '/healthz')).toEqual({ status: 'ok' });
    expect(await getValid('/readyz', '/readyz')).toEqual({ status: 'ok' });
  });

  it('describes the broker', async () => {
    const b = await getValid('/v1/broker', '/v1/broker');
    expect(b.nodeId).toBe(1);
    expect(b.listener).toEqual({ host: '127.0.0.1', port: broker.port });
    expect(b.adminPort).toBe(broker.broker.adminPort);
    expect(b.topics).toBe(2);
    expect(b.partitions).toBe(4);
    expect(b.connections).toBeGreaterThanOrEqual(1);
  });

  it('lists topics and describes one with offsets that follow produces', async () => {
    await produce('payments', 1, 5);
    const list = await getValid('/v1/topics', '/v1/topics');
    expect((list.topics as Array<{ name: string; partitions: number }>).map((t) => [t.name, t.partitions])).toEqual([
      ['audit', 1],
      ['payments', 3],
    ]);
    const t = await getValid('/v1/topics/payments', '/v1/topics/{name}');
    const parts = t.partitions as Array<{ partition: number; highWatermark: number; logStartOffset: number }>;
    expect(parts.map((p) => p.highWatermark)).toEqual([0, 5, 0]);
    expect(parts.every((p) => p.logStartOffset === 0)).toBe(true);
    const audit = await getValid('/v1/topics/audit', '/v1/topics/{name}');
    expect(audit.overrides).toEqual({ 'retention.ms': '3600000' });
    expect((audit.configs as Record<string, string>)['retention.ms']).toBe('3600000');
    expect((audit.configs as Record<string, string>)['segment.bytes']).toBeDefined();
  });

  it('answers 404 with the documented error shape', async () => {
    const e = await getValid('/v1/topics/nope', '/v1/topics/{name}', 404);
    expect(e.error).toBe('NOT_FOUND');
    expect((await get('/v2/whatever')).status).toBe(404);
  });

  it("serves the coordinator's groups, with committed offsets and lag", async () => {
    await produce('payments', 0, 10);
    // A commit outside group management (generation -1, no member) creates an Empty group with offsets, as in Kafka.
    const commit = await client.request(
      OffsetCommit,
      {
        groupId: 'billing',
        generationIdOrMemberEpoch: -1,
        memberId: '',
        groupInstanceId: null,
        topics: [
          { name: 'payments', partitions: [{ partitionIndex: 0, committedOffset: 4n, committedMetadata: 'm' }] },
        ],
      },
      9, // v10+ names topics by id
    );
    expect(commit.topics[0].partitions[0].errorCode).toBe(ErrorCode.NONE);
    const list = await getValid('/v1/groups', '/v1/groups');
    expect(list.groups).toContainEqual(expect.objectContaining({ groupId: 'billing', state: 'Empty', members: 0 }));
    const g = await getValid('/v1/groups/billing', '/v1/groups/{id}');
    expect(g.offsets).toContainEqual({
      topic: 'payments',
      partition: 0,
      committedOffset: 4,
      logEndOffset: 10,
      lag: 6,
      metadata: 'm',
    });
    await getValid('/v1/groups/other', '/v1/groups/{id}', 404);
    const metrics = parseMetrics((await get('/metrics')).body as string);
    expect(metrics.get('berth_consumer_group_lag{group="billing",topic="payments",partition="0"}')).toBe(6);
  });

  it('answers 503 for groups when no coordinator is attached', async () => {
    const view = broker.broker.groupsView;
    broker.broker.setGroupsView(null);
    try {
      const e = await getValid('/v1/groups', '/v1/groups', 503);
      expect(e.error).toBe('UNAVAILABLE');
      await getValid('/v1/groups/g1', '/v1/groups/{id}', 503);
    } finally {
      broker.broker.setGroupsView(view);
    }
  });

  it('serves Prometheus metrics whose counters move with traffic', async () => {
    const r = await get('/metrics');
    expect(r.status).toBe(200);
    expect(r.type).toContain('text/plain');
    const before = parseMetrics(r.body as string);
    const produceCount = (m: Map<string, number>) =>
      [...m].filter(([k]) => k.startsWith('berth_requests_total{api="Produce"')).reduce((s, [, v]) => s + v, 0);
    await produce('payments', 2, 3);
    await produce('payments', 2, 4);
    const after = parseMetrics((await get('/metrics')).body as string);
    expect(produceCount(after) - produceCount(before)).toBe(2);
    expect(after.get('berth_bytes_in_total')!).toBeGreaterThan(before.get('berth_bytes_in_total')!);
    expect(
      after.get('berth_records_in_total{topic="payments"}')! -
        (before.get('berth_records_in_total{topic="payments"}') ?? 0),
    ).toBe(7);
    expect(after.get('berth_partition_log_end_offset{topic="payments",partition="2"}')).toBe(7);
    expect(after.get('berth_connections')).toBeGreaterThanOrEqual(1);
    expect([...after.keys()].some((k) => k.startsWith('berth_io_engine{'))).toBe(true);
    expect([...after.keys()].some((k) => k.startsWith('berth_produce_latency_seconds_bucket{'))).toBe(true);
  });

  it("drops a deleted topic's series", async () => {
    const created = await client.request(CreateTopics, {
      topics: [{ name: 'short-lived', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(created.topics[0].errorCode).toBe(ErrorCode.NONE);
    await produce('short-lived', 0, 2);
    const series = (m: Map<string, number>) => [...m.keys()].filter((k) => k.includes('topic="short-lived"'));
    expect(series(parseMetrics((await get('/metrics')).body as string))).toContain(
      'berth_records_in_total{topic="short-lived"}',
    );
    const deleted = await client.request(DeleteTopics, { topicNames: ['short-lived'], timeoutMs: 5000 }, 5);
    expect(deleted.responses[0].errorCode).toBe(ErrorCode.NONE);
    expect(series(parseMetrics((await get('/metrics')).body as string))).toEqual([]);
  });
});

describe('admin HTTP API lifecycle', () => {
  it('is disabled with admin.port -1 and readiness turns 503 while stopping', async () => {
    const off = await startTestBroker({ config: { 'admin.port': -1 } });
    expect(off.broker.adminPort).toBe(-1);
    await off.stop();

    const b = await startTestBroker({ config: { 'admin.port': 0 } });
    const url = `http://127.0.0.1:${b.broker.adminPort}/readyz`;
    expect((await fetch(url)).status).toBe(200);
    b.broker.closing = true; // what stop() sets first; readiness must follow it
    const res = await fetch(url);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'stopping' });
    b.broker.closing = false;
    await b.stop();
    await expect(fetch(url)).rejects.toThrow();
  });

  it('answers liveness but not readiness while the broker is still loading', async () => {
    const admin = await AdminServer.start({ host: '127.0.0.1', port: 0, log: silentLogger(), version: '0.0.0' });
    try {
      const url = (p: string) => `http://127.0.0.1:${admin.port}${p}`;
      expect((await fetch(url('/healthz'))).status).toBe(200);
      const ready = await fetch(url('/readyz'));
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'starting' });
      for (const p of ['/metrics', '/v1/broker', '/v1/topics', '/v1/topics/x', '/v1/groups']) {
        const r = await fetch(url(p));
        expect(r.status, p).toBe(503);
        expect(await r.json(), p).toEqual({ error: 'UNAVAILABLE', message: 'the broker is starting' });
      }
      expect((await fetch(url('/docs'))).status).toBe(200);
    } finally {
      await admin.close();
    }
  });
});
