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

/**
 * A histogram's counts in cells: per bucket bound (and +Inf), then the sum and the count. Each thread
 * observes into its own row; reads sum the rows (server.threads).
 */
export class Buckets {
  constructor(
    readonly bounds: readonly number[],
    private readonly cells: MetricCells,
    /** Where its cells start in a row. */
    private readonly at: number,
  ) {}

  /** Cells one histogram takes in a row. */
  static width(bounds: readonly number[]): number {
    return bounds.length + 3;
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.cells.add(this.at + i, 1);
    this.cells.add(this.at + bounds.length + 1, value);
    this.cells.add(this.at + bounds.length + 2, 1);
  }

  /** Observations per bucket (not cumulative), +Inf last, over every thread. */
  get counts(): Float64Array {
    return Float64Array.from({ length: this.bounds.length + 1 }, (_, i) => this.cells.total(this.at + i));
  }

  get sum(): number {
    return this.cells.total(this.at + this.bounds.length + 1);
  }

  get count(): number {
    return this.cells.total(this.at + this.bounds.length + 2);
  }
}

/** Numbers in a Float64Array of rows: this thread adds to its row, reads sum every row. */
class MetricCells {
  private readonly cells: Float64Array;
  private readonly rows: number;
  private readonly base: number;

  constructor(
    buffer: SharedArrayBuffer | ArrayBuffer,
    row: number,
    private readonly width: number,
  ) {
    this.cells = new Float64Array(buffer);
    this.rows = this.cells.length / width;
    this.base = row * width;
  }

  add(cell: number, delta: number): void {
    this.cells[this.base + cell]! += delta;
  }

  total(cell: number): number {
    let sum = 0;
    for (let row = 0; row < this.rows; row++) sum += this.cells[row * this.width + cell]!;
    return sum;
  }
}

export type PruneCause = 'max_age' | 'max_per_pubkey' | 'max_total';

/** The plain counters' cells in a row, then the events by result and kind class, then the histograms. */
const CELL = { connectionsOpened: 0, subscriptionsOpened: 1, storedSent: 2, liveEventsSent: 3, slowConsumers: 4, prunedExpired: 5 };
const EVENTS_AT = 6;
const OK_AT = EVENTS_AT + EVENT_RESULTS.length * KIND_CLASSES.length;
const EOSE_AT = OK_AT + Buckets.width(LATENCY_BUCKETS);
const BATCH_AT = EOSE_AT + Buckets.width(LATENCY_BUCKETS);
const COMMIT_AT = BATCH_AT + Buckets.width(BATCH_BUCKETS);
const ROW_WIDTH = COMMIT_AT + Buckets.width(LATENCY_BUCKETS);

/**
 * The relay's numbers for GET /metrics. With server.threads every connection thread counts into its own
 * row of cells in a SharedArrayBuffer (CountingMetrics.cellsFor), and the exporter, on the main thread,
 * reads the sums. Pruning runs on the main thread only, so its counts by rule stay there.
 */
export class CountingMetrics implements RelayMetrics {
  private readonly cells: MetricCells;
  readonly okSeconds: Buckets;
  readonly eoseSeconds: Buckets;
  readonly batchEvents: Buckets;
  readonly commitSeconds: Buckets;
  readonly prunedByRule: Record<PruneCause, number>[] = [];

  constructor(buffer: SharedArrayBuffer | ArrayBuffer = CountingMetrics.cellsFor(1, false), row = 0) {
    this.cells = new MetricCells(buffer, row, ROW_WIDTH);
    this.okSeconds = new Buckets(LATENCY_BUCKETS, this.cells, OK_AT);
    this.eoseSeconds = new Buckets(LATENCY_BUCKETS, this.cells, EOSE_AT);
    this.batchEvents = new Buckets(BATCH_BUCKETS, this.cells, BATCH_AT);
    this.commitSeconds = new Buckets(LATENCY_BUCKETS, this.cells, COMMIT_AT);
  }

  /** Cells for `threads` rows (shared between threads unless `shared` is false). */
  static cellsFor(threads: number, shared = true): SharedArrayBuffer | ArrayBuffer {
    const bytes = threads * ROW_WIDTH * Float64Array.BYTES_PER_ELEMENT;
    return shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  }

  get connectionsOpened(): number {
    return this.cells.total(CELL.connectionsOpened);
  }
  get subscriptionsOpened(): number {
    return this.cells.total(CELL.subscriptionsOpened);
  }
  get storedSent(): number {
    return this.cells.total(CELL.storedSent);
  }
  get liveEventsSent(): number {
    return this.cells.total(CELL.liveEventsSent);
  }
  get slowConsumers(): number {
    return this.cells.total(CELL.slowConsumers);
  }
  get prunedExpired(): number {
    return this.cells.total(CELL.prunedExpired);
  }

  clock(): number {
    return performance.now();
  }

  connectionOpened(): void {
    this.cells.add(CELL.connectionsOpened, 1);
  }

  subscriptionOpened(): void {
    this.cells.add(CELL.subscriptionsOpened, 1);
  }

  eventAnswered(result: EventResult, input: unknown, startedMs: number): void {
    const kind = (input as { kind?: unknown } | null)?.kind;
    const kindIndex = typeof kind === 'number' && Number.isInteger(kind) && kind >= 0 ? CLASS_INDEX[kindClass(kind)] : UNKNOWN_CLASS;
    this.cells.add(EVENTS_AT + RESULT_INDEX[result] * KIND_CLASSES.length + kindIndex, 1);
    this.okSeconds.observe((performance.now() - startedMs) / 1000);
  }

  reqAnswered(startedMs: number, events: number): void {
    this.eoseSeconds.observe((performance.now() - startedMs) / 1000);
    this.cells.add(CELL.storedSent, events);
  }

  liveSent(events: number): void {
    this.cells.add(CELL.liveEventsSent, events);
  }

  slowConsumerClosed(): void {
    this.cells.add(CELL.slowConsumers, 1);
  }

  batchCommitted(events: number, ms: number): void {
    this.batchEvents.observe(events);
    this.commitSeconds.observe(ms / 1000);
  }

  pruned(report: PruneReport): void {
    this.cells.add(CELL.prunedExpired, report.expired);
    report.rules.forEach((counts, i) => {
      const total = (this.prunedByRule[i] ??= { max_age: 0, max_per_pubkey: 0, max_total: 0 });
      total.max_age += counts.max_age;
      total.max_per_pubkey += counts.max_per_pubkey;
      total.max_total += counts.max_total;
    });
  }

  /** EVENTs answered with `result` whose kind is of this class. */
  eventsWith(result: EventResult, kind: KindClass | 'unknown'): number {
    return this.cells.total(EVENTS_AT + RESULT_INDEX[result] * KIND_CLASSES.length + CLASS_INDEX[kind]);
  }
}
