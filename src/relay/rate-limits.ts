/**
 * The relay's rate limits (`rate_limits:`), built on token buckets (src/policy/rate-limit.ts).
 * The settings are read on every check, so a reloaded config changes the rates at once while the
 * buckets keep their state.
 *
 * No pubkey is exempt (members and NIP-86 allowed pubkeys included): a leaked key or a runaway client
 * is exactly what a per-author budget bounds; operators raise the budget instead. `exempt_ips` lifts
 * only the per-IP limits, for services that post for many users from a few addresses.
 */
import type { Config } from '../config/types.js';
import { kindClass } from '../event/kinds.js';
import type { NostrEvent } from '../event/types.js';
import { describeRate, TokenBuckets, type Rate } from '../policy/rate-limit.js';
import {
  LocalCounts,
  SharedCounts,
  SharedTable,
  SharedTokenBuckets,
  type Counts,
  type SharedTableBuffers,
} from '../policy/shared-buckets.js';
import { reject, type Rejection } from '../protocol/prefixes.js';
import { AddressSet, rateKeyOf } from '../net/ip.js';

export type RateLimitSettings = Config['rate_limits'];

/** What the ingest path asks for one connection's events. */
export interface EventRateLimits {
  /** On arrival, before the signature check: the sender's IP budget. */
  fromIp(): Rejection | undefined;
  /** After the signature check: the author's budget for the event's kind class. */
  byAuthor(event: NostrEvent): Rejection | undefined;
}

/** The tables of the per-IP and per-pubkey limits, shared by every connection thread (server.threads). */
export interface SharedRateLimits {
  readonly ipEvents: SharedTableBuffers;
  readonly authorEvents: SharedTableBuffers;
  readonly ipConnections: SharedTableBuffers;
  readonly openConnections: SharedTableBuffers;
}

/** `threads`: the connection threads that count open connections in them (a column each). */
export function allocateSharedRateLimits(threads: number): SharedRateLimits {
  return {
    ipEvents: SharedTable.allocate(),
    authorEvents: SharedTable.allocate(),
    ipConnections: SharedTable.allocate(),
    openConnections: SharedTable.allocate(SharedTable.DEFAULT_SLOTS, threads),
  };
}

/** A connection thread died: the connections it had open no longer count against their IPs. */
export function releaseOpenConnections(shared: SharedRateLimits, thread: number): void {
  new SharedTable(shared.openConnections).clearColumn(thread);
}

interface Buckets {
  take(key: string, rate: Rate, nowMs: number): boolean;
  forget(key: string): void;
}

export class RateLimits {
  private readonly ipEvents: Buckets;
  private readonly authorEvents: Buckets;
  private readonly ipConnections: Buckets;
  /** Per connection: a connection lives on one thread, so these stay the thread's own. */
  private readonly connectionQueries = new TokenBuckets();
  /** Open connections per IP key. */
  private readonly open: Counts;
  private exempt: { list: readonly string[]; set: AddressSet } | undefined;

  constructor(
    private readonly settings: () => RateLimitSettings,
    /** The clock in milliseconds. */
    private readonly nowMs: () => number = Date.now,
    /** server.threads: the per-IP and per-pubkey state every thread shares, and this thread's row; absent = this relay's own. */
    shared?: { tables: SharedRateLimits; row: number },
  ) {
    const buckets = (buffers: SharedTableBuffers | undefined): Buckets =>
      buffers === undefined ? new TokenBuckets() : new SharedTokenBuckets(new SharedTable(buffers));
    this.ipEvents = buckets(shared?.tables.ipEvents);
    this.authorEvents = buckets(shared?.tables.authorEvents);
    this.ipConnections = buckets(shared?.tables.ipConnections);
    this.open = shared === undefined ? new LocalCounts() : new SharedCounts(new SharedTable(shared.tables.openConnections), shared.row);
  }

  /** For an upgrade request: refused when the IP has too many connections open or opened too many lately. */
  admitConnection(ip: string): Rejection | undefined {
    const { max_connections_per_ip: max, connections_per_ip: rate } = this.settings();
    if ((max === null && rate === null) || this.isExempt(ip)) return undefined;
    const key = rateKeyOf(ip);
    if (max !== null && this.open.get(key) >= max) {
      return reject('rate-limited', `too many connections: at most ${max} open at once from one IP; close one first`);
    }
    if (rate !== null && !this.ipConnections.take(key, rate, this.nowMs())) {
      return reject(
        'rate-limited',
        `too many new connections: at most ${describeRate(rate, 'new connections')} from one IP; wait and reconnect`,
      );
    }
    return undefined;
  }

  connectionOpened(ip: string): void {
    this.open.add(rateKeyOf(ip), 1, this.nowMs());
  }

  connectionClosed(ip: string, connectionId: number): void {
    this.open.add(rateKeyOf(ip), -1, this.nowMs());
    this.connectionQueries.forget(String(connectionId));
  }

  /** REQ, COUNT and NEG-OPEN share one budget per connection. */
  query(connectionId: number): Rejection | undefined {
    const rate = this.settings().queries_per_connection;
    if (rate === null || this.connectionQueries.take(String(connectionId), rate, this.nowMs())) return undefined;
    return reject('rate-limited', `slow down: at most ${describeRate(rate, 'REQ, COUNT and NEG-OPEN messages')} on one connection`);
  }

  /** The event checks for one connection from `ip`. */
  events(ip: string): EventRateLimits {
    return {
      fromIp: () => this.eventFromIp(ip),
      byAuthor: (event) => this.eventByAuthor(event),
    };
  }

  /** An EVENT (or an AUTH: both cost a signature check) from `ip`. */
  eventFromIp(ip: string): Rejection | undefined {
    const rate = this.settings().events_per_ip;
    if (rate === null || this.isExempt(ip) || this.ipEvents.take(rateKeyOf(ip), rate, this.nowMs())) return undefined;
    return slowDown(rate, 'events', 'IP');
  }

  private eventByAuthor(event: NostrEvent): Rejection | undefined {
    const kind = kindClass(event.kind);
    const rate = this.settings().events_per_pubkey[kind];
    if (rate === null || this.authorEvents.take(`${kind}:${event.pubkey}`, rate, this.nowMs())) return undefined;
    return slowDown(rate, `${kind} events`, 'pubkey');
  }

  /** Is `ip` in rate_limits.exempt_ips? */
  isExempt(ip: string): boolean {
    const list = this.settings().exempt_ips;
    if (list.length === 0) return false;
    if (this.exempt?.list !== list) this.exempt = { list, set: new AddressSet(list) };
    return this.exempt.set.has(ip);
  }
}

function slowDown(rate: Rate, what: string, from: string): Rejection {
  return reject('rate-limited', `slow down: at most ${describeRate(rate, what)} from one ${from}`);
}
