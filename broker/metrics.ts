/**
 * The broker's Prometheus metrics (prom-client), on a registry of its own so that several brokers can live in one
 * process (tests, embedding). Names start with `berth_`. Gauges that mirror state are collected at scrape time.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface MetricsSources {
  ioEngine(): { name: string; reason: string | null; inFlight: number; submitted: number; completed: number };
  fetchPath(): { name: string; reason: string | null };
  connections(): number;
  sendCounters(): { zeroCopyBytes: number; copiedBytes: number };
  /** Deleted segments and partitions still on disk (storage/file-remover.ts), and bytes removed so far. */
  removals(): { pending: number; bytesRemoved: number };
  partitions(): Array<{
    topic: string;
    partition: number;
    logEndOffset: number;
    sizeBytes: number;
    segments: number;
    /** The log is offline for writes after a disk error. */
    offline?: boolean;
  }>;
}

/**
 * Counts kept in plain numbers and handed to their prom-client counter when it is collected (a scrape or get()).
 * Why: a labelled prom-client update validates and hashes its labels on every call, several times per Produce
 * request; the sums scraped are the same.
 */
class PendingSums<K> {
  private readonly sums = new Map<K, { labels: Record<string, string | number>; n: number }>();

  add(key: K, n: number, labels: () => Record<string, string | number>): void {
    const e = this.sums.get(key);
    if (e) e.n += n;
    else this.sums.set(key, { labels: labels(), n });
  }

  /** Hands every sum to `counter` and starts again from 0 (the entries stay: the same keys come back). */
  flush(counter: Counter<string>): void {
    for (const e of this.sums.values()) {
      if (e.n === 0) continue;
      counter.inc(e.labels, e.n);
      e.n = 0;
    }
  }

  delete(key: K): void {
    this.sums.delete(key);
  }
}

/** A counter's collect() that hands it what `pending` summed since the last collection. */
function flushOnCollect(pending: { flush(counter: Counter<string>): void }) {
  return function (this: Counter<string>): void {
    pending.flush(this);
  };
}

/** An unlabelled count kept the same way. */
class PendingCount {
  n = 0;

  flush(counter: Counter<string>): void {
    if (this.n > 0) counter.inc(this.n);
    this.n = 0;
  }
}

export class BrokerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'api' | 'version'>;
  readonly requestErrors: Counter<'api' | 'version' | 'error'>;
  readonly requestLatency: Histogram<'api'>;
  readonly bytesIn: Counter;
  readonly bytesOut: Counter;
  readonly produceLatency: Histogram<'acks'>;
  readonly fetchLatency: Histogram;
  readonly recordsIn: Counter<'topic'>;
  /** Per-request counts, summed until collected (PendingSums); updated by countRequest, countBytesIn/Out and
   *  countRecordsIn. */
  private readonly pendingRequests = new PendingSums<string>();
  private readonly pendingRecordsIn = new PendingSums<string>();
  private readonly pendingBytesIn = new PendingCount();
  private readonly pendingBytesOut = new PendingCount();

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'berth_process_' });
    const latencyBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];
    this.requests = new Counter({
      name: 'berth_requests_total',
      help: 'Requests received, by API and version.',
      labelNames: ['api', 'version'],
      registers,
      collect: flushOnCollect(this.pendingRequests),
    });
    this.requestErrors = new Counter({
      name: 'berth_request_errors_total',
      help: 'Error codes returned, by API, version and Kafka error name.',
      labelNames: ['api', 'version', 'error'],
      registers,
    });
    this.requestLatency = new Histogram({
      name: 'berth_request_latency_seconds',
      help: 'Time from a request frame arriving to its response being queued.',
      labelNames: ['api'],
      buckets: latencyBuckets,
      registers,
    });
    this.bytesIn = new Counter({
      name: 'berth_bytes_in_total',
      help: 'Request bytes received.',
      registers,
      collect: flushOnCollect(this.pendingBytesIn),
    });
    this.bytesOut = new Counter({
      name: 'berth_bytes_out_total',
      help: 'Response bytes sent.',
      registers,
      collect: flushOnCollect(this.pendingBytesOut),
    });
    this.produceLatency = new Histogram({
      name: 'berth_produce_latency_seconds',
      help: 'Produce request latency by acks.',
      labelNames: ['acks'],
      buckets: latencyBuckets,
      registers,
    });
    this.fetchLatency = new Histogram({
      name: 'berth_fetch_latency_seconds',
      help: 'Fetch request latency, long-poll wait included.',
      buckets: latencyBuckets,
      registers,
    });
    this.recordsIn = new Counter({
      name: 'berth_records_in_total',
      help: 'Records appended, by topic.',
      labelNames: ['topic'],
      registers,
      collect: flushOnCollect(this.pendingRecordsIn),
    });
    new Gauge({
      name: 'berth_io_engine',
      help: 'The append engine in use (1 for the active one), and why a fallback was taken.',
      labelNames: ['engine', 'reason'],
      registers,
      collect() {
        const e = sources.ioEngine();
        this.reset();
        this.set({ engine: e.name, reason: e.reason ?? '' }, 1);
      },
    });
    new Gauge({
      name: 'berth_io_uring_in_flight',
      help: 'Storage operations submitted and not yet completed.',
      registers,
      collect() {
        this.set(sources.ioEngine().inFlight);
      },
    });
    new Gauge({
      name: 'berth_fetch_path',
      help: 'The fetch send path in use (1 for the active one), and why a fallback was taken.',
      labelNames: ['path', 'reason'],
      registers,
      collect() {
        const p = sources.fetchPath();
        this.reset();
        this.set({ path: p.name, reason: p.reason ?? '' }, 1);
      },
    });
    new Gauge({
      name: 'berth_fetch_bytes_sent',
      help: 'Record bytes sent to consumers, by send path (zerocopy or copy). A counter kept as a gauge.',
      labelNames: ['path'],
      registers,
      collect() {
        const c = sources.sendCounters();
        this.set({ path: 'zerocopy' }, c.zeroCopyBytes);
        this.set({ path: 'copy' }, c.copiedBytes);
      },
    });
    new Gauge({
      name: 'berth_log_delete_pending',
      help: 'Deleted segment files and partition directories not yet removed from disk (removed in the background).',
      registers,
      collect() {
        this.set(sources.removals().pending);
      },
    });
    new Gauge({
      name: 'berth_log_deleted_bytes',
      help: 'Bytes of deleted segments and partitions removed from disk. A counter kept as a gauge.',
      registers,
      collect() {
        this.set(sources.removals().bytesRemoved);
      },
    });
    new Gauge({
      name: 'berth_connections',
      help: 'Open client connections.',
      registers,
      collect() {
        this.set(sources.connections());
      },
    });
    const partitionLabels = ['topic', 'partition'] as const;
    const perPartition = (
      name: string,
      help: string,
      pick: (p: ReturnType<MetricsSources['partitions']>[0]) => number,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: partitionLabels,
        registers,
        collect() {
          this.reset();
          for (const p of sources.partitions()) this.set({ topic: p.topic, partition: String(p.partition) }, pick(p));
        },
      });
    new Gauge({
      name: 'berth_offline_partitions',
      help: 'Partitions offline for writes after a disk error (Kafka: OfflinePartitionsCount, for one broker).',
      registers,
      collect() {
        this.set(sources.partitions().filter((p) => p.offline === true).length);
      },
    });
    perPartition('berth_partition_log_end_offset', 'Log end offset per partition.', (p) => p.logEndOffset);
    perPartition('berth_partition_size_bytes', 'Bytes on disk per partition.', (p) => p.sizeBytes);
    perPartition('berth_partition_segments', 'Segments per partition.', (p) => p.segments);
  }

  /** A deleted topic's series go with it (a topic created and deleted over and over must not grow the registry). */
  forgetTopic(topic: string): void {
    this.pendingRecordsIn.delete(topic);
    this.recordsIn.remove({ topic });
  }

  /** berth_requests_total{api, version} += 1 (version: a served version, or 'unsupported'). */
  countRequest(api: string, version: number | 'unsupported'): void {
    this.pendingRequests.add(`${api}/${version}`, 1, () => ({ api, version }));
  }

  countBytesIn(n: number): void {
    this.pendingBytesIn.n += n;
  }

  countBytesOut(n: number): void {
    this.pendingBytesOut.n += n;
  }

  /** berth_records_in_total{topic} += n. */
  countRecordsIn(topic: string, n: number): void {
    this.pendingRecordsIn.add(topic, n, () => ({ topic }));
  }

  /** A gauge family added by another module (groups register their lag gauge here). */
  gauge(name: string, help: string, labelNames: string[], collect: (g: Gauge<string>) => void): Gauge<string> {
    return new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        collect(this);
      },
    });
  }
}
