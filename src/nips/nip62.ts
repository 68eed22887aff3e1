/**
 * NIP-62 requests to vanish (kind 62). Pure: which relays a request names, whether it names this one,
 * and whose vanish could block an incoming event. src/store/write.ts applies the effects in the one write
 * transaction; src/relay/ingest.ts decides, per connection, whether a request names this relay.
 */
import type { NostrEvent } from '../event/types.js';
import { HEX64 } from '../event/validate.js';
import { GIFT_WRAP_KIND } from './nip09.js';
import { relayMatches } from './nip42.js';

export const VANISH_KIND = 62;
/** The `relay` tag value that names every relay. */
const ALL_RELAYS = 'ALL_RELAYS';

/** Says whether a `relay` tag URL names this relay. */
export type RelayMatcher = (url: string) => boolean;

/**
 * This relay as a `relay` tag may name it: the configured public URL (config relay.url) when set,
 * otherwise the Host header the connection used (NIP-42's normalisation: scheme-insensitive, lower-case
 * host, default ports dropped, trailing slashes ignored). With no connection (import, sync) pass
 * host '' — then only relay.url can match.
 */
export function thisRelay(relayUrl: string, host: string): RelayMatcher {
  return (url) => relayMatches(url, relayUrl, host);
}

/** The values of the event's `relay` tags, in order. */
function relayTags(event: Pick<NostrEvent, 'tags'>): string[] {
  const relays: string[] = [];
  for (const tag of event.tags) if (tag[0] === 'relay' && typeof tag[1] === 'string') relays.push(tag[1]);
  return relays;
}

/**
 * Whether `event` is a request to vanish from this relay: kind 62 with a `relay` tag that is exactly
 * `ALL_RELAYS` or names this relay. A kind 62 naming only other relays (or none) is not.
 */
export function requestsVanish(event: Pick<NostrEvent, 'kind' | 'tags'>, isThisRelay: RelayMatcher): boolean {
  if (event.kind !== VANISH_KIND) return false;
  return relayTags(event).some((url) => url === ALL_RELAYS || isThisRelay(url));
}

/**
 * Pubkeys whose earlier vanish may block `event`: its author, and for a gift wrap (1059) every
 * p-tagged recipient (distinct, 64 lowercase hex). The event is blocked when one of them vanished with
 * a bound ≥ its created_at.
 */
export function vanishSubjects(event: Pick<NostrEvent, 'pubkey' | 'kind' | 'tags'>): string[] {
  const subjects = new Set([event.pubkey]);
  if (event.kind === GIFT_WRAP_KIND) {
    for (const tag of event.tags) if (tag[0] === 'p' && tag[1] !== undefined && HEX64.test(tag[1])) subjects.add(tag[1]);
  }
  return [...subjects];
}
