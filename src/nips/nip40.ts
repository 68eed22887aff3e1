/**
 * NIP-40 expiration timestamp. Pure: the tag is read here; the store keeps it in `events.expires_at`,
 * queries and live delivery hide expired events, and the relay's pruning timer deletes them.
 */
import type { NostrEvent } from '../event/types.js';

const UNSIGNED_INTEGER = /^\d+$/;

/**
 * The event's expiration in unix seconds, or undefined. Only the FIRST `expiration` tag counts; a
 * missing, empty, negative, fractional or otherwise malformed value means "no expiration".
 */
export function expirationOf(tags: readonly (readonly string[])[]): number | undefined {
  for (const tag of tags) {
    if (tag[0] !== 'expiration') continue;
    const value = tag[1];
    if (value === undefined || !UNSIGNED_INTEGER.test(value)) return undefined;
    const seconds = Number(value);
    return Number.isSafeInteger(seconds) ? seconds : undefined;
  }
  return undefined;
}

/** Expired at `now` (unix seconds): its expiration is at or before now. */
export function isExpired(event: Pick<NostrEvent, 'tags'>, now: number): boolean {
  const expiration = expirationOf(event.tags);
  return expiration !== undefined && expiration <= now;
}

/** How often the pruner runs a pass: expired rows first, then the retention rules (nips/40.md). */
export const PRUNE_INTERVAL_MS = 60_000;
