/**
 * A running broker: wires configuration, storage, the topic catalogue, the handlers and the listener, and owns
 * start-up and shutdown. Shutdown is graceful: stop accepting, answer what is in flight, flush every partition,
 * close storage (which writes the clean-shutdown marker).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { setCrc32cAccelerator } from '../protocol/records/crc32c.js';
import { LogManager } from '../storage/log-manager.js';
import { AdminServer } from './admin/admin-server.js';
import { collectGroupLag, type GroupsView, groupsViewFrom } from './admin/groups-view.js';
import { packageVersion } from './admin/version.js';
import type { BrokerContext } from './broker-context.js';
import type { BrokerConfig } from './config.js';
import type { ClientInfo } from './connection.js';
import { Dispatcher } from './dispatcher.js';
import { FetchWaiters } from './fetch-waiters.js';
import type { GroupCoordinator } from './groups/group-coordinator.js';
import { openGroupCoordinator } from './groups/open-coordinator.js';
import type { ApiHandler } from './handler.js';
import { loadHandlers } from './handlers/index.js';
import { loadOrCreateMetaProperties } from './meta-properties.js';
import { BrokerMetrics } from './metrics.js';
import { PartitionRegistry } from './partition-registry.js';
import { preallocationDefault } from './preallocation-default.js';
import type { SendCounters } from './response-writer.js';
import { type SendPath, selectSendPath } from './send-path.js';
import { KafkaServer } from './server.js';
import { TopicRegistry } from './topic-registry.js';

export class Broker implements BrokerContext {
  readonly nodeId: number;
  readonly handlers: ReadonlyMap<number, ApiHandler>;
  readonly metrics: BrokerMetrics;
  readonly sendCounters: SendCounters = { zeroCopyBytes: 0, copiedBytes: 0 };
  closing = false;
  private server: KafkaServer | null = null;
  private listening: { host: string; port: number } | null = null;
  // --- admin API (issue 6) ---
  /** The HTTP admin server, null when admin.port is -1. */
  admin: AdminServer | null = null;
  /** Set by the group coordinator (setGroupsView); the admin group views and the lag gauge read it. */
  groupsView: GroupsView | null = null;

  private constructor(
    readonly config: BrokerConfig,
    readonly log: Logger,
    readonly dataDir: string,
    readonly clusterId: string,
    readonly topics: TopicRegistry,
    readonly logs: LogManager,
    readonly partitions: PartitionRegistry,
    readonly sendPath: SendPath,
    readonly fetchWaiters: FetchWaiters,
    readonly groups: GroupCoordinator,
  ) {
    this.nodeId = config.number('node.id');
    this.handlers = loadHandlers();
    this.metrics = new BrokerMetrics({
      ioEngine: () => {
        const s = this.logs.engine.stats();
        return {
          name: this.logs.engineName,
          reason: this.logs.engineReason,
          inFlight: s.inFlight,
          submitted: s.submitted,
          completed: s.completed,
        };
      },
      fetchPath: () => ({ name: this.sendPath.name, reason: this.sendPath.reason }),
      connections: () => this.server?.connectionCount ?? 0,
      sendCounters: () => this.sendCounters,
      removals: () => this.logs.removalStats(),
      partitions: () =>
        this.partitions.all().map((p) => ({
          topic: p.topic,
          partition: p.partition,
          logEndOffset: p.log.logEndOffset,
          sizeBytes: p.log.sizeInBytes,
          segments: p.log.segments.length,
          offline: p.log.offlineError !== null,
        })),
    });
    this.metrics.gauge(
      'berth_consumer_group_lag',
      "Records between a group's committed offset and the high watermark, per partition.",
      ['group', 'topic', 'partition'],
      (g) => collectGroupLag(g, this.groupsView, this.partitions),
    );
  }

  /** Opens storage and the catalogue (recovering after an unclean stop) and starts listening. */
  static async start(config: BrokerConfig, log: Logger): Promise<Broker> {
    const dataDir = resolve(config.string('log.dirs'));
    mkdirSync(dataDir, { recursive: true });
    // The admin API comes up first so /healthz answers during recovery; /readyz turns 200 once attached.
    const adminPort = config.number('admin.port');
    const admin =
      adminPort < 0
        ? null
        : await AdminServer.start({ host: config.string('host'), port: adminPort, log, version: packageVersion() });
    try {
      const broker = await Broker.load(config, log, dataDir);
      broker.admin = admin;
      admin?.attach(broker);
      return broker;
    } catch (err) {
      await admin?.close();
      throw err;
    }
  }

  private static async load(config: BrokerConfig, log: Logger, dataDir: string): Promise<Broker> {
    const meta = loadOrCreateMetaProperties(dataDir, config.number('node.id'));
    const sendPath = await selectSendPath(config.string('fetch.path'), log);
    if (sendPath.crc32c) setCrc32cAccelerator(sendPath.crc32c);
    preallocationDefault(config, dataDir, log);
    const topics = await TopicRegistry.open(join(dataDir, '__berth_metadata'));
    const engineLog = { info: (m: string) => log.info(m), warn: (m: string) => log.warn(m) };
    const logs = await LogManager.open({
      dataDir,
      ioEngine: config.string('io.engine') as 'auto' | 'uring' | 'sync',
      logger: engineLog,
      defaultConfig: config.topicDefaults(),
      topicConfig: (topic) => topics.get(topic)?.configs,
      background: { retentionCheckMs: config.number('log.retention.check.interval.ms') },
      deletion: {
        chunkBytes: config.number('log.file.delete.chunk.bytes'),
        intervalMs: config.number('log.file.delete.chunk.interval.ms'),
      },
    });
    log.info(
      { engine: logs.engineName, reason: logs.engineReason, cleanShutdown: logs.hadCleanShutdown },
      `storage engine: ${logs.engineName}`,
    );
    const fetchWaiters = new FetchWaiters();
    const partitions = new PartitionRegistry(
      topics,
      logs,
      config,
      (m) => log.warn(m),
      (topic, p) => fetchWaiters.notifyPartition(topic, p),
    );
    await partitions.load();
    const groups = await openGroupCoordinator(join(dataDir, '__berth_metadata'), config, log, topics);
    const broker = new Broker(
      config,
      log,
      dataDir,
      meta.clusterId,
      topics,
      logs,
      partitions,
      sendPath,
      fetchWaiters,
      groups,
    );
    broker.setGroupsView(groupsViewFrom(groups));
    await broker.listen();
    return broker;
  }

  get port(): number {
    if (!this.listening) throw new Error('broker is not listening');
    return this.listening.port;
  }

  get host(): string {
    if (!this.listening) throw new Error('broker is not listening');
    return this.listening.host;
  }

  advertisedEndpoint(client: ClientInfo | null): { host: string; port: number } {
    const advertised = this.config.optionalString('advertised.listeners');
    if (advertised) {
      const m = /^(?:[A-Za-z_]+:\/\/)?\[?([^\]]*?)\]?:(\d+)$/.exec(advertised.split(',')[0].trim());
      if (m) return { host: m[1], port: Number(m[2]) };
    }
    const bound = this.listening?.host ?? '127.0.0.1';
    const wildcard = bound === '0.0.0.0' || bound === '::';
    const host = wildcard ? (client?.localAddress ?? '127.0.0.1') : bound;
    return { host: host.startsWith('::ffff:') ? host.slice(7) : host, port: this.port };
  }

  // --- admin API (issue 6) ---
  /** The admin API's bound port, or -1 when it is disabled. */
  get adminPort(): number {
    return this.admin?.port ?? -1;
  }

  get connectionCount(): number {
    return this.server?.connectionCount ?? 0;
  }

  /** The group coordinator registers its read-only view here (admin /v1/groups and berth_consumer_group_lag). */
  setGroupsView(view: GroupsView | null): void {
    this.groupsView = view;
  }

  /** Graceful shutdown; safe to call twice. */
  async stop(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.fetchWaiters.close();
    // Parked JoinGroup/SyncGroup requests are answered first, so that closing the server does not wait on them.
    this.groups.beginShutdown();
    await this.server?.close();
    await this.groups.close();
    await this.partitions.snapshotProducers();
    await this.logs.close();
    await this.topics.close();
    await this.admin?.close();
    this.log.info('broker stopped');
  }

  private async listen(): Promise<void> {
    const c = this.config;
    this.server = new KafkaServer({
      host: c.string('host'),
      port: c.number('port'),
      maxConnections: c.number('max.connections'),
      maxConnectionsPerIp: c.number('max.connections.per.ip'),
      limits: {
        maxRequestBytes: c.number('socket.request.max.bytes'),
        maxInFlight: c.number('queued.max.requests.per.connection'),
        maxQueuedResponseBytes: c.number('queued.max.response.bytes.per.connection'),
        idleMs: c.number('connections.max.idle.ms'),
        frameTimeoutMs: c.number('request.frame.timeout.ms'),
      },
      dispatch: new Dispatcher(this, this.handlers).dispatch,
      zeroCopySend: this.sendPath.send,
      counters: this.sendCounters,
      log: this.log,
    });
    this.listening = await this.server.listen();
    this.log.info(
      { host: this.listening.host, port: this.listening.port, dataDir: this.dataDir, clusterId: this.clusterId },
      'broker listening',
    );
  }
}
