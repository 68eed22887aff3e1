/**
 * What a relay counts for `GET /metrics` (metrics.enabled; src/server/metrics.ts turns it into the
 * Prometheus text format at scrape time).
 *
 * The relay calls a RelayMetrics at the places it keeps RelayCounters. With metrics off that is
 * NO_METRICS: empty methods, no clock read. With metrics on it is CountingMetrics: plain numbers and
 * bucket arrays, about 15 ns a call. prom-client's own labelled children hash and validate their labels
 * on every call (0.6–0.9 µs each here, bench/README.md "Metrics"), too much for three calls per event;
 * so prom-client only reads these numbers when Prometheus scrapes.
 */
import { kindClass, type KindClass } from '../event/kinds.js';
import { PREFIXES, type Prefix } from '../protocol/prefixes.js';
import type { PruneReport } from '../retention/pass.js';

/** How an EVENT was answered: accepted (stored, or an ephemeral event delivered) or the refusal's prefix. */
export type EventResult = 'stored' | 'ephemeral' | Prefix;

export interface RelayMetrics {
  /** A start time in milliseconds for a latency (0 when metrics are off: the clock is not read). */
  clock(): number;
  connectionOpened(): void;
  subscriptionOpened(): void;
  /** An EVENT's answer (OK or, without a readable id, NOTICE): `input` is the event as received. */
  eventAnswered(result: EventResult, input: unknown, startedMs: number): void;
  /** A REQ's EOSE was sent after `events` stored events. */
  reqAnswered(startedMs: number, events: number): void;
  /** Live events queued to subscribers (after EOSE). */
  liveSent(events: number): void;
  /** A connection closed because it did not read what it asked for fast enough. */
  slowConsumerClosed(): void;
  /** One writer transaction of `events` events that took `ms` to commit. */
  batchCommitted(events: number, ms: number): void;
  /** One retention pass. */
  pruned(report: PruneReport): void;
}

const nothing = (): void => {};

/** Metrics off. */
export const NO_METRICS: RelayMetrics = {
  clock: () => 0,
  connectionOpened: nothing,
  subscriptionOpened: nothing,
  eventAnswered: nothing,
  reqAnswered: nothing,
  liveSent: nothing,
  slowConsumerClosed: nothing,
  batchCommitted: nothing,
  pruned: nothing,
};

export const EVENT_RESULTS: readonly EventResult[] = ['stored', 'ephemeral', ...PREFIXES];
/** Kind classes as labels; `unknown` when the event had no readable kind. */
export const KIND_CLASSES: readonly (KindClass | 'unknown')[] = ['regular', 'replaceable', 'ephemeral', 'addressable', 'unknown'];
const RESULT_INDEX = Object.fromEntries(EVENT_RESULTS.map((result, i) => [result, i])) as Record<EventResult, number>;
const CLASS_INDEX = Object.fromEntries(KIND_CLASSES.map((name, i) => [name, i])) as Record<KindClass | 'unknown', number>;
const UNKNOWN_CLASS = KIND_CLASSES.length - 1;

/** Upper bounds in seconds for latencies (Prometheus `le`). */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
export const BATCH_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] as const;

/** One histogram's observations: counts per bucket (not cumulative; the last one is +Inf), sum and count. */
export class Buckets {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** Why the pruner deleted an event under a rule. */
export type PruneCause = 'max_age' | 'max_per_pubkey' | 'max_total';

/** Metrics on: the numbers of one site, read by the exporter. */
export class CountingMetrics implements RelayMetrics {
  connectionsOpened = 0;
  subscriptionsOpened = 0;
  /** EVENT answers, at [result * KIND_CLASSES.length + kind class] (EVENT_RESULTS order). */
  readonly events = new Float64Array(EVENT_RESULTS.length * KIND_CLASSES.length);
  readonly okSeconds = new Buckets(LATENCY_BUCKETS);
  readonly eoseSeconds = new Buckets(LATENCY_BUCKETS);
  storedSent = 0;
  liveEventsSent = 0;
  slowConsumers = 0;
  readonly batchEvents = new Buckets(BATCH_BUCKETS);
  readonly commitSeconds = new Buckets(LATENCY_BUCKETS);
  prunedExpired = 0;
  /** Per rule index, deletions by cause. */
  readonly prunedByRule: Record<PruneCause, number>[] = [];

  clock(): number {
    return performance.now();
  }

  connectionOpened(): void {
    this.connectionsOpened++;
  }

  subscriptionOpened(): void {
    this.subscriptionsOpened++;
  }

  eventAnswered(result: EventResult, input: unknown, startedMs: number): void {
    const kind = (input as { kind?: unknown } | null)?.kind;
    const kindIndex = typeof kind === 'number' && Number.isInteger(kind) && kind >= 0 ? CLASS_INDEX[kindClass(kind)] : UNKNOWN_CLASS;
    this.events[RESULT_INDEX[result] * KIND_CLASSES.length + kindIndex]!++;
    this.okSeconds.observe((performance.now() - startedMs) / 1000);
  }

  reqAnswered(startedMs: number, events: number): void {
    this.eoseSeconds.observe((performance.now() - startedMs) / 1000);
    this.storedSent += events;
  }

  liveSent(events: number): void {
    this.liveEventsSent += events;
  }

  slowConsumerClosed(): void {
    this.slowConsumers++;
  }

  batchCommitted(events: number, ms: number): void {
    this.batchEvents.observe(events);
    this.commitSeconds.observe(ms / 1000);
  }

  pruned(report: PruneReport): void {
    this.prunedExpired += report.expired;
    report.rules.forEach((counts, i) => {
      const total = (this.prunedByRule[i] ??= { max_age: 0, max_per_pubkey: 0, max_total: 0 });
      total.max_age += counts.max_age;
      total.max_per_pubkey += counts.max_per_pubkey;
      total.max_total += counts.max_total;
    });
  }

  /** EVENTs answered with `result` whose kind is of this class. */
  eventsWith(result: EventResult, kind: KindClass | 'unknown'): number {
    return this.events[RESULT_INDEX[result] * KIND_CLASSES.length + CLASS_INDEX[kind]]!;
  }
}
