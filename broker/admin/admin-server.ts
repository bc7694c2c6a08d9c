/**
 * The HTTP admin API (fastify) on `admin.port`: Prometheus metrics, liveness and readiness, read-only JSON views of
 * the broker, its topics and its groups, and the OpenAPI document of all of it at /docs.
 *
 * It starts before storage is loaded, so that /healthz answers during a long recovery while /readyz says 503
 * ("starting") until the broker is attached (storage loaded, Kafka listener up); it says 503 ("stopping") again
 * once shutdown begins. Group views need the group coordinator (an optional GroupsView): without it they answer 503.
 */
import { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, fastify, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { Broker } from '../broker.js';
import { offsetsWithLag } from './groups-view.js';
import { buildOpenApiDocument, type RouteDoc } from './openapi.js';
import {
  brokerSchema,
  errorSchema,
  groupDetailSchema,
  groupListSchema,
  healthSchema,
  metricsTextSchema,
  topicDetailSchema,
  topicListSchema,
} from './schemas.js';

const docsSchema = {
  type: 'object',
  required: ['openapi', 'info', 'paths'],
  properties: {
    openapi: { type: 'string' },
    info: { type: 'object', additionalProperties: true },
    paths: { type: 'object', additionalProperties: true },
  },
} as const;

const notFound = { description: 'No such resource.', schema: errorSchema };
const unavailable = { description: 'Not available yet (starting, or no group coordinator).', schema: errorSchema };

/** Every route: the fastify registrations and the OpenAPI document both come from this table. */
export const adminRoutes: readonly RouteDoc[] = [
  {
    method: 'GET',
    url: '/healthz',
    summary: 'Liveness: the process is up and serving HTTP.',
    responses: { 200: { description: 'Alive.', schema: healthSchema } },
  },
  {
    method: 'GET',
    url: '/readyz',
    summary: 'Readiness: storage is loaded and the Kafka listener is up.',
    responses: {
      200: { description: 'Ready.', schema: healthSchema },
      503: { description: 'Starting or stopping.', schema: healthSchema },
    },
  },
  {
    method: 'GET',
    url: '/metrics',
    summary: 'Prometheus metrics (text exposition format).',
    responses: { 200: { description: 'Metrics.', schema: metricsTextSchema, text: true }, 503: unavailable },
  },
  {
    method: 'GET',
    url: '/v1/broker',
    summary: 'This broker: ids, listener, engines, counts.',
    responses: { 200: { description: 'The broker.', schema: brokerSchema }, 503: unavailable },
  },
  {
    method: 'GET',
    url: '/v1/topics',
    summary: 'Topics with partition counts and sizes.',
    responses: { 200: { description: 'Topics.', schema: topicListSchema }, 503: unavailable },
  },
  {
    method: 'GET',
    url: '/v1/topics/:name',
    summary: 'One topic: configs and per-partition offsets and sizes.',
    responses: { 200: { description: 'The topic.', schema: topicDetailSchema }, 404: notFound, 503: unavailable },
  },
  {
    method: 'GET',
    url: '/v1/groups',
    summary: 'Consumer groups (needs the group coordinator).',
    responses: { 200: { description: 'Groups.', schema: groupListSchema }, 503: unavailable },
  },
  {
    method: 'GET',
    url: '/v1/groups/:id',
    summary: 'One group: members, assignments, committed offsets and lag per partition.',
    responses: { 200: { description: 'The group.', schema: groupDetailSchema }, 404: notFound, 503: unavailable },
  },
  {
    method: 'GET',
    url: '/docs',
    summary: 'This OpenAPI 3 document.',
    responses: { 200: { description: 'OpenAPI document.', schema: docsSchema } },
  },
];

export interface AdminServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  log: Logger;
  version: string;
}

type Handler = (params: Record<string, string>, reply: FastifyReply) => unknown;

export class AdminServer {
  private broker: Broker | null = null;
  private readonly app: FastifyInstance;
  private readonly startedAt = Date.now();
  private boundPort = -1;

  private constructor(private readonly opts: AdminServerOptions) {
    this.app = fastify({
      loggerInstance: opts.log.child({ component: 'admin' }) as FastifyBaseLogger,
      logController: new LogController({ disableRequestLogging: true }),
    });
    const document = buildOpenApiDocument(adminRoutes, opts.version);
    const handlers: Record<string, Handler> = {
      '/healthz': () => ({ status: 'ok' }),
      '/readyz': (_p, reply) => {
        const b = this.broker;
        if (b && !b.closing) return { status: 'ok' };
        return reply.code(503).send({ status: b ? 'stopping' : 'starting' });
      },
      '/metrics': async (_p, reply) => {
        const b = this.requireBroker(reply);
        if (!b) return reply;
        const text = await b.metrics.registry.metrics();
        return reply.type(b.metrics.registry.contentType).send(text);
      },
      '/v1/broker': (_p, reply) => {
        const b = this.requireBroker(reply);
        return b ? this.brokerView(b) : reply;
      },
      '/v1/topics': (_p, reply) => {
        const b = this.requireBroker(reply);
        return b ? { topics: this.topicSummaries(b) } : reply;
      },
      '/v1/topics/:name': (p, reply) => {
        const b = this.requireBroker(reply);
        if (!b) return reply;
        return this.topicDetail(b, p.name) ?? error(reply, 404, 'NOT_FOUND', `no topic "${p.name}"`);
      },
      '/v1/groups': (_p, reply) => {
        const b = this.requireBroker(reply);
        if (!b) return reply;
        if (!b.groupsView) return noCoordinator(reply);
        return { groups: b.groupsView.listGroups() };
      },
      '/v1/groups/:id': (p, reply) => {
        const b = this.requireBroker(reply);
        if (!b) return reply;
        if (!b.groupsView) return noCoordinator(reply);
        const detail = b.groupsView.describeGroup(p.id);
        if (!detail) return error(reply, 404, 'NOT_FOUND', `no group "${p.id}"`);
        return { ...detail, offsets: offsetsWithLag(b.partitions, detail) };
      },
      '/docs': () => document,
    };
    for (const route of adminRoutes) {
      const handler = handlers[route.url];
      const response: Record<number, object> = {};
      for (const [status, r] of Object.entries(route.responses)) if (!r.text) response[Number(status)] = r.schema;
      this.app.route({
        method: route.method,
        url: route.url,
        schema: { response },
        handler: (req, reply) => handler(req.params as Record<string, string>, reply),
      });
    }
    this.app.setNotFoundHandler((req, reply) => error(reply, 404, 'NOT_FOUND', `no route ${req.method} ${req.url}`));
  }

  /** Binds the port; the views answer 503 until attach(). */
  static async start(opts: AdminServerOptions): Promise<AdminServer> {
    const server = new AdminServer(opts);
    await server.app.listen({ host: opts.host, port: opts.port });
    const address = server.app.server.address();
    server.boundPort = typeof address === 'object' && address ? address.port : opts.port;
    server.app.log.info({ host: opts.host, port: server.boundPort }, 'admin API listening');
    return server;
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    return this.boundPort;
  }

  /** The broker is loaded and listening: views and readiness go live. */
  attach(broker: Broker): void {
    this.broker = broker;
  }

  async close(): Promise<void> {
    await this.app.close();
  }

  private requireBroker(reply: FastifyReply): Broker | null {
    if (this.broker) return this.broker;
    error(reply, 503, 'UNAVAILABLE', 'the broker is starting');
    return null;
  }

  private brokerView(b: Broker) {
    return {
      nodeId: b.nodeId,
      clusterId: b.clusterId,
      version: this.opts.version,
      listener: { host: b.host, port: b.port },
      adminPort: this.boundPort,
      dataDir: b.dataDir,
      ioEngine: { name: b.logs.engineName, reason: b.logs.engineReason ?? null },
      fetchPath: { name: b.sendPath.name, reason: b.sendPath.reason ?? null },
      connections: b.connectionCount,
      topics: b.topics.list().length,
      partitions: b.partitions.all().length,
      uptimeSeconds: (Date.now() - this.startedAt) / 1000,
    };
  }

  private topicSummaries(b: Broker) {
    return b.topics
      .list()
      .map((t) => {
        let sizeBytes = 0;
        for (let p = 0; p < t.partitions; p++) sizeBytes += b.partitions.get(t.name, p)?.log.sizeInBytes ?? 0;
        return { name: t.name, topicId: t.topicId, partitions: t.partitions, internal: t.internal, sizeBytes };
      })
      .sort((x, y) => x.name.localeCompare(y.name));
  }

  private topicDetail(b: Broker, name: string) {
    const t = b.topics.get(name);
    if (!t) return null;
    const partitions = [];
    for (let p = 0; p < t.partitions; p++) {
      const h = b.partitions.get(name, p);
      if (!h) continue;
      partitions.push({
        partition: p,
        leader: b.nodeId,
        leaderEpoch: h.leaderEpoch,
        logStartOffset: h.log.logStartOffset,
        highWatermark: h.log.writtenOffset,
        sizeBytes: h.log.sizeInBytes,
        segments: h.log.segments.length,
      });
    }
    return {
      name: t.name,
      topicId: t.topicId,
      internal: t.internal,
      configs: b.partitions.effectiveConfigs(name),
      overrides: { ...t.configs },
      partitions,
    };
  }
}

function error(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).send({ error: code, message });
}

function noCoordinator(reply: FastifyReply): FastifyReply {
  return error(reply, 503, 'UNAVAILABLE', 'group views need the group coordinator, which this broker does not run yet');
}
