import type { MessagePort } from 'node:worker_threads';
import type { Logger } from 'pino';
import { kindClass } from '../event/kinds.js';
import type { CompiledFilter } from '../filter/compile.js';
import * as nip45 from '../nips/nip45.js';
import { buildStorage, type BudgetRefusal, type NegStorage } from '../nips/nip77.js';
import { closedFrame, countFrame } from '../protocol/frames.js';
import { reason } from '../protocol/prefixes.js';
import { ReaderPool } from '../store/readers.js';
import type { SharedBudget } from '../worker/shared-budget.js';
import { answerSize, type PackedAnswer, type StoredAnswer } from '../store/stored-answer.js';
import type { Fanout } from '../fanout/fanout.js';
import type { Client, ClientSubscription } from './client.js';
import type { RelayStore } from './relay-store.js';
import type { RelayMetrics } from './metrics.js';

/** What the query side needs from the relay. */
export interface QueryDeps {
  readonly store: RelayStore;
  /** The query reader threads (restart-only) when the store is a file: count 0 = every query inline. */
  readonly readers: QueryReaders;
  /** query.reader_min_limit, read per REQ (reloadable). */
  minLimit(): number;
  now(): number;
  /** Takes a subscription out of the live index (an answer that failed). */
  unsubscribe(subscription: ClientSubscription): void;
  /** Sends a stored answer, EOSE and the live events held meanwhile (src/fanout/). */
  readonly fanout: Fanout;
  readonly metrics: RelayMetrics;
  readonly log: Logger;
}

/**
 * The process's query readers of one database file (ReaderPool): `count` of them, started by this thread's
 * pool or, with `connect`, by the main thread's, reached through ports it hands out (ReaderPool.through).
 */
export interface QueryReaders {
  readonly count: number;
  connect?(index: number): Promise<MessagePort>;
}

/** query.readers as a number: auto = half the connection threads, at least 1. */
export function readerCount(configured: number | 'auto', threads: number): number {
  return configured === 'auto' ? Math.max(1, Math.ceil(threads / 2)) : configured;
}

/**
 * Does this REQ go to a reader thread? When a filter searches (NIP-50), or when the rows its filters can
 * return add up to `minLimit` or more: each filter's limit, or fewer when the store holds at most so many
 * matches (rowBound). Everything else is answered inline: cheap queries cost 0.07–1.5 ms, less than a
 * round trip to a thread (bench/README.md).
 */
export function needsReader(filters: readonly CompiledFilter[], minLimit: number): boolean {
  let rows = 0;
  for (const filter of filters) {
    if (filter.search) return true;
    rows += Math.min(filter.limit, rowBound(filter));
  }
  return rows >= minLimit;
}

/**
 * The most events the store can hold matching `filter`, whatever its limit: one per id; one per author and
 * kind when every kind is replaceable (a profile asked without a limit); one per author, kind and `d` value
 * when every kind is addressable and the `d` values are named. Infinity otherwise.
 */
function rowBound(filter: CompiledFilter): number {
  if (filter.ids) return filter.ids.size;
  const { authors, kinds } = filter;
  if (authors === undefined || kinds === undefined) return Number.POSITIVE_INFINITY;
  let replaceable = 0;
  let addressable = 0;
  for (const kind of kinds) {
    const kindIs = kindClass(kind);
    if (kindIs === 'replaceable') replaceable++;
    else if (kindIs === 'addressable') addressable++;
  }
  if (replaceable === kinds.size) return authors.size * kinds.size;
  const d = addressable === kinds.size ? filter.tags.find(([name]) => name === 'd')?.[1] : undefined;
  return d === undefined ? Number.POSITIVE_INFINITY : authors.size * kinds.size * d.size;
}

/**
 * The stored answers of REQ, COUNT and NEG-OPEN: inline on the main thread, or on a reader thread for
 * the long ones (needsReader; every COUNT and NEG-OPEN set). A REQ's subscription is filed live before
 * its answer is read (src/fanout/ holds what matches meanwhile). An answer whose subscription was closed,
 * replaced or disconnected meanwhile is dropped.
 */
export class Queries {
  private pool: ReaderPool | undefined;
  private readonly underway = new Set<Promise<void>>();

  constructor(private readonly deps: QueryDeps) {
    const location = deps.store.location;
    const { count, connect } = deps.readers;
    if (location === undefined || count === 0) return;
    this.pool = connect ? ReaderPool.through(count, connect) : ReaderPool.start(location.path, count, location.options.cacheKiB);
  }

  /** A port to query reader `index` for another connection thread's pool (ReaderPool.connect); undefined without readers. */
  readerPort(index: number): MessagePort | undefined {
    return this.pool?.connect(index);
  }

  /** Query reader threads this thread started and that run now. */
  get readersStarted(): number {
    return this.pool?.started ?? 0;
  }

  /** Sends the stored events and EOSE of a subscription just registered live; `started`: when the REQ came (metrics). */
  answerReq(subscription: ClientSubscription, started: number): void {
    const { client, subId, filters, framePrefix } = subscription;
    const pool = this.pool;
    if (pool === undefined || !needsReader(filters, this.deps.minLimit())) {
      try {
        return this.sendStored(subscription, this.deps.store.answerFrames(filters, this.deps.now(), framePrefix), started);
      } catch (error) {
        this.deps.unsubscribe(subscription);
        throw error;
      }
    }
    this.track(
      pool.answer(filters, this.deps.now(), framePrefix).then(
        (stored) => {
          if (client.closed || client.subscriptions.get(subId) !== subscription) return; // closed, replaced or gone
          this.sendStored(subscription, stored, started);
        },
        (error: unknown) => {
          if (client.closed || client.subscriptions.get(subId) !== subscription) return;
          client.log.error({ err: error }, 'error while querying on a reader thread');
          this.deps.unsubscribe(subscription);
          client.send(closedFrame(subId, reason('error', 'could not run the query')));
        },
      ),
    );
  }

  /** COUNT (and NIP-45 hll over the counted events' pubkeys when `hllOffset` is set). */
  answerCount(client: Client, subId: string, filters: readonly CompiledFilter[], hllOffset: number | undefined): void {
    const now = this.deps.now();
    const { store } = this.deps;
    const pool = this.pool;
    if (pool === undefined) {
      const hll = hllOffset === undefined ? undefined : nip45.hllHex(store.pubkeys(filters, now), hllOffset);
      return client.send(countFrame(subId, store.count(filters, now), hll));
    }
    const hll = hllOffset === undefined ? undefined : pool.pubkeys(filters, now);
    this.track(
      Promise.all([pool.count(filters, now), hll]).then(
        ([count, pubkeys]) => {
          if (client.closed) return;
          client.send(countFrame(subId, count, pubkeys === undefined ? undefined : nip45.hllHex(pubkeys, hllOffset!)));
        },
        (error: unknown) => {
          if (client.closed) return;
          client.log.error({ err: error }, 'error while counting on a reader thread');
          client.send(closedFrame(subId, reason('error', 'could not count')));
        },
      ),
    );
  }

  /** NIP-77 NEG-OPEN: the set, built on a reader thread when there is one, charged to `budget` as it is read. */
  keys(
    filter: CompiledFilter,
    now: number,
    max: number,
    budget: SharedBudget,
  ): NegStorage | BudgetRefusal | Promise<NegStorage | BudgetRefusal> {
    if (this.pool) return this.pool.keys(filter, now, max, budget);
    return buildStorage(this.deps.store.negentropyKeys(filter, now, max), budget);
  }

  /** Counts `task` among the queries under way (drain waits for it). */
  track(task: Promise<void>): void {
    const tracked: Promise<void> = task
      .catch((error: unknown) => this.deps.log.error({ err: error }, 'error while answering a query'))
      .finally(() => this.underway.delete(tracked));
    this.underway.add(tracked);
  }

  private sendStored(subscription: ClientSubscription, answer: StoredAnswer | PackedAnswer, started: number): void {
    // Counted before the answer leaves: a client that reads /metrics after its EOSE sees it counted.
    this.deps.metrics.reqAnswered(started, answerSize(answer));
    this.deps.fanout.answer(subscription, answer);
  }

  /** Stops the readers now (after drain(), or when the relay could not start). */
  close(): void {
    void this.pool?.close();
    this.pool = undefined;
  }

  /** Waits for the queries under way, then stops the readers; later queries run inline. */
  async drain(): Promise<void> {
    while (this.underway.size > 0) await Promise.allSettled([...this.underway]);
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close();
  }
}
