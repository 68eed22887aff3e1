// TEMPORARY: the hand-written Config this branch replaces, and compile-time proof that the inferred one equals it.
import type { KindSelector } from './kinds.js';
import type { KindLimitRule, PowRule } from '../policy/config.js';
import type { AreaPolygon } from '../policy/geoarea.js';
import type { Rate } from '../policy/rate-limit.js';
import type { Config, CreatedAtWindow, Limits, LogLevel, RetentionRule, VirtualHost } from './types.js';

interface OldConfig {
  relay: {
    host: string;
    port: number;
    /** Public URL clients use (wss://…); shown on the page and matched against NIP-42 AUTH relay tags. Empty = derived from host/port (AUTH: the Host header). */
    url: string;
    /** Reverse proxies (IPs, CIDR blocks) whose X-Forwarded-For header names the client; empty = the header is ignored. */
    trusted_proxies: readonly string[];
  };
  server: {
    /** auto = native uWebSockets.js when a build loads, else the portable ws server with a warning; uws = native or refuse to start; ws = portable. */
    implementation: 'auto' | 'uws' | 'ws';
  };
  info: {
    name: string;
    description: string;
    pubkey: string;
    contact: string;
    icon: string;
    banner: string;
    terms_of_service: string;
  };
  storage: {
    path: string;
    synchronous: 'full' | 'normal';
    /** Events are written on a thread of their own (a database file only); false = on the main thread. */
    writer_thread: boolean;
  };
  verify: {
    /** Signature-verification worker threads; 0 = verify on the main thread. */
    workers: number;
    /** auto = native libsecp256k1 when its addon loads, else WASM; native = the addon is required; wasm. */
    implementation: 'auto' | 'native' | 'wasm';
  };
  query: {
    /** Reader threads with read-only connections for long queries; 0 = all on the main thread. */
    readers: number;
    /** A REQ whose filters' limits add up to at least this goes to a reader (searches always do). */
    reader_min_limit: number;
  };
  limits: {
    max_message_bytes: number;
    max_subscriptions: number;
    max_filters: number;
    max_filter_values: number;
    max_limit: number;
    /** Limit of a filter that sets none; null = max_limit. */
    default_limit: number | null;
    max_subid_length: number;
    max_event_tags: number;
    max_content_length: number;
    created_at: {
      /** Seconds an event's created_at may lie ahead of now; null = no limit. */
      max_future_seconds: number | null;
      /** Seconds an event's created_at may lie behind now; null = no limit. */
      max_past_seconds: number | null;
    };
    /** A connection whose outbound buffer grows past this many bytes is closed. */
    max_outbound_bytes: number;
  };
  /** Who may write what (src/policy/write.ts); every rule is off by default. */
  write: {
    pubkeys: {
      /** Hex pubkeys (npubs converted) allowed to write; empty = everyone. */
      allow: readonly string[];
      deny: readonly string[];
    };
    /** Appended to the allow-list refusal: how to join (a URL or a sentence); empty = nothing. */
    blocked_message: string;
    kinds: {
      allow: readonly KindSelector[];
      deny: readonly KindSelector[];
    };
    /** NIP-13: leading zero bits required of an event id; 0 = none. */
    min_pow: number;
    /** First rule whose kinds match replaces `min_pow` for that event. */
    min_pow_by_kind: readonly PowRule[];
    /** First rule whose kinds match adds its limits to the global ones. */
    limits_by_kind: readonly KindLimitRule[];
    /** Per kind class, a tighter created_at window than limits.created_at; null = the global value. */
    created_at_by_class: {
      regular: OldCreatedAtWindow;
      replaceable: OldCreatedAtWindow;
      ephemeral: OldCreatedAtWindow;
      addressable: OldCreatedAtWindow;
    };
  };
  auth: {
    /** NIP-42: send a challenge on connect and accept AUTH; also what makes NIP-70 protected events publishable. */
    enabled: boolean;
    /** How far an AUTH event's created_at may lie from the relay's clock, either way. */
    max_age_seconds: number;
  };
  /** Token buckets (src/policy/rate-limit.ts, src/relay/rate-limits.ts); null = no limit. */
  rate_limits: {
    /** EVENTs from one IP (an IPv6 /64), counted before the signature check. */
    events_per_ip: Rate | null;
    /** EVENTs by one author, after the signature check, per kind class. */
    events_per_pubkey: {
      regular: Rate | null;
      replaceable: Rate | null;
      ephemeral: Rate | null;
      addressable: Rate | null;
    };
    /** REQ, COUNT and NEG-OPEN messages of one connection. */
    queries_per_connection: Rate | null;
    /** New connections from one IP. */
    connections_per_ip: Rate | null;
    /** Open connections from one IP at once. */
    max_connections_per_ip: number | null;
    /** IPs and CIDR blocks the per-IP limits leave alone (e.g. a client service posting for many users); per-pubkey limits still apply. */
    exempt_ips: readonly string[];
  };
  /** Who may read what (src/policy/read.ts). */
  read: {
    /** Kinds readable only by a connection authenticated (NIP-42) as the author or a p-tagged recipient. */
    auth_required_kinds: readonly number[];
    /** Reading at all (REQ, COUNT, NEG-OPEN) requires AUTH as a member. */
    private: boolean;
  };
  /** Community membership (src/policy/membership.ts): members write anything allowed, others only open kinds and DMs to members. */
  members: {
    enabled: boolean;
    /** Hex pubkeys (npubs converted). */
    pubkeys: readonly string[];
    /** A file with one pubkey (hex or npub) per line, `#` comments, re-read when it changes; '' = none. */
    file: string;
    /** Kinds anyone may write. */
    open_kinds: readonly KindSelector[];
    /** Kinds non-members may write when the event p-tags a member. */
    dm_kinds: readonly KindSelector[];
    /** Members (pubkeys + file, whether or not `enabled`) skip NIP-13 proof of work. */
    exempt_from_pow: boolean;
  };
  /** Scopes (src/policy/geohash.ts): a relay for a place. */
  scopes: {
    geohash: {
      /** Geohash cells (lowercase) the relay serves; empty = no scope. */
      prefixes: readonly string[];
      /** GeoJSON areas as polygons (outline, then holes; positions [longitude, latitude]), covered by cells at load. */
      areas: readonly AreaPolygon[];
      /** Length of the smallest cells covering `areas` (1–12). */
      area_precision: number;
      /** Kinds refused without any `g` tag. */
      require_for_kinds: readonly KindSelector[];
    };
  };
  search: {
    /** NIP-50: accept `search` filters (SQLite FTS5); false = refused with unsupported:, 50 not advertised. */
    enabled: boolean;
  };
  negentropy: {
    /** NIP-77: answer NEG-OPEN / NEG-MSG / NEG-CLOSE. */
    enabled: boolean;
    /** Most stored events one NEG-OPEN may reconcile. */
    max_records: number;
    /** Open negentropy sessions per connection. */
    max_sessions: number;
    /** Open negentropy sessions per IP (an IPv6 /64), over all its connections. */
    max_sessions_per_ip: number;
    /** Records all sets of the process may hold together (process-wide: set at the top level). */
    max_total_records: number;
    /** Seconds of silence after which a session is closed. */
    idle_seconds: number;
  };
  management: {
    /** NIP-86: hex pubkeys (npubs converted) allowed to use the management API; empty = the API is off. */
    admins: readonly string[];
  };
  logging: {
    level: OldLogLevel;
    connections: OldLogLevel;
    rejections: OldLogLevel;
    /** auto = readable lines on a terminal, JSON lines otherwise. */
    format: 'auto' | 'json' | 'pretty';
  };
  /** Hot reload of the config file by `serve` (SIGHUP always reloads). */
  reload: {
    watch: boolean;
  };
  /** GET /metrics (Prometheus text format) on a listener of its own (src/server/metrics-http.ts). */
  metrics: {
    /** false = nothing listens. */
    enabled: boolean;
    /** host:port ([v6]:port) of the metrics listener; port 0 picks a free one. */
    listen: string;
  };
  /** Per-kind retention (src/retention/): the first rule whose kinds match an event's kind decides. */
  retention: readonly OldRetentionRule[];
  /**
   * Virtual relays (src/config/hosts.ts): each serves the Host header names it lists with its own config
   * (the top level merged with its block) and database. Empty in a host's own config. Not a schema key.
   */
  hosts: readonly OldVirtualHost[];
}

/** One `hosts:` entry: the names it answers to (lowercase, no port) and its complete config. */
interface OldVirtualHost {
  names: readonly string[];
  config: OldConfig;
}

/** One retention rule; durations in seconds. */
interface OldRetentionRule {
  kinds: readonly KindSelector[];
  /** Delete events of these kinds older than this. */
  max_age?: number;
  /** Keep the newest N events of these kinds per author. */
  max_per_pubkey?: number;
  /** Keep the newest N events of these kinds overall. */
  max_total?: number;
  /** Ephemeral kinds only: store them for this long after arrival (late joiners see the last minutes). */
  keep?: number;
}

interface OldCreatedAtWindow {
  max_future_seconds: number | null;
  max_past_seconds: number | null;
}

type OldLogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
type OldLimits = OldConfig['limits'];

/** Each side assignable to the other. */
type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Identical types (readonly and optional modifiers included), not only mutually assignable. */
type Identical<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Both<A, B> = [Mutual<A, B>, Identical<A, B>];

/** Per section, both directions and identity; a `false` anywhere fails to compile. */
export const SECTIONS_EQUAL: { [K in keyof OldConfig]-?: Both<OldConfig[K], Config[K]> } = {
  relay: [true, true],
  server: [true, true],
  info: [true, true],
  storage: [true, true],
  verify: [true, true],
  query: [true, true],
  limits: [true, true],
  write: [true, true],
  auth: [true, true],
  rate_limits: [true, true],
  read: [true, true],
  members: [true, true],
  scopes: [true, true],
  search: [true, true],
  negentropy: [true, true],
  management: [true, true],
  logging: [true, true],
  reload: [true, true],
  metrics: [true, true],
  retention: [true, true],
  hosts: [true, true],
};
/** No section added or lost. */
export const SAME_SECTIONS: [Identical<keyof OldConfig, keyof Config>] = [true];
export const WHOLE_EQUAL: Both<OldConfig, Config> = [true, true];
export const NAMES_EQUAL: [
  Both<OldVirtualHost, VirtualHost>,
  Both<OldRetentionRule, RetentionRule>,
  Both<OldCreatedAtWindow, CreatedAtWindow>,
  Both<OldLogLevel, LogLevel>,
  Both<OldLimits, Limits>,
] = [
  [true, true],
  [true, true],
  [true, true],
  [true, true],
  [true, true],
];
