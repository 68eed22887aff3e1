/**
 * Token buckets for rate limits. A rate `N/period` ("20/10s") is a bucket of N tokens (the burst)
 * refilled at N per period; each action takes one token, and an empty bucket refuses.
 *
 * Pure: the clock (milliseconds) is passed in, and memory is bounded — at most `maxBuckets` buckets
 * (+10% before a sweep), the least recently used evicted first, so a client rotating IPs or pubkeys cannot grow the map.
 * An evicted bucket had gone unused longer than every kept one; it comes back full, which is what an
 * idle bucket refills to anyway.
 */
import { formatDuration, parseDuration } from '../config/duration.js';
import { integer, parsed } from '../config/rows.js';
import type { Parser } from '../config/values.js';
import { parseAddressList } from '../net/ip.js';

export interface Rate {
  /** Tokens a full bucket holds: the most actions allowed in a burst. */
  readonly count: number;
  /** Seconds in which an empty bucket refills completely. */
  readonly seconds: number;
}

const RATE = /^(\d+)\s*\/\s*(\d*)\s*([smhdwy])$/;

/** A schema `Parser` for a rate: "20/10s", "5/1s", "30/m" (the period's number may be left out); null (no limit) is the loader's. */
export const parseRate: Parser<Rate> = (value) => {
  const example = 'write a count and a period, e.g. "20/10s" or "60/1m", or null for no limit';
  if (typeof value !== 'string') return { ok: false, reason: `expected a rate such as "20/10s", got ${JSON.stringify(value)}: ${example}` };
  const match = RATE.exec(value.trim());
  if (!match) return { ok: false, reason: `"${value}" is not a rate: ${example}` };
  const count = Number(match[1]);
  const period = parseDuration(`${match[2] || '1'}${match[3]}`);
  if (!period.ok || period.value === 0) return { ok: false, reason: `"${value}": the period must be longer than 0 seconds` };
  if (count < 1)
    return { ok: false, reason: `"${value}": the count must be at least 1 (use null for no limit, or block the kind instead)` };
  return { ok: true, value: { count, seconds: period.value } };
};

/** The `rate_limits:` section (src/relay/rate-limits.ts holds the buckets); null = no limit. */
export const RATE_LIMITS_KEYS = {
  'rate_limits.events_per_ip': parsed(parseRate, {
    nullable: true,
    default: null,
    reloadable: true,
    description:
      'EVENTs, AUTHs and NIP-86 POSTs from one IP (an IPv6 /64), counted before the signature check ("rate-limited: slow down: at most N events per P from one IP"); a rate "N/period" such as "20/10s" allows bursts of N; null = no limit.',
  }),
  'rate_limits.events_per_pubkey.regular': parsed(parseRate, {
    nullable: true,
    default: null,
    reloadable: true,
    description:
      'Regular EVENTs by one author, counted after the signature check ("rate-limited: slow down: at most N regular events per P from one pubkey"); a rate "N/period" such as "20/10s" allows bursts of N; null = no limit.',
  }),
  'rate_limits.events_per_pubkey.replaceable': parsed(parseRate, {
    nullable: true,
    default: null,
    reloadable: true,
    description:
      'Replaceable EVENTs by one author, counted after the signature check ("rate-limited: slow down: at most N replaceable events per P from one pubkey"); a rate "N/period" such as "20/10s" allows bursts of N; null = no limit.',
  }),
  'rate_limits.events_per_pubkey.ephemeral': parsed(parseRate, {
    nullable: true,
    default: null,
    reloadable: true,
    description:
      'Ephemeral EVENTs by one author, counted after the signature check ("rate-limited: slow down: at most N ephemeral events per P from one pubkey"); a rate "N/period" such as "20/10s" allows bursts of N; null = no limit.',
  }),
  'rate_limits.events_per_pubkey.addressable': parsed(parseRate, {
    nullable: true,
    default: null,
    reloadable: true,
    description:
      'Addressable EVENTs by one author, counted after the signature check ("rate-limited: slow down: at most N addressable events per P from one pubkey"); a rate "N/period" such as "20/10s" allows bursts of N; null = no limit.',
  }),
  'rate_limits.queries_per_connection': parsed(parseRate, {
    nullable: true,
    default: null,
    reloadable: true,
    description:
      'REQ, COUNT and NEG-OPEN messages of one connection, together ("CLOSED rate-limited:"); a rate "N/period" such as "20/10s" allows bursts of N; null = no limit.',
  }),
  'rate_limits.connections_per_ip': parsed(parseRate, {
    nullable: true,
    default: { count: 60, seconds: 60 },
    reloadable: true,
    description:
      'New connections from one IP (an IPv6 /64) ("HTTP 429 rate-limited:"); a rate "N/period" such as "20/10s" allows bursts of N; null = no limit. Behind a reverse proxy, list it in relay.trusted_proxies, or every client counts as the proxy.',
  }),
  'rate_limits.max_connections_per_ip': integer({
    min: 1,
    nullable: true,
    default: 50,
    reloadable: true,
    description:
      'Connections open at once from one IP (an IPv6 /64); more are refused with HTTP 429 "rate-limited:"; null = no limit. Behind a reverse proxy, list it in relay.trusted_proxies, or every client counts as the proxy.',
  }),
  'rate_limits.exempt_ips': parsed(parseAddressList, {
    default: [],
    reloadable: true,
    description:
      'IPs or CIDR blocks the per-IP limits leave alone (events, connections, negentropy.max_sessions_per_ip), e.g. the servers of a client service that posts for many users; per-pubkey limits still apply. A reverse proxy belongs in relay.trusted_proxies instead.',
  }),
};

/** "20 events per 10 s" — for refusals a person can act on. */
export function describeRate(rate: Rate, what: string): string {
  const period = formatDuration(rate.seconds).replace(/^(\d+)/, '$1 ');
  return `${rate.count} ${what} per ${period}`;
}

export interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  at: number;
}

const DEFAULT_MAX_BUCKETS = 100_000;

/** Buckets by key (an IP, a pubkey, …). The rate is given on each take, so a reloaded config applies at once. */
export class TokenBuckets {
  /** Insertion order = least recently used first (a take moves its key to the end). */
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly maxBuckets: number = DEFAULT_MAX_BUCKETS) {
    if (!(maxBuckets >= 1)) throw new Error('maxBuckets must be at least 1');
  }

  /** Takes one token from `key`'s bucket; false = the bucket is empty (the action is refused, nothing taken). */
  take(key: string, rate: Rate, nowMs: number): boolean {
    const bucket = this.refilled(key, rate, nowMs);
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxBuckets + Math.ceil(this.maxBuckets / 10)) this.evictOldest();
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Tokens left in `key`'s bucket now (a full bucket for an unknown key). */
  tokens(key: string, rate: Rate, nowMs: number): number {
    const bucket = this.buckets.get(key);
    return bucket === undefined ? rate.count : refill(bucket, rate, nowMs);
  }

  /** Drops `key`'s bucket (its owner is gone). */
  forget(key: string): void {
    this.buckets.delete(key);
  }

  get size(): number {
    return this.buckets.size;
  }

  /**
   * Down to maxBuckets, oldest first, in one pass: evicting one key per take costs a scan over the
   * Map's deleted slots each time (measured 30 µs per take at 100 000 keys, bench/rate-limit.ts).
   */
  private evictOldest(): void {
    let excess = this.buckets.size - this.maxBuckets;
    for (const key of this.buckets.keys()) {
      if (excess-- <= 0) break;
      this.buckets.delete(key);
    }
  }

  private refilled(key: string, rate: Rate, nowMs: number): Bucket {
    const bucket = this.buckets.get(key);
    if (bucket === undefined) return { tokens: rate.count, at: nowMs };
    bucket.tokens = refill(bucket, rate, nowMs);
    bucket.at = Math.max(bucket.at, nowMs);
    return bucket;
  }
}

export function refill(bucket: Bucket, rate: Rate, nowMs: number): number {
  const elapsed = Math.max(0, nowMs - bucket.at);
  // min: a bucket never holds more than its burst, also after the rate was lowered by a reload.
  return Math.min(rate.count, bucket.tokens + (elapsed * rate.count) / (rate.seconds * 1000));
}
