import type { Logger } from 'pino';
import type { CompiledFilter } from '../filter/compile.js';
import * as nip45 from '../nips/nip45.js';
import { buildStorage, type BudgetRefusal, type NegStorage } from '../nips/nip77.js';
import { closedFrame, countFrame, eoseFrame } from '../protocol/frames.js';
import { reason } from '../protocol/prefixes.js';
import { ReaderPool } from '../store/readers.js';
import type { SharedBudget } from '../worker/shared-budget.js';
import type { Client, ClientSubscription } from './client.js';
import type { RelayStore } from './relay-store.js';
import type { RelayMetrics } from './metrics.js';

/** What the query side needs from the relay. */
export interface QueryDeps {
  readonly store: RelayStore;
  /** query.readers (restart-only) when the store is a file; 0 = every query inline. */
  readonly readers: number;
  /** query.reader_min_limit, read per REQ (reloadable). */
  minLimit(): number;
  now(): number;
  /** Takes a subscription out of the live index (an answer that failed). */
  unsubscribe(subscription: ClientSubscription): void;
  /** Stored JSON of the events the writer thread is committing: delivered live once it has. */
  readonly underway: ReadonlySet<string>;
  readonly metrics: RelayMetrics;
  readonly log: Logger;
}

/**
 * Does this REQ go to a reader thread? When a filter searches (NIP-50), or when the filters' limits add
 * up to `minLimit` or more (an `ids` filter counts at most one row per id). Everything else is answered
 * inline: cheap queries cost 0.07–1.5 ms, less than a round trip to a thread (bench/README.md).
 */
export function needsReader(filters: readonly CompiledFilter[], minLimit: number): boolean {
  let rows = 0;
  for (const filter of filters) {
    if (filter.search) return true;
    rows += filter.ids ? Math.min(filter.ids.size, filter.limit) : filter.limit;
  }
  return rows >= minLimit;
}

/**
 * The stored answers of REQ, COUNT and NEG-OPEN: inline on the main thread, or on a reader thread for
 * the long ones (needsReader; every COUNT and NEG-OPEN set). A REQ sent to a reader is registered live
 * first; live events matched meanwhile are held on the subscription and sent after EOSE, minus those
 * already in the stored answer, so no event falls between the two and none arrives twice. An answer
 * whose subscription was closed, replaced or disconnected meanwhile is dropped.
 */
export class Queries {
  private pool: ReaderPool | undefined;
  private readonly underway = new Set<Promise<void>>();

  constructor(private readonly deps: QueryDeps) {
    const location = deps.store.location;
    if (location !== undefined && deps.readers > 0) this.pool = new ReaderPool(location.path, deps.readers);
  }

  /** Sends the stored events and EOSE of a subscription just registered live; `started`: when the REQ came (metrics). */
  answerReq(subscription: ClientSubscription, started: number): void {
    const { client, subId, filters } = subscription;
    const pool = this.pool;
    if (pool === undefined || !needsReader(filters, this.deps.minLimit())) {
      try {
        return this.sendStored(subscription, this.deps.store.query(filters, this.deps.now()), started);
      } catch (error) {
        this.deps.unsubscribe(subscription);
        throw error;
      }
    }
    subscription.held = [];
    this.track(
      pool.query(filters, this.deps.now()).then(
        (stored) => {
          if (client.closed || client.subscriptions.get(subId) !== subscription) return; // closed, replaced or gone
          this.sendStored(subscription, stored, started);
        },
        (error: unknown) => {
          subscription.held = undefined;
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

  private sendStored(subscription: ClientSubscription, stored: readonly string[], started: number): void {
    const live = sendStored(subscription, stored, this.deps.underway);
    this.deps.metrics.reqAnswered(started, stored.length);
    if (live > 0) this.deps.metrics.liveSent(live);
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

/**
 * The stored events, EOSE, then the live events held meanwhile that the stored answer did not carry.
 * Stored events still `underway` on the writer thread are remembered, so their live delivery skips
 * this subscription. Returns how many held live events were sent.
 */
function sendStored(subscription: ClientSubscription, stored: readonly string[], underway: ReadonlySet<string>): number {
  const { client, framePrefix, subId } = subscription;
  const held = subscription.held;
  subscription.held = undefined;
  if (underway.size > 0) {
    for (const json of stored) if (underway.has(json)) (subscription.sentStored ??= new Set()).add(json);
  }
  let live = 0;
  client.batch(() => {
    for (const json of stored) client.send(`${framePrefix}${json}]`);
    client.send(eoseFrame(subId));
    if (held === undefined || held.length === 0) return;
    const sent = new Set(stored);
    for (const json of held) {
      if (sent.has(json)) continue;
      client.send(`${framePrefix}${json}]`);
      live++;
    }
  });
  return live;
}
