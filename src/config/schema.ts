/**
 * THE table of configuration keys: every key of `Config` is declared here exactly once, with its type,
 * default, description and whether a running relay may pick up a new value (hot reload).
 *
 * The table is typed against `Config`, so a key missing here, an extra key, or a default of the wrong
 * type is a compile error. config/relay.yaml is checked against it by test/unit/config.test.ts.
 */
import type { Config } from './types.js';
import type { Parser } from './values.js';
import { parseRetention } from '../retention/rules.js';
import { parseKindSelectors } from './kinds.js';
import { parseKindLimitRules, parsePowRules, parsePubkeyList } from '../policy/config.js';
import { parseKindList } from '../policy/read.js';
import { memberFileProblem } from '../policy/membership.js';
import { areaCoverProblem, parseGeohashPrefixes } from '../policy/geohash.js';
import { parseGeoAreas } from '../policy/geoarea.js';
import { parseRate } from '../policy/rate-limit.js';
import { parseAddressList } from '../net/ip.js';
import { parseVerifyImplementation } from '../event/verify-native.js';
import { listenAddressOf, parseListenAddress } from '../net/listen.js';

/** Dotted paths of every leaf of `Config`, e.g. 'limits.created_at.max_future_seconds' (`hosts` is not a key: src/config/hosts.ts). */
export type ConfigKey = Leaves<Omit<Config, 'hosts'>>;
/** The value type `Config` holds at a dotted key. */
export type ValueAt<K extends ConfigKey> = At<Config, K>;

export type ValueType = 'string' | 'integer' | 'number' | 'boolean' | 'enum' | 'parsed';

/**
 * Checks (and normalisations) for string keys, beyond "is a string":
 * - host: non-empty, no whitespace
 * - path: non-empty
 * - ws-url: empty, or an absolute ws:// or wss:// URL
 * - http-url: empty, or an absolute http:// or https:// URL
 * - pubkey: empty, 64 lowercase hex characters, or an npub (converted to hex)
 */
export type StringFormat = 'host' | 'path' | 'ws-url' | 'http-url' | 'pubkey';

/** One row of the table, widened for code that walks all rows. */
export interface KeySpec {
  readonly key: ConfigKey;
  readonly type: ValueType;
  readonly default: unknown;
  readonly description: string;
  /** true: a hot reload may change it on a running relay; false: takes effect on restart. */
  readonly reloadable: boolean;
  readonly nullable?: boolean;
  /** Inclusive bounds for integer and number keys. */
  readonly min?: number;
  readonly max?: number;
  /** Allowed values of an enum key. */
  readonly values?: readonly string[];
  readonly format?: StringFormat;
  /** The parser of a `parsed` key. */
  readonly parse?: Parser<unknown>;
  /** Environment variable that overrides the file's value (loadConfig only). */
  readonly env?: string;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

const TABLE: Table = {
  // relay ------------------------------------------------------------------------------------------
  'relay.host': {
    type: 'string',
    format: 'host',
    default: '127.0.0.1',
    reloadable: false,
    env: 'COMMONS_HOST',
    description: 'Address the WebSocket server listens on; 0.0.0.0 listens on every interface.',
  },
  'relay.port': {
    type: 'integer',
    min: 0,
    max: 65535,
    default: 7777,
    reloadable: false,
    env: 'COMMONS_PORT',
    description: 'TCP port the WebSocket server listens on; 0 picks a free ephemeral port.',
  },
  'relay.url': {
    type: 'string',
    format: 'ws-url',
    default: '',
    reloadable: true,
    description:
      'Public ws:// or wss:// URL clients use (shown on the page, used for NIP-42, NIP-98 and NIP-62); empty = ws://host:port. A reload applies it to the next AUTH, management request and kind 62, on open connections too.',
  },
  'relay.trusted_proxies': {
    type: 'parsed',
    parse: parseAddressList,
    default: [],
    reloadable: false,
    description:
      'Reverse proxies (IPs or CIDR blocks, v4 or v6) trusted to name the client in X-Forwarded-For: from a trusted peer the client is the right-most address that is not itself trusted; [] = the header is ignored and the TCP peer is the client.',
  },

  // server ---------------------------------------------------------------------------------------
  'server.implementation': {
    type: 'enum',
    values: ['auto', 'uws', 'ws'],
    default: 'auto',
    reloadable: false,
    env: 'COMMONS_SERVER',
    description:
      'WebSocket server: auto = native uWebSockets.js when a build of it loads on this Node and libc, else the portable ws server, with a warning naming the cause and the fix; uws = native or refuse to start; ws = always the portable server (slower, runs anywhere).',
  },

  // info (NIP-11) ----------------------------------------------------------------------------------
  'info.name': {
    type: 'string',
    default: 'commons',
    reloadable: true,
    description: 'Relay name shown in the NIP-11 document.',
  },
  'info.description': {
    type: 'string',
    default: 'A community Nostr relay',
    reloadable: true,
    description: 'Free-text description shown in the NIP-11 document.',
  },
  'info.pubkey': {
    type: 'string',
    format: 'pubkey',
    default: '',
    reloadable: true,
    description: "Operator's public key: 64 lowercase hex characters or an npub (stored as hex); empty = none.",
  },
  'info.contact': {
    type: 'string',
    default: '',
    reloadable: true,
    description: 'How to reach the operator: a URI such as mailto:admin@example.org or https://…; empty = none.',
  },
  'info.icon': {
    type: 'string',
    format: 'http-url',
    default: '',
    reloadable: true,
    description: 'http(s) URL of a square icon for the relay; empty = none.',
  },
  'info.banner': {
    type: 'string',
    format: 'http-url',
    default: '',
    reloadable: true,
    description: 'http(s) URL of a banner image for the relay; empty = none.',
  },
  'info.terms_of_service': {
    type: 'string',
    format: 'http-url',
    default: '',
    reloadable: true,
    description: 'http(s) URL of the terms of service; empty = none.',
  },

  // storage ----------------------------------------------------------------------------------------
  'storage.path': {
    type: 'string',
    format: 'path',
    default: './data/relay.sqlite',
    reloadable: false,
    env: 'COMMONS_DB',
    description: 'SQLite database file; a relative path is taken from the directory the relay is started in.',
  },
  'storage.synchronous': {
    type: 'enum',
    values: ['full', 'normal'],
    default: 'full',
    reloadable: false,
    description:
      'SQLite synchronous mode: full = an OK true survives power loss; normal = faster, the last commits may be lost on power loss (not on a process crash).',
  },
  'storage.writer_thread': {
    type: 'boolean',
    default: true,
    reloadable: false,
    description:
      'Write events on a thread with its own connection, so commits, fsyncs, checkpoints and waits for the pruner never hold the event loop; false = write on the main thread. An in-memory store always writes on the main thread.',
  },

  // verify -----------------------------------------------------------------------------------------
  'verify.workers': {
    type: 'integer',
    min: 0,
    max: 64,
    default: 2,
    reloadable: false,
    description:
      'Worker threads that check signatures (WASM libsecp256k1); 0 = check on the main thread. 2 suits a 2-core server; use the CPU count on a larger one.',
  },
  'verify.implementation': {
    type: 'parsed',
    parse: parseVerifyImplementation,
    default: 'auto',
    reloadable: false,
    description:
      'Signature checker: auto = native libsecp256k1 (the addon npm install builds when libsecp256k1-dev is present, ~6x faster) if it loads, else WASM; native = require the addon (an error at start without it); wasm = always WASM.',
  },

  // query ------------------------------------------------------------------------------------------
  'query.readers': {
    type: 'integer',
    min: 0,
    max: 64,
    default: 1,
    reloadable: false,
    description:
      'Reader threads, each with its own read-only connection, that run NIP-50 searches, COUNTs, NEG-OPEN sets and large-limit REQs off the event loop; 0 = every query on the main thread (always so for an in-memory store).',
  },
  'query.reader_min_limit': {
    type: 'integer',
    min: 1,
    default: 500,
    reloadable: true,
    description:
      'A REQ goes to a reader thread when the limits of its filters add up to at least this many events (or when it searches); cheaper REQs are answered on the main thread.',
  },

  // limits -----------------------------------------------------------------------------------------
  'limits.max_message_bytes': {
    type: 'integer',
    min: 1024,
    default: 131072,
    reloadable: false,
    description: 'Largest WebSocket message accepted from a client, in bytes (NIP-11 max_message_length).',
  },
  'limits.max_subscriptions': {
    type: 'integer',
    min: 1,
    default: 20,
    reloadable: true,
    description: 'Open subscriptions allowed per connection (NIP-11 max_subscriptions).',
  },
  'limits.max_filters': {
    type: 'integer',
    min: 1,
    default: 10,
    reloadable: true,
    description: 'Filters allowed in one REQ or COUNT (NIP-11 max_filters).',
  },
  'limits.max_filter_values': {
    type: 'integer',
    min: 1,
    default: 2000,
    reloadable: true,
    description: 'Values allowed in one filter list (ids, authors, kinds, #tag), per list.',
  },
  'limits.max_limit': {
    type: 'integer',
    min: 1,
    default: 500,
    reloadable: true,
    description: 'Most stored events returned for one filter; larger limits are lowered to this (NIP-11 max_limit).',
  },
  'limits.default_limit': {
    type: 'integer',
    nullable: true,
    min: 1,
    default: null,
    reloadable: true,
    description:
      'Stored events returned for a filter without a limit; null = max_limit (as strfry: threads loaded without a limit come whole); at most max_limit (NIP-11 default_limit).',
  },
  'limits.max_subid_length': {
    type: 'integer',
    min: 1,
    max: 64,
    default: 64,
    reloadable: true,
    description: 'Longest subscription id accepted, in characters; NIP-01 caps it at 64 (NIP-11 max_subid_length).',
  },
  'limits.max_event_tags': {
    type: 'integer',
    min: 0,
    default: 2000,
    reloadable: true,
    description: 'Most tags an event may carry (NIP-11 max_event_tags).',
  },
  'limits.max_content_length': {
    type: 'integer',
    min: 0,
    default: 65536,
    reloadable: true,
    description: 'Longest event content accepted, in characters (NIP-11 max_content_length).',
  },
  'limits.created_at.max_future_seconds': {
    type: 'integer',
    nullable: true,
    min: 0,
    default: 900,
    reloadable: true,
    description: "Seconds an event's created_at may lie ahead of the relay's clock; null = no limit (NIP-11 created_at_upper_limit).",
  },
  'limits.created_at.max_past_seconds': {
    type: 'integer',
    nullable: true,
    min: 0,
    default: null,
    reloadable: true,
    description: "Seconds an event's created_at may lie behind the relay's clock; null = no limit (NIP-11 created_at_lower_limit).",
  },
  'limits.max_outbound_bytes': {
    type: 'integer',
    min: 1024,
    default: 4194304,
    reloadable: false,
    description: 'A connection whose unsent outbound data grows past this many bytes is closed (slow reader).',
  },

  // write (src/policy/write.ts) ------------------------------------------------------------------
  'write.pubkeys.allow': {
    type: 'parsed',
    parse: parsePubkeyList,
    default: [],
    reloadable: true,
    description:
      'Pubkeys (hex or npub) allowed to write; empty = everyone. Others get "blocked: only members of <info.name> can post here".',
  },
  'write.pubkeys.deny': {
    type: 'parsed',
    parse: parsePubkeyList,
    default: [],
    reloadable: true,
    description: 'Pubkeys (hex or npub) never allowed to write ("blocked:").',
  },
  'write.blocked_message': {
    type: 'string',
    default: '',
    reloadable: true,
    description: 'Appended to the allow-list refusal after " — ": how to join (a URL or a sentence); empty = nothing.',
  },
  'write.kinds.allow': {
    type: 'parsed',
    parse: parseKindSelectors,
    default: ['*'],
    reloadable: true,
    description: 'Kinds accepted: single kinds, ranges [low, high], or "*" for all.',
  },
  'write.kinds.deny': {
    type: 'parsed',
    parse: parseKindSelectors,
    default: [],
    reloadable: true,
    description: 'Kinds refused even when write.kinds.allow matches them.',
  },
  'write.min_pow': {
    type: 'integer',
    min: 0,
    max: 256,
    default: 0,
    reloadable: true,
    description: 'NIP-13 proof of work: leading zero bits an event id must have; 0 = none (NIP-11 min_pow_difficulty).',
  },
  'write.min_pow_by_kind': {
    type: 'parsed',
    parse: parsePowRules,
    default: [],
    reloadable: true,
    description: 'Rules { kinds: [...], min_pow: N }; the first whose kinds match replaces write.min_pow for that event.',
  },
  'write.limits_by_kind': {
    type: 'parsed',
    parse: parseKindLimitRules,
    default: [],
    reloadable: true,
    description:
      'Rules { kinds: [...], max_content_length?, max_event_tags? }; the first whose kinds match applies on top of the global limits.',
  },
  'write.created_at_by_class.regular.max_future_seconds': {
    type: 'integer',
    nullable: true,
    min: 0,
    default: null,
    reloadable: true,
    description:
      "Seconds a regular event's created_at may lie ahead of the relay's clock; null = limits.created_at.max_future_seconds. Only tighter than the global value.",
  },
  'write.created_at_by_class.regular.max_past_seconds': {
    type: 'integer',
    nullable: true,
    min: 0,
    default: null,
    reloadable: true,
    description:
      "Seconds a regular event's created_at may lie behind the relay's clock; null = limits.created_at.max_past_seconds. Only tighter than the global value.",
  },
  'write.created_at_by_class.replaceable.max_future_seconds': {
    type: 'integer',
    nullable: true,
    min: 0,
    default: null,
    reloadable: true,
    description:
      "Seconds a replaceable event's created_at may lie ahead of the relay's clock; null = limits.created_at.max_future_seconds. Only tighter than the global value.",
  },
  'write.created_at_by_class.replaceable.max_past_seconds': {
    type: 'integer',
    nullable: true,
    min: 0,
    default: null,
    reloadable: true,
    description:
      "Seconds a replaceable event's created_at may lie behind the relay's clock; null = limits.created_at.max_past_seconds. Only tighter than the global value.",
  },
  'write.created_at_by_class.ephemeral.max_future_seconds': {
    type: 'integer',
    nullable: true,
    min: 0,
    default: null,
    reloadable: true,
    description:
      "Seconds a ephemeral event's created_at may lie ahead of the relay's clock; null = limits.created_at.max_future_seconds. Only tighter than the global value.",
  },
  'write.created_at_by_class.ephemeral.max_past_seconds': {
    type: 'integer',
    nullable: true,
    min: 0,
    default: null,
    reloadable: true,
    description:
      "Seconds a ephemeral event's created_at may lie behind the relay's clock; null = limits.created_at.max_past_seconds. Only tighter than the global value.",
  },
  'write.created_at_by_class.addressable.max_future_seconds': {
    type: 'integer',
    nullable: true,
    min: 0,
    default: null,
    reloadable: true,
    description:
      "Seconds a addressable event's created_at may lie ahead of the relay's clock; null = limits.created_at.max_future_seconds. Only tighter than the global value.",
  },
  'write.created_at_by_class.addressable.max_past_seconds': {
    type: 'integer',
    nullable: true,
    min: 0,
    default: null,
    reloadable: true,
    description:
      "Seconds a addressable event's created_at may lie behind the relay's clock; null = limits.created_at.max_past_seconds. Only tighter than the global value.",
  },
  // auth (NIP-42, NIP-70) -------------------------------------------------------------------------
  'auth.enabled': {
    type: 'boolean',
    default: true,
    reloadable: true,
    description:
      'NIP-42 AUTH: send a challenge on connect and accept AUTH messages (needed to publish NIP-70 protected events); false = AUTH answered restricted:, 42 and 70 not advertised. After a reload a connection that authenticated keeps its pubkeys; one opened while AUTH was off gets a challenge with its first auth-required: answer.',
  },
  'auth.max_age_seconds': {
    type: 'integer',
    min: 1,
    default: 600,
    reloadable: true,
    description: "How far an AUTH event's created_at may lie from the relay's clock, either way, in seconds.",
  },

  // rate limits (src/policy/rate-limit.ts) -------------------------------------------------------
  'rate_limits.events_per_ip': {
    type: 'parsed',
    parse: parseRate,
    nullable: true,
    default: null,
    reloadable: true,
    description:
      'EVENTs, AUTHs and NIP-86 POSTs from one IP (an IPv6 /64), counted before the signature check ("rate-limited: slow down: at most N events per P from one IP"); a rate "N/period" such as "20/10s" allows bursts of N; null = no limit.',
  },
  'rate_limits.events_per_pubkey.regular': {
    type: 'parsed',
    parse: parseRate,
    nullable: true,
    default: null,
    reloadable: true,
    description:
      'Regular EVENTs by one author, counted after the signature check ("rate-limited: slow down: at most N regular events per P from one pubkey"); a rate "N/period" such as "20/10s" allows bursts of N; null = no limit.',
  },
  'rate_limits.events_per_pubkey.replaceable': {
    type: 'parsed',
    parse: parseRate,
    nullable: true,
    default: null,
    reloadable: true,
    description:
      'Replaceable EVENTs by one author, counted after the signature check ("rate-limited: slow down: at most N replaceable events per P from one pubkey"); a rate "N/period" such as "20/10s" allows bursts of N; null = no limit.',
  },
  'rate_limits.events_per_pubkey.ephemeral': {
    type: 'parsed',
    parse: parseRate,
    nullable: true,
    default: null,
    reloadable: true,
    description:
      'Ephemeral EVENTs by one author, counted after the signature check ("rate-limited: slow down: at most N ephemeral events per P from one pubkey"); a rate "N/period" such as "20/10s" allows bursts of N; null = no limit.',
  },
  'rate_limits.events_per_pubkey.addressable': {
    type: 'parsed',
    parse: parseRate,
    nullable: true,
    default: null,
    reloadable: true,
    description:
      'Addressable EVENTs by one author, counted after the signature check ("rate-limited: slow down: at most N addressable events per P from one pubkey"); a rate "N/period" such as "20/10s" allows bursts of N; null = no limit.',
  },
  'rate_limits.queries_per_connection': {
    type: 'parsed',
    parse: parseRate,
    nullable: true,
    default: null,
    reloadable: true,
    description:
      'REQ, COUNT and NEG-OPEN messages of one connection, together ("CLOSED rate-limited:"); a rate "N/period" such as "20/10s" allows bursts of N; null = no limit.',
  },
  'rate_limits.connections_per_ip': {
    type: 'parsed',
    parse: parseRate,
    nullable: true,
    default: { count: 60, seconds: 60 },
    reloadable: true,
    description:
      'New connections from one IP (an IPv6 /64) ("HTTP 429 rate-limited:"); a rate "N/period" such as "20/10s" allows bursts of N; null = no limit. Behind a reverse proxy, list it in relay.trusted_proxies, or every client counts as the proxy.',
  },
  'rate_limits.max_connections_per_ip': {
    type: 'integer',
    min: 1,
    nullable: true,
    default: 50,
    reloadable: true,
    description:
      'Connections open at once from one IP (an IPv6 /64); more are refused with HTTP 429 "rate-limited:"; null = no limit. Behind a reverse proxy, list it in relay.trusted_proxies, or every client counts as the proxy.',
  },
  'rate_limits.exempt_ips': {
    type: 'parsed',
    parse: parseAddressList,
    default: [],
    reloadable: true,
    description:
      'IPs or CIDR blocks the per-IP limits leave alone (events, connections, negentropy.max_sessions_per_ip), e.g. the servers of a client service that posts for many users; per-pubkey limits still apply. A reverse proxy belongs in relay.trusted_proxies instead.',
  },

  // read rules (src/policy/read.ts) ---------------------------------------------------------------
  'read.auth_required_kinds': {
    type: 'parsed',
    parse: parseKindList,
    default: [4, 1059, 1060],
    reloadable: true,
    description: 'Kinds readable only by a connection authenticated (NIP-42) as the author or a p-tagged recipient; [] = none.',
  },
  'read.private': {
    type: 'boolean',
    default: false,
    reloadable: true,
    description: 'Reading at all (REQ, COUNT, NEG-OPEN) requires AUTH as a member (needs members.enabled and auth.enabled).',
  },

  // members (src/policy/membership.ts) ---------------------------------------------------------------
  'members.enabled': {
    type: 'boolean',
    default: false,
    reloadable: true,
    description:
      'Only members may write, except members.open_kinds and members.dm_kinds p-tagging a member ("blocked: only members of <info.name> can post here").',
  },
  'members.pubkeys': {
    type: 'parsed',
    parse: parsePubkeyList,
    default: [],
    reloadable: true,
    description: 'Member pubkeys (hex or npub).',
  },
  'members.file': {
    type: 'string',
    default: '',
    reloadable: true,
    description: 'File with one member pubkey (hex or npub) per line, # comments; re-read when it changes; empty = none.',
  },
  'members.open_kinds': {
    type: 'parsed',
    parse: parseKindSelectors,
    default: [10002, 10050],
    reloadable: true,
    description: 'Kinds anyone may write, member or not (default: relay lists).',
  },
  'members.dm_kinds': {
    type: 'parsed',
    parse: parseKindSelectors,
    default: [4, 1059, 14],
    reloadable: true,
    description: 'Kinds non-members may write when the event p-tags a member (DMs and gift wraps).',
  },
  'members.exempt_from_pow': {
    type: 'boolean',
    default: false,
    reloadable: true,
    description:
      'Members (members.pubkeys and members.file, even with members.enabled false) skip write.min_pow / min_pow_by_kind; only others pay proof of work.',
  },

  // scopes (src/policy/geohash.ts) ---------------------------------------------------------------
  'scopes.geohash.prefixes': {
    type: 'parsed',
    parse: parseGeohashPrefixes,
    default: [],
    reloadable: true,
    description:
      'Geohash cells the relay serves (e.g. [u4pru]); events with g tags need one value equal to or inside one of them ("blocked:"); [] = no scope.',
  },
  'scopes.geohash.areas': {
    type: 'parsed',
    parse: parseGeoAreas,
    default: [],
    reloadable: true,
    description:
      "GeoJSON areas (Polygon, MultiPolygon, Feature, FeatureCollection; [longitude, latitude]), each written inline or as the path of a .geojson / .json file (relative to this file's directory, read at every load and reload); turned into geohash cells at load and served like prefixes.",
  },
  'scopes.geohash.area_precision': {
    type: 'integer',
    min: 1,
    max: 12,
    default: 6,
    reloadable: true,
    description:
      'Length of the finest cells covering scopes.geohash.areas along their edges (6 ≈ 1.2 × 0.6 km); cells wholly inside stay coarser.',
  },
  'scopes.geohash.require_for_kinds': {
    type: 'parsed',
    parse: parseKindSelectors,
    default: [],
    reloadable: true,
    description: 'Kinds refused without any g (geohash) tag, e.g. [20000] ("blocked: kind N needs a g (geohash) tag here").',
  },

  // search (NIP-50) -------------------------------------------------------------------------------
  'search.enabled': {
    type: 'boolean',
    default: true,
    reloadable: true,
    description:
      "NIP-50: answer 'search' filters from the full-text index (kept up to date either way); false = refused with unsupported:, 50 not advertised.",
  },

  // negentropy (NIP-77) ---------------------------------------------------------------------------
  'negentropy.enabled': {
    type: 'boolean',
    default: true,
    reloadable: true,
    description: 'NIP-77: answer NEG-OPEN / NEG-MSG / NEG-CLOSE; false = NEG-OPEN answered NEG-ERR unsupported:, 77 not advertised.',
  },
  'negentropy.max_records': {
    type: 'integer',
    min: 1,
    default: 500000,
    reloadable: true,
    description: 'Most stored events one NEG-OPEN may reconcile; larger sets are refused with NEG-ERR "blocked:".',
  },
  'negentropy.max_sessions': {
    type: 'integer',
    min: 1,
    default: 4,
    reloadable: true,
    description: 'Open negentropy sessions allowed per connection ("rate-limited:").',
  },
  'negentropy.max_sessions_per_ip': {
    type: 'integer',
    min: 1,
    default: 8,
    reloadable: true,
    description:
      'Open negentropy sessions allowed per IP (an IPv6 /64), over all its connections ("rate-limited:"); rate_limits.exempt_ips are not capped.',
  },
  'negentropy.max_total_records': {
    type: 'integer',
    min: 1,
    default: 2000000,
    reloadable: true,
    description:
      'Records the sets of all open negentropy sessions of the process may hold together, about 41 bytes each (sessions with the same filter, opened while nothing was written, share one set). A NEG-OPEN beyond it is refused with NEG-ERR "rate-limited:" (try later), one whose set alone exceeds it with "blocked:".',
  },
  'negentropy.idle_seconds': {
    type: 'integer',
    min: 1,
    default: 60,
    reloadable: true,
    description: 'A negentropy session without a message for this many seconds is closed (NEG-ERR "closed:").',
  },

  // management (NIP-86) --------------------------------------------------------------------------
  'management.admins': {
    type: 'parsed',
    parse: parsePubkeyList,
    default: [],
    reloadable: true,
    description:
      'NIP-86: pubkeys (hex or npub) allowed to use the management API (HTTP JSON-RPC with NIP-98 auth); empty = the API is off and 86 is not advertised. A reload applies to the next request.',
  },

  // logging ----------------------------------------------------------------------------------------
  'logging.level': {
    type: 'enum',
    values: LOG_LEVELS,
    default: 'info',
    reloadable: true,
    description: 'Lowest level written to the log: trace, debug, info, warn, error, fatal or silent.',
  },
  'logging.connections': {
    type: 'enum',
    values: LOG_LEVELS,
    default: 'debug',
    reloadable: true,
    description: 'Level at which connection opens and closes are logged.',
  },
  'logging.rejections': {
    type: 'enum',
    values: LOG_LEVELS,
    default: 'info',
    reloadable: true,
    description: 'Level at which rejected events and requests are logged.',
  },
  'logging.format': {
    type: 'enum',
    values: ['auto', 'json', 'pretty'],
    default: 'auto',
    reloadable: false,
    description: 'auto = readable lines on a terminal, JSON lines otherwise; json; pretty.',
  },

  // reload ----------------------------------------------------------------------------------------
  'reload.watch': {
    type: 'boolean',
    default: true,
    reloadable: true,
    description:
      'serve reloads this file when it changes, or a GeoJSON file it names in scopes.geohash.areas (as on SIGHUP); false = only on SIGHUP.',
  },

  // metrics (src/server/metrics.ts) ---------------------------------------------------------------
  'metrics.enabled': {
    type: 'boolean',
    default: false,
    reloadable: false,
    description:
      'Serve GET /metrics in the Prometheus text format on metrics.listen, a listener of its own apart from the relay port (the relay port never serves it); false = nothing listens.',
  },
  'metrics.listen': {
    type: 'parsed',
    parse: parseListenAddress,
    default: '127.0.0.1:9477',
    reloadable: false,
    description:
      'host:port ([v6]:port for IPv6) the metrics listener binds when metrics.enabled; keep it on loopback or a private network that only the Prometheus server reaches (the endpoint has no authentication); port 0 picks a free port.',
  },

  // retention --------------------------------------------------------------------------------------
  retention: {
    type: 'parsed',
    parse: parseRetention,
    default: [],
    reloadable: true,
    description:
      'Per-kind retention rules { kinds, max_age?, max_per_pubkey?, max_total?, keep? }; the first rule whose kinds match decides; [] = keep everything.',
  },
};

/** Every key, in declaration order (which is also the order of config/relay.yaml). */
export const SCHEMA: readonly KeySpec[] = Object.freeze(
  (Object.keys(TABLE) as ConfigKey[]).map((key) => Object.freeze({ key, ...TABLE[key] } as KeySpec)),
);

const BY_KEY: ReadonlyMap<string, KeySpec> = new Map(SCHEMA.map((spec) => [spec.key, spec]));

export function specFor(key: string): KeySpec | undefined {
  return BY_KEY.get(key);
}

/** Dotted paths of the mappings that hold keys: relay, info, …, limits.created_at. */
export const SECTIONS: ReadonlySet<string> = new Set(
  SCHEMA.flatMap(({ key }) =>
    key
      .split('.')
      .slice(0, -1)
      .map((_, i, parts) => parts.slice(0, i + 1).join('.')),
  ),
);

/** A rule over several keys, checked once each of its keys is valid on its own. */
export interface CrossRule {
  /** The key the problem is reported against. */
  readonly key: ConfigKey;
  readonly keys: readonly ConfigKey[];
  /** Returns the reason when the rule is broken. */
  readonly check: (config: Config) => string | undefined;
}

const CLASSES = ['regular', 'replaceable', 'ephemeral', 'addressable'] as const;
const WINDOW_KEYS = ['max_future_seconds', 'max_past_seconds'] as const;

export const RULES: readonly CrossRule[] = [
  // A per-class created_at window may only tighten the global one (which NIP-11 advertises).
  ...CLASSES.flatMap((cls) =>
    WINDOW_KEYS.map(
      (name): CrossRule => ({
        key: `write.created_at_by_class.${cls}.${name}`,
        keys: [`write.created_at_by_class.${cls}.${name}`, `limits.created_at.${name}`],
        check: (config) => {
          const own = config.write.created_at_by_class[cls][name];
          const global = config.limits.created_at[name];
          return own === null || global === null || own <= global
            ? undefined
            : `must not exceed limits.created_at.${name} (${global}): a class window can only be tighter, got ${own}`;
        },
      }),
    ),
  ),
  {
    key: 'members.file',
    keys: ['members.file'],
    check: ({ members }) => memberFileProblem(members.file),
  },
  {
    key: 'scopes.geohash.areas',
    keys: ['scopes.geohash.areas', 'scopes.geohash.area_precision', 'scopes.geohash.prefixes'],
    check: ({ scopes }) => areaCoverProblem(scopes.geohash),
  },
  {
    key: 'read.private',
    keys: ['read.private', 'members.enabled', 'auth.enabled'],
    check: ({ read, members, auth }) =>
      !read.private || (members.enabled && auth.enabled)
        ? undefined
        : 'needs members.enabled: true and auth.enabled: true (readers authenticate as members)',
  },
  {
    key: 'metrics.listen',
    keys: ['metrics.listen', 'metrics.enabled', 'relay.host', 'relay.port'],
    check: ({ metrics, relay }) => {
      const own = listenAddressOf(metrics.listen);
      return metrics.enabled && own !== undefined && own.port !== 0 && own.port === relay.port && own.host === relay.host
        ? `must differ from relay.host:relay.port (${metrics.listen}): metrics are served on a listener of their own`
        : undefined;
    },
  },
  {
    key: 'limits.default_limit',
    keys: ['limits.default_limit', 'limits.max_limit'],
    check: ({ limits }) =>
      limits.default_limit === null || limits.default_limit <= limits.max_limit
        ? undefined
        : `must not exceed limits.max_limit (${limits.max_limit}), got ${limits.default_limit}`,
  },
];

// --- types that tie the table to Config -------------------------------------------------------------

type Leaves<T, P extends string = ''> = {
  [K in keyof T & string]: T[K] extends readonly unknown[] ? `${P}${K}` : T[K] extends object ? Leaves<T[K], `${P}${K}.`> : `${P}${K}`;
}[keyof T & string];

type At<T, P extends string> = P extends `${infer H}.${infer R}`
  ? H extends keyof T
    ? At<T[H], R>
    : never
  : P extends keyof T
    ? T[P]
    : never;

type PlainPart<V> = [V] extends [readonly unknown[]]
  ? never
  : [V] extends [number]
    ? { type: 'integer' | 'number'; min?: number; max?: number }
    : [V] extends [boolean]
      ? { type: 'boolean' }
      : string extends V
        ? { type: 'string'; format?: StringFormat }
        : { type: 'enum'; values: readonly V[] };

/** Any key may instead be `parsed` (e.g. a duration "90d" held as seconds); lists must be. */
type TypePart<V> = PlainPart<V> | { type: 'parsed'; parse: Parser<V> };

type NullPart<T> = null extends T ? { nullable: true } : { nullable?: false };

type Row<T> = TypePart<NonNullable<T>> & NullPart<T> & { default: T; description: string; reloadable: boolean; env?: string };

type Table = { readonly [K in ConfigKey]: Row<ValueAt<K>> };
