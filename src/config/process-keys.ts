/**
 * The sections of how the process runs: where it listens, its server, database file, threads, logs,
 * hot reload, metrics and backups. Their readers (server/, relay/, store/, log.ts) sit above config/ or know
 * nothing of it, so their rows live here; table.ts puts every section in file order.
 */
import { parseVerifyImplementation } from '../event/verify-native.js';
import { parseAddressList } from '../net/ip.js';
import { parseListenAddress } from '../net/listen.js';
import { parseDuration, parseDurationAtLeast } from './duration.js';
import { boolean, integer, oneOf, parsed, string } from './rows.js';
import type { Parser } from './values.js';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The WebSocket listener and the public URL. */
export const RELAY_KEYS = {
  'relay.host': string({
    format: 'host',
    default: '127.0.0.1',
    reloadable: false,
    env: 'COMMONS_HOST',
    description: 'Address the WebSocket server listens on; 0.0.0.0 listens on every interface.',
  }),
  'relay.port': integer({
    min: 0,
    max: 65535,
    default: 7777,
    reloadable: false,
    env: 'COMMONS_PORT',
    description: 'TCP port the WebSocket server listens on; 0 picks a free ephemeral port.',
  }),
  'relay.url': string({
    format: 'ws-url',
    default: '',
    reloadable: true,
    description:
      'Public ws:// or wss:// URL clients use (shown on the page, used for NIP-42, NIP-98 and NIP-62); empty = ws://host:port. A reload applies it to the next AUTH, management request and kind 62, on open connections too.',
  }),
  'relay.trusted_proxies': parsed(parseAddressList, {
    default: [],
    reloadable: false,
    description:
      'Reverse proxies (IPs or CIDR blocks, v4 or v6) trusted to name the client in X-Forwarded-For: from a trusted peer the client is the right-most address that is not itself trusted; [] = the header is ignored and the TCP peer is the client.',
  }),
};

/** server.threads: "auto" (one per core, at most 8, decided at start) or 1 to 64. */
function parseThreads(value: unknown): ReturnType<Parser<'auto' | number>> {
  if (value === 'auto') return { ok: true, value };
  const count = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof count === 'number' && Number.isInteger(count) && count >= 1 && count <= 64) return { ok: true, value: count };
  return { ok: false, reason: `expected auto (one per core, at most 8) or a whole number from 1 to 64, got ${JSON.stringify(value)}` };
}

/** Which WebSocket server runs (src/server/). */
export const SERVER_KEYS = {
  'server.implementation': oneOf(['auto', 'uws', 'ws'], {
    default: 'auto',
    reloadable: false,
    env: 'COMMONS_SERVER',
    description:
      'WebSocket server: auto = native uWebSockets.js when a build of it loads on this Node and libc, else the portable ws server, with a warning naming the cause and the fix; uws = native or refuse to start; ws = always the portable server (slower, runs anywhere).',
  }),
  'server.threads': parsed(parseThreads, {
    default: 'auto',
    reloadable: false,
    env: 'COMMONS_THREADS',
    description:
      'Connection threads: each accepts connections on the same port (SO_REUSEPORT) and serves them end to end; auto = one per core, at most 8; 1 = the main thread alone. More than 1 needs the native server, storage.writer_thread and a database file (else the relay runs 1: with a warning when a number was asked for).',
  }),
};

/** The SQLite database (src/store/). */
export const STORAGE_KEYS = {
  'storage.path': string({
    format: 'path',
    default: './data/relay.sqlite',
    reloadable: false,
    env: 'COMMONS_DB',
    description: 'SQLite database file; a relative path is taken from the directory the relay is started in.',
  }),
  'storage.synchronous': oneOf(['full', 'normal'], {
    default: 'full',
    reloadable: false,
    description:
      'SQLite synchronous mode: full = an OK true survives power loss; normal = faster, the last commits may be lost on power loss (not on a process crash).',
  }),
  'storage.writer_thread': boolean({
    default: true,
    reloadable: false,
    description:
      'Write events on a thread with its own connection, so commits, fsyncs, checkpoints and waits for the pruner never hold the event loop; false = write on the main thread. An in-memory store always writes on the main thread.',
  }),
};

/** Signature verification (src/event/verify-*.ts). */
export const VERIFY_KEYS = {
  'verify.workers': integer({
    min: 0,
    max: 64,
    default: 2,
    reloadable: false,
    description:
      'Worker threads that check signatures (WASM libsecp256k1); 0 = check on the main thread. 2 suits a 2-core server; use the CPU count on a larger one.',
  }),
  'verify.implementation': parsed(parseVerifyImplementation, {
    default: 'auto',
    reloadable: false,
    description:
      'Signature checker: auto = native libsecp256k1 (the addon npm install builds when libsecp256k1-dev is present, ~6x faster) if it loads, else WASM; native = require the addon (an error at start without it); wasm = always WASM.',
  }),
};

/** query.readers: "auto" (half the connection threads, at least 1, decided at start) or 0 to 64. */
function parseReaders(value: unknown): ReturnType<Parser<'auto' | number>> {
  if (value === 'auto') return { ok: true, value };
  const count = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof count === 'number' && Number.isInteger(count) && count >= 0 && count <= 64) return { ok: true, value: count };
  return {
    ok: false,
    reason: `expected auto (half the connection threads, at least 1) or a whole number from 0 to 64, got ${JSON.stringify(value)}`,
  };
}

/** Reader threads for long queries (src/store/readers.ts). */
export const QUERY_KEYS = {
  'query.readers': parsed(parseReaders, {
    default: 'auto',
    reloadable: false,
    description:
      'Reader threads of the process, each with its own read-only connection, that run NIP-50 searches, COUNTs, NEG-OPEN sets and large-limit REQs off the event loops; every connection thread sends its long queries to the same readers. auto = half the connection threads (server.threads), at least 1; 0 = every query on its connection thread (always so for an in-memory store).',
  }),
  'query.reader_min_limit': integer({
    min: 1,
    default: 500,
    reloadable: true,
    description:
      'A REQ goes to a reader thread when the limits of its filters add up to at least this many events (or when it searches); a filter counts fewer when the store can hold fewer matches (ids; replaceable kinds by author; addressable kinds by author and d). Cheaper REQs are answered on the main thread.',
  }),
};

/** The log (src/log.ts). */
export const LOGGING_KEYS = {
  'logging.level': oneOf(LOG_LEVELS, {
    default: 'info',
    reloadable: true,
    description: 'Lowest level written to the log: trace, debug, info, warn, error, fatal or silent.',
  }),
  'logging.connections': oneOf(LOG_LEVELS, {
    default: 'debug',
    reloadable: true,
    description: 'Level at which connection opens and closes are logged.',
  }),
  'logging.rejections': oneOf(LOG_LEVELS, {
    default: 'info',
    reloadable: true,
    description: 'Level at which rejected events and requests are logged.',
  }),
  'logging.format': oneOf(['auto', 'json', 'pretty'], {
    default: 'auto',
    reloadable: false,
    description: 'auto = readable lines on a terminal, JSON lines otherwise; json; pretty.',
  }),
};

/** Hot reload of the config file by `serve` (SIGHUP always reloads). */
export const RELOAD_KEYS = {
  'reload.watch': boolean({
    default: true,
    reloadable: true,
    description:
      'serve reloads this file when it changes, or a GeoJSON file it names in scopes.geohash.areas (as on SIGHUP); false = only on SIGHUP.',
  }),
};

/** GET /metrics on a listener of its own (src/server/metrics-http.ts). */
export const METRICS_KEYS = {
  'metrics.enabled': boolean({
    default: false,
    reloadable: false,
    description:
      'Serve GET /metrics in the Prometheus text format on metrics.listen, a listener of its own apart from the relay port (the relay port never serves it); false = nothing listens.',
  }),
  'metrics.listen': parsed(parseListenAddress, {
    default: '127.0.0.1:9477',
    reloadable: false,
    description:
      'host:port ([v6]:port for IPv6) the metrics listener binds when metrics.enabled; keep it on loopback or a private network that only the Prometheus server reaches (the endpoint has no authentication); port 0 picks a free port.',
  }),
};

/** Periodic backups by the relay itself (src/relay/backups.ts); `commons backup FILE` takes one by hand. */
export const BACKUP_KEYS = {
  'backup.every': parsed(parseDurationAtLeast(60), {
    nullable: true,
    default: null,
    reloadable: true,
    description:
      'How often the relay backs up its database (SQLite backup API, online, checked: integrity_check and event count), a duration such as "6h" or "1d", at least 1m; the next backup is due this long after the newest one in backup.dir (at once when there is none); null = no periodic backups.',
  }),
  'backup.keep': integer({
    min: 1,
    max: 10000,
    default: 7,
    reloadable: true,
    description: 'Backups of the database kept in backup.dir; after each new backup the older ones are removed.',
  }),
  'backup.dir': string({
    format: 'path',
    default: './data/backups',
    reloadable: true,
    description:
      'Directory the backups are written to (created if missing), as <database name>-<UTC time>.sqlite, e.g. relay-20270131T120000Z.sqlite; a relative path is taken from the directory the relay is started in.',
  }),
};

const NAME_TOKEN = /^[A-Za-z0-9_-]{1,32}$/;

/** A NATS name (node, stream, subject token): letters, digits, _ and -, at most 32. */
function parseNameToken(what: string): Parser<string> {
  return (value) =>
    typeof value === 'string' && (value === '' || NAME_TOKEN.test(value))
      ? { ok: true, value }
      : { ok: false, reason: `expected ${what}: 1 to 32 letters, digits, _ or -, got ${JSON.stringify(value)}` };
}

/** cluster.servers: a non-empty list of nats://, tls://, ws:// or wss:// URLs (or host:port). */
function parseNatsServers(value: unknown): ReturnType<Parser<readonly string[]>> {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0)
    return { ok: false, reason: 'expected a non-empty list of NATS URLs, e.g. [nats://127.0.0.1:4222]' };
  for (const [i, url] of list.entries()) {
    if (typeof url !== 'string' || !/^((nats|tls|wss?):\/\/)?[^\s/]+:\d+$/.test(url.trim())) {
      return {
        ok: false,
        at: Array.isArray(value) ? `[${i}]` : undefined,
        reason: `expected a NATS URL such as nats://10.0.0.5:4222, got ${JSON.stringify(url)}`,
      };
    }
  }
  return { ok: true, value: Object.freeze(list.map((url: string) => url.trim())) };
}

/** Several nodes as one relay over NATS JetStream (src/cluster/, README "Running several nodes"). */
export const CLUSTER_KEYS = {
  'cluster.enabled': boolean({
    default: false,
    reloadable: false,
    description:
      'Join a cluster: events this node stores are published to a NATS JetStream stream (from an outbox written in the same transaction), and events the other nodes publish are stored here and sent live; false = a relay on its own, no NATS.',
  }),
  'cluster.node': parsed(parseNameToken('a node name'), {
    default: '',
    reloadable: false,
    env: 'COMMONS_CLUSTER_NODE',
    description:
      "This node's name, unique in the cluster (letters, digits, _ and -): the name of its durable consumer on the stream, in its log and in `commons cluster status`. Required when cluster.enabled.",
  }),
  'cluster.servers': parsed(parseNatsServers, {
    default: Object.freeze(['nats://127.0.0.1:4222']) as readonly string[],
    reloadable: false,
    description: 'NATS servers to connect to (any one will do; the client reconnects forever, to any of them).',
  }),
  'cluster.credentials': string({
    default: '',
    reloadable: false,
    description: 'A NATS credentials file (.creds: JWT and NKey seed) to authenticate with; empty = none.',
  }),
  'cluster.stream': parsed(parseNameToken('a stream name'), {
    default: 'COMMONS',
    reloadable: false,
    description: 'The JetStream stream every node publishes to and consumes (created by the first node that finds it missing).',
  }),
  'cluster.subject_prefix': parsed(parseNameToken('a subject prefix'), {
    default: 'commons',
    reloadable: false,
    description:
      'First token of the subjects: <prefix>.events.<site> (the stream), <prefix>.ephemeral.<site> and <prefix>.status (core NATS).',
  }),
  'cluster.replicas': integer({
    min: 1,
    max: 5,
    default: 1,
    reloadable: false,
    description:
      'Replicas of the stream when this node creates it (a NATS cluster of at least as many servers); 1 = one NATS server holds it.',
  }),
  'cluster.max_age': parsed(parseDuration, {
    nullable: true,
    default: 30 * 86400,
    reloadable: false,
    description:
      'How long the stream keeps a message when this node creates it, a duration such as "30d"; null = forever. A node down for longer cannot catch up from the stream: `commons sync` it from a peer (NIP-77).',
  }),
  'cluster.max_bytes': integer({
    min: 1,
    nullable: true,
    default: null,
    reloadable: false,
    description: 'Bytes the stream keeps when this node creates it (oldest messages go first); null = no bound but max_age.',
  }),
  'cluster.outbox_max_events': integer({
    min: 100,
    max: 1_000_000_000,
    default: 1_000_000,
    reloadable: false,
    description:
      'Events stored here and not yet published (NATS unreachable) that the node keeps in its outbox; when it is full, new events are refused with "error:" until NATS is back. Nothing acknowledged is ever dropped.',
  }),
};
