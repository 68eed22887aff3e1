/**
 * The sections of what clients meet: the NIP-11 document, the limits of messages, filters and events,
 * and the NIPs that can be switched off or tuned (42, 50, 77, 86). Their readers are NIP modules the
 * store uses, which import nothing of the config (42, 77), or take the whole Config (nip11.ts, the
 * engine), so their rows live here; table.ts puts every section in file order.
 */
import { parseFeeList } from '../nips/nip11-fees.js';
import { parsePubkeyList } from '../policy/config.js';
import { boolean, integer, parsed, string } from './rows.js';

/** The NIP-11 document (src/nips/nip11.ts). */
export const INFO_KEYS = {
  'info.name': string({
    default: 'commons',
    reloadable: true,
    description: 'Relay name shown in the NIP-11 document.',
  }),
  'info.description': string({
    default: 'A community Nostr relay',
    reloadable: true,
    description: 'Free-text description shown in the NIP-11 document.',
  }),
  'info.pubkey': string({
    format: 'pubkey',
    default: '',
    reloadable: true,
    description: "Operator's public key: 64 lowercase hex characters or an npub (stored as hex); empty = none.",
  }),
  'info.contact': string({
    default: '',
    reloadable: true,
    description: 'How to reach the operator: a URI such as mailto:admin@example.org or https://…; empty = none.',
  }),
  'info.icon': string({
    format: 'http-url',
    default: '',
    reloadable: true,
    description: 'http(s) URL of a square icon for the relay; empty = none.',
  }),
  'info.banner': string({
    format: 'http-url',
    default: '',
    reloadable: true,
    description: 'http(s) URL of a banner image for the relay; empty = none.',
  }),
  'info.self': string({
    format: 'pubkey',
    default: '',
    reloadable: true,
    description: "The relay's own public key (NIP-11 self), apart from the operator's: hex or an npub (stored as hex); empty = none.",
  }),
  'info.terms_of_service': string({
    format: 'http-url',
    default: '',
    reloadable: true,
    description: 'http(s) URL of the terms of service; empty = none.',
  }),
  'info.payments_url': string({
    format: 'http-url',
    default: '',
    reloadable: true,
    description: 'http(s) URL where people pay the fees below (NIP-11 payments_url); empty = none.',
  }),
  'info.fees.admission': parsed(parseFeeList, {
    default: [],
    reloadable: true,
    description:
      'One-off fees to join, published as NIP-11 fees.admission and shown on the page, e.g. [{ amount: 1000000, unit: msats }]; the relay does not collect them. [] = none.',
  }),
  'info.fees.subscription': parsed(parseFeeList, {
    default: [],
    reloadable: true,
    description: 'Recurring fees, each with its period: [{ amount: 5000000, unit: msats, period: 30d }]. [] = none.',
  }),
  'info.fees.publication': parsed(parseFeeList, {
    default: [],
    reloadable: true,
    description: 'Fees per event of some kinds: [{ kinds: [4], amount: 100, unit: msats }]. [] = none.',
  }),
};

/** Bounds on what a client sends and asks for; NIP-11 advertises most of them. */
export const LIMITS_KEYS = {
  'limits.max_message_bytes': integer({
    min: 1024,
    default: 131072,
    reloadable: false,
    description: 'Largest WebSocket message accepted from a client, in bytes (NIP-11 max_message_length).',
  }),
  'limits.max_subscriptions': integer({
    min: 1,
    default: 20,
    reloadable: true,
    description: 'Open subscriptions allowed per connection (NIP-11 max_subscriptions).',
  }),
  'limits.max_filters': integer({
    min: 1,
    default: 10,
    reloadable: true,
    description: 'Filters allowed in one REQ or COUNT (NIP-11 max_filters).',
  }),
  'limits.max_filter_values': integer({
    min: 1,
    default: 2000,
    reloadable: true,
    description: 'Values allowed in one filter list (ids, authors, kinds, #tag), per list.',
  }),
  'limits.max_limit': integer({
    min: 1,
    default: 500,
    reloadable: true,
    description: 'Most stored events returned for one filter; larger limits are lowered to this (NIP-11 max_limit).',
  }),
  'limits.default_limit': integer({
    nullable: true,
    min: 1,
    default: null,
    reloadable: true,
    description:
      'Stored events returned for a filter without a limit; null = max_limit (as strfry: threads loaded without a limit come whole); at most max_limit (NIP-11 default_limit).',
  }),
  'limits.max_subid_length': integer({
    min: 1,
    max: 64,
    default: 64,
    reloadable: true,
    description: 'Longest subscription id accepted, in characters; NIP-01 caps it at 64 (NIP-11 max_subid_length).',
  }),
  'limits.max_event_tags': integer({
    min: 0,
    default: 2000,
    reloadable: true,
    description: 'Most tags an event may carry (NIP-11 max_event_tags).',
  }),
  'limits.max_content_length': integer({
    min: 0,
    default: 65536,
    reloadable: true,
    description: 'Longest event content accepted, in characters (NIP-11 max_content_length).',
  }),
  'limits.created_at.max_future_seconds': integer({
    nullable: true,
    min: 0,
    default: 900,
    reloadable: true,
    description: "Seconds an event's created_at may lie ahead of the relay's clock; null = no limit (NIP-11 created_at_upper_limit).",
  }),
  'limits.created_at.max_past_seconds': integer({
    nullable: true,
    min: 0,
    default: null,
    reloadable: true,
    description: "Seconds an event's created_at may lie behind the relay's clock; null = no limit (NIP-11 created_at_lower_limit).",
  }),
  'limits.max_outbound_bytes': integer({
    min: 1024,
    default: 4194304,
    reloadable: false,
    description: 'A connection whose unsent outbound data grows past this many bytes is closed (slow reader).',
  }),
};

/** NIP-42 AUTH (and NIP-70 protected events, which need it). */
export const AUTH_KEYS = {
  'auth.enabled': boolean({
    default: true,
    reloadable: true,
    description:
      'NIP-42 AUTH: send a challenge on connect and accept AUTH messages (needed to publish NIP-70 protected events); false = AUTH answered restricted:, 42 and 70 not advertised. After a reload a connection that authenticated keeps its pubkeys; one opened while AUTH was off gets a challenge with its first auth-required: answer.',
  }),
  'auth.max_age_seconds': integer({
    min: 1,
    default: 600,
    reloadable: true,
    description: "How far an AUTH event's created_at may lie from the relay's clock, either way, in seconds.",
  }),
};

/** NIP-50 search. */
export const SEARCH_KEYS = {
  'search.enabled': boolean({
    default: true,
    reloadable: true,
    description:
      "NIP-50: answer 'search' filters from the full-text index (kept up to date either way); false = refused with unsupported:, 50 not advertised.",
  }),
};

/** NIP-77 negentropy sync (src/relay/negentropy.ts). */
export const NEGENTROPY_KEYS = {
  'negentropy.enabled': boolean({
    default: true,
    reloadable: true,
    description: 'NIP-77: answer NEG-OPEN / NEG-MSG / NEG-CLOSE; false = NEG-OPEN answered NEG-ERR unsupported:, 77 not advertised.',
  }),
  'negentropy.max_records': integer({
    min: 1,
    default: 500000,
    reloadable: true,
    description: 'Most stored events one NEG-OPEN may reconcile; larger sets are refused with NEG-ERR "blocked:".',
  }),
  'negentropy.max_sessions': integer({
    min: 1,
    default: 4,
    reloadable: true,
    description: 'Open negentropy sessions allowed per connection ("rate-limited:").',
  }),
  'negentropy.max_sessions_per_ip': integer({
    min: 1,
    default: 8,
    reloadable: true,
    description:
      'Open negentropy sessions allowed per IP (an IPv6 /64), over all its connections ("rate-limited:"); rate_limits.exempt_ips are not capped.',
  }),
  'negentropy.max_total_records': integer({
    min: 1,
    default: 2000000,
    reloadable: true,
    description:
      'Records the sets of all open negentropy sessions of the process may hold together, about 41 bytes each (sessions with the same filter, opened while nothing was written, share one set). A NEG-OPEN beyond it is refused with NEG-ERR "rate-limited:" (try later), one whose set alone exceeds it with "blocked:".',
  }),
  'negentropy.idle_seconds': integer({
    min: 1,
    default: 60,
    reloadable: true,
    description: 'A negentropy session without a message for this many seconds is closed (NEG-ERR "closed:").',
  }),
};

/** NIP-86 relay management (src/relay/management.ts). */
export const MANAGEMENT_KEYS = {
  'management.admins': parsed(parsePubkeyList, {
    default: [],
    reloadable: true,
    description:
      'NIP-86: pubkeys (hex or npub) allowed to use the management API (HTTP JSON-RPC with NIP-98 auth); empty = the API is off and 86 is not advertised. A reload applies to the next request.',
  }),
};
