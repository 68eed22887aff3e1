/**
 * GET /metrics: the relay's numbers in the Prometheus text format, read when Prometheus scrapes. The
 * relay keeps plain counts (src/relay/metrics.ts CountingMetrics, CounterValues); prom-client names,
 * formats and escapes them here, and adds Node's own process metrics (CPU, memory, event-loop lag, GC).
 * Loaded only when metrics.enabled, so a relay without metrics never loads prom-client.
 */
import { statSync } from 'node:fs';
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';
import { EVENT_RESULTS, KIND_CLASSES, type Buckets, type CountingMetrics } from '../relay/metrics.js';
import type { CounterField, CounterValues, RelayCounters } from '../relay/counters.js';

/** What the exporter reads of one site (virtual relay). */
export interface MetricsSite {
  /** Its `site` label: the first host name, or `default` for the top-level config; undefined = no label (no hosts:). */
  readonly label: string | undefined;
  readonly metrics: CountingMetrics;
  readonly counters: CounterValues & Pick<RelayCounters, 'byThread'>;
  /** Its database file; ':memory:' has no file. */
  readonly databasePath: string;
}

/** Process-wide numbers. */
export interface MetricsProcess {
  /** Signatures posted to the verifier pool and not answered yet. */
  verifyQueueDepth(): number;
  /** Config reloads applied and refused. */
  readonly reloads: { readonly applied: number; readonly refused: number };
  /** server.threads: connection threads started again after they died. */
  connectionThreadRestarts(): number;
  /** The WebSocket server that runs, e.g. "uWebSockets.js 20.57.0". */
  readonly server: string;
  readonly version: string;
}

export const CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

type Labels = Record<string, string>;
type Emit = (labels: Labels, value: number) => void;

/** Node's process metrics, set up once per process (they install observers that are never removed). */
let processMetrics: Registry | undefined;

/** The registry every scrape reads: the relay's metrics over `sites`, and the process metrics. */
export function metricsRegistry(sites: readonly MetricsSite[], process: MetricsProcess): Registry {
  const registry = new Registry();
  const labelled = sites.some((site) => site.label !== undefined);
  const siteLabels = labelled ? ['site'] : [];
  const labelsOf = (site: MetricsSite, extra: Labels = {}): Labels => (site.label === undefined ? extra : { site: site.label, ...extra });
  const perSite = (read: (site: MetricsSite, emit: Emit) => void) => (emit: Emit) => {
    for (const site of sites) read(site, (labels, value) => emit(labelsOf(site, labels), value));
  };

  const counter = (name: string, help: string, labelNames: string[], read: (emit: Emit) => void): void => {
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        read((labels, value) => this.inc(labels, value));
      },
    });
  };
  const gauge = (name: string, help: string, labelNames: string[], read: (emit: Emit) => void): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        read((labels, value) => this.set(labels, value));
      },
    });
  };
  const histogram = (name: string, help: string, pick: (metrics: CountingMetrics) => Buckets): void => {
    registry.registerMetric(
      new ScrapedHistogram(name, help, () => sites.map((site) => [labelsOf(site), pick(site.metrics)])) as unknown as Metric,
    );
  };

  /** A counter of the page's, by connection thread (server.threads). */
  const byThread = (name: string, what: string, field: CounterField): void =>
    gauge(
      name,
      `${what}, by connection thread (server.threads; 0 = the main thread).`,
      [...siteLabels, 'thread'],
      perSite((site, emit) => {
        for (const [thread, value] of site.counters.byThread(field).entries()) emit({ thread: String(thread) }, value);
      }),
    );

  gauge(
    'commons_connections',
    'WebSocket connections open now.',
    siteLabels,
    perSite((site, emit) => emit({}, site.counters.connections)),
  );
  byThread('commons_thread_connections', 'WebSocket connections open now', 'connections');
  counter(
    'commons_connections_opened_total',
    'WebSocket connections opened.',
    siteLabels,
    perSite((site, emit) => emit({}, site.metrics.connectionsOpened)),
  );
  gauge(
    'commons_subscriptions',
    'REQ subscriptions open now.',
    siteLabels,
    perSite((site, emit) => emit({}, site.counters.subscriptions)),
  );
  byThread('commons_thread_subscriptions', 'REQ subscriptions open now', 'subscriptions');
  counter(
    'commons_subscriptions_opened_total',
    'REQ subscriptions opened.',
    siteLabels,
    perSite((site, emit) => emit({}, site.metrics.subscriptionsOpened)),
  );
  counter(
    'commons_events_received_total',
    'EVENT messages received.',
    siteLabels,
    perSite((site, emit) => emit({}, site.counters.eventsReceived)),
  );
  counter(
    'commons_events_accepted_total',
    'EVENTs accepted as new: stored, or (ephemeral) delivered live.',
    [...siteLabels, 'kind_class'],
    perSite((site, emit) => {
      for (const kind of KIND_CLASSES) {
        const accepted = site.metrics.eventsWith('stored', kind) + site.metrics.eventsWith('ephemeral', kind);
        if (accepted > 0) emit({ kind_class: kind }, accepted);
      }
    }),
  );
  counter(
    'commons_events_refused_total',
    'EVENTs not accepted as new, by the prefix of the answer (duplicate: also when OK is true) and kind class.',
    [...siteLabels, 'reason', 'kind_class'],
    perSite((site, emit) => {
      for (const result of EVENT_RESULTS) {
        if (result === 'stored' || result === 'ephemeral') continue;
        for (const kind of KIND_CLASSES) {
          const count = site.metrics.eventsWith(result, kind);
          if (count > 0) emit({ reason: result, kind_class: kind }, count);
        }
      }
    }),
  );
  histogram('commons_event_ok_seconds', 'From an EVENT received to its OK sent.', (metrics) => metrics.okSeconds);
  histogram('commons_req_eose_seconds', 'From a REQ received to its EOSE sent.', (metrics) => metrics.eoseSeconds);
  counter(
    'commons_events_sent_total',
    'Events sent to subscribers: stored (in REQ answers, before EOSE) or live.',
    [...siteLabels, 'source'],
    perSite((site, emit) => {
      emit({ source: 'stored' }, site.metrics.storedSent);
      emit({ source: 'live' }, site.metrics.liveEventsSent);
    }),
  );
  counter(
    'commons_slow_consumer_disconnects_total',
    'Connections closed (1008) for not reading fast enough (limits.max_outbound_bytes).',
    siteLabels,
    perSite((site, emit) => emit({}, site.metrics.slowConsumers)),
  );
  histogram('commons_writer_batch_events', 'Events per write transaction.', (metrics) => metrics.batchEvents);
  histogram(
    'commons_writer_commit_seconds',
    'Time to commit one write transaction (with a writer thread: the round trip to it).',
    (metrics) => metrics.commitSeconds,
  );
  counter(
    'commons_pruned_events_total',
    'Events deleted by the retention pruner, by rule (its index in retention, or "expired" for NIP-40 expiration and ephemeral keep) and cause.',
    [...siteLabels, 'rule', 'cause'],
    perSite((site, emit) => {
      if (site.metrics.prunedExpired > 0) emit({ rule: 'expired', cause: 'expired' }, site.metrics.prunedExpired);
      site.metrics.prunedByRule.forEach((counts, index) => {
        for (const [cause, count] of Object.entries(counts)) if (count > 0) emit({ rule: String(index), cause }, count);
      });
    }),
  );
  gauge(
    'commons_database_bytes',
    'Size of the SQLite database file.',
    siteLabels,
    perSite((site, emit) => emitSize(site.databasePath, emit)),
  );
  gauge(
    'commons_database_wal_bytes',
    'Size of the SQLite write-ahead log (-wal file).',
    siteLabels,
    perSite((site, emit) => emitSize(`${site.databasePath}-wal`, emit)),
  );
  gauge('commons_verify_queue_depth', 'Signatures waiting for a verification worker.', [], (emit) => emit({}, process.verifyQueueDepth()));
  counter(
    'commons_config_reloads_total',
    'Config reloads (SIGHUP, file change), applied or refused (invalid file, conflicting change).',
    ['result'],
    (emit) => {
      emit({ result: 'applied' }, process.reloads.applied);
      emit({ result: 'refused' }, process.reloads.refused);
    },
  );
  counter('commons_connection_thread_restarts_total', 'Connection threads (server.threads) started again after they died.', [], (emit) =>
    emit({}, process.connectionThreadRestarts()),
  );
  gauge('commons_build_info', 'Always 1: the relay version and the WebSocket server that runs.', ['version', 'server'], (emit) =>
    emit({ version: process.version, server: process.server }, 1),
  );

  if (processMetrics === undefined) {
    // Event-loop delay sampled every 100 ms: the default 10 ms woke an idle relay 100 times a second
    // (0.6 % of a core here); a stall long enough to matter is still seen.
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics, eventLoopMonitoringPrecision: 100 });
  }
  return Registry.merge([registry, processMetrics]);
}

/** A file's size in bytes; nothing when it does not exist (':memory:', no WAL yet). */
function emitSize(path: string, emit: Emit): void {
  if (path.startsWith(':memory:')) return;
  try {
    emit({}, statSync(path).size);
  } catch {
    // absent
  }
}

/**
 * A histogram whose observations are counted elsewhere (Buckets): prom-client's Histogram can only be fed
 * one observation at a time, so this hands the registry the same shape its Histogram.get() returns.
 */
class ScrapedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly series: () => [Labels, Buckets][],
  ) {}

  async get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: { metricName: string; labels: Labels; value: number }[];
  }> {
    const values: { metricName: string; labels: Labels; value: number }[] = [];
    for (const [labels, buckets] of this.series()) {
      let cumulative = 0;
      buckets.bounds.forEach((bound, i) => {
        cumulative += buckets.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: String(bound) }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: buckets.count });
      values.push({ metricName: `${this.name}_sum`, labels, value: buckets.sum });
      values.push({ metricName: `${this.name}_count`, labels, value: buckets.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {}
}
