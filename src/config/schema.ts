/**
 * The table (table.ts) as code that walks every key sees it: the rows in file order with their keys,
 * lookup by key, the sections that hold keys, and the rules across keys.
 */
import type { Config } from './types.js';
import type { RowSpec } from './rows.js';
import { TABLE, type ConfigKey } from './table.js';
import { memberFileProblem } from '../policy/membership.js';
import { areaCoverProblem } from '../policy/geohash.js';
import { listenAddressOf } from '../net/listen.js';

export type { ConfigKey };

/** One row of the table with its key. */
export interface KeySpec extends RowSpec {
  readonly key: ConfigKey;
}

/** Every key, in declaration order (which is also the order of config/relay.yaml). */
export const SCHEMA: readonly KeySpec[] = Object.freeze(
  (Object.keys(TABLE) as ConfigKey[]).map((key): KeySpec => Object.freeze({ key, ...TABLE[key] })),
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
    key: 'cluster.node',
    keys: ['cluster.node', 'cluster.enabled'],
    check: ({ cluster }) =>
      cluster.enabled && cluster.node === ''
        ? 'is required when cluster.enabled: name this node (letters, digits, _ and -), unique in the cluster'
        : undefined,
  },
  {
    key: 'cluster.enabled',
    keys: ['cluster.enabled', 'storage.writer_thread', 'storage.path'],
    check: ({ cluster, storage }) =>
      !cluster.enabled
        ? undefined
        : !storage.writer_thread
          ? "needs storage.writer_thread: true (the writer thread keeps the outbox and applies the other nodes' events)"
          : [':memory:', ''].includes(storage.path)
            ? 'needs a database file (storage.path), not :memory: (the outbox must survive a restart)'
            : undefined,
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
