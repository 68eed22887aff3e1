import type { Config } from '../config/types.js';

/**
 * The single source of what the relay claims. NIP-11's supported_nips is computed from this table and
 * the config; the NIP table of README.md is generated from it (`npm run docs:nips`), nips/README.md
 * mirrors it, and test/unit/registry.test.ts fails when a claimed NIP has no end-to-end test file.
 */
export interface NipEntry {
  nip: number;
  title: string;
  /** Where it is implemented. */
  modules: string[];
  /** End-to-end tests that prove the claim (paths from the repository root). */
  tests: string[];
  /** Whether the running config turns it on. */
  enabled(config: Config): boolean;
  /** What `enabled` checks, in words with the config keys in backticks; absent when it is always on. */
  advertisedWhen?: string;
}

export const NIPS: readonly NipEntry[] = [
  {
    nip: 1,
    title: 'Basic protocol flow',
    modules: ['src/relay/relay.ts', 'src/relay/subscriptions.ts', 'src/relay/ingest.ts', 'src/filter/', 'src/store/', 'src/fanout/'],
    tests: [
      'test/e2e/nip01-events.test.ts',
      'test/e2e/nip01-subscriptions.test.ts',
      'test/e2e/nip01-filters.test.ts',
      'test/fuzz/differential.test.ts',
    ],
    enabled: () => true,
  },
  {
    nip: 9,
    title: 'Event deletion request',
    modules: ['src/nips/nip09.ts', 'src/store/write.ts', 'src/store/migrations.ts', 'src/relay/ingest.ts'],
    tests: ['test/e2e/nip09.test.ts'],
    enabled: () => true,
  },
  {
    nip: 11,
    title: 'Relay information document',
    modules: ['src/nips/nip11.ts', 'src/server/http.ts'],
    tests: ['test/e2e/nip11.test.ts'],
    enabled: () => true,
  },
  {
    nip: 13,
    title: 'Proof of work',
    modules: ['src/policy/write.ts', 'src/relay/ingest.ts'],
    tests: ['test/e2e/nip13.test.ts'],
    enabled: (config) => config.write.min_pow > 0 || config.write.min_pow_by_kind.some((rule) => rule.min_pow > 0),
    advertisedWhen: '`write.min_pow` > 0, or a `write.min_pow_by_kind` rule asks for more than 0',
  },
  {
    nip: 40,
    title: 'Expiration timestamp',
    modules: ['src/nips/nip40.ts', 'src/store/write.ts', 'src/store/sql.ts', 'src/relay/ingest.ts', 'src/fanout/fanout.ts'],
    tests: ['test/e2e/nip40.test.ts'],
    enabled: () => true,
  },
  {
    nip: 42,
    title: 'Authentication of clients to relays',
    modules: ['src/nips/nip42.ts', 'src/relay/relay.ts', 'src/relay/intake.ts', 'src/protocol/parse.ts'],
    tests: ['test/e2e/nip42.test.ts'],
    enabled: (config) => config.auth.enabled,
    advertisedWhen: '`auth.enabled`',
  },
  {
    nip: 45,
    title: 'Event counts',
    modules: ['src/nips/nip45.ts', 'src/relay/subscriptions.ts', 'src/store/query.ts'],
    tests: ['test/e2e/nip45.test.ts', 'test/e2e/ndk.test.ts'],
    enabled: () => true,
  },
  {
    nip: 50,
    title: 'Search capability',
    modules: ['src/filter/search.ts', 'src/filter/compile.ts', 'src/store/sql.ts', 'src/store/migrations.ts'],
    tests: ['test/e2e/nip50.test.ts'],
    enabled: (config) => config.search.enabled,
    advertisedWhen: '`search.enabled`',
  },
  {
    nip: 62,
    title: 'Request to vanish',
    modules: ['src/nips/nip62.ts', 'src/store/write.ts', 'src/store/migrations.ts', 'src/relay/ingest.ts'],
    tests: ['test/e2e/nip62.test.ts'],
    enabled: () => true,
  },
  {
    nip: 65,
    title: 'Relay list metadata',
    modules: ['src/store/write.ts', 'src/filter/compile.ts'],
    tests: ['test/e2e/nip65.test.ts'],
    enabled: () => true,
  },
  {
    nip: 70,
    title: 'Protected events',
    modules: ['src/nips/nip70.ts', 'src/relay/ingest.ts'],
    tests: ['test/e2e/nip70.test.ts'],
    enabled: (config) => config.auth.enabled,
    advertisedWhen: '`auth.enabled`',
  },
  {
    nip: 77,
    title: 'Negentropy syncing',
    modules: [
      'src/nips/nip77.ts',
      'src/relay/negentropy.ts',
      'src/relay/negentropy-budget.ts',
      'src/protocol/parse.ts',
      'src/store/query.ts',
      'src/cli/sync.ts',
      'src/sync/',
    ],
    tests: ['test/e2e/nip77.test.ts', 'test/e2e/nip77-limits.test.ts', 'test/e2e/sync.test.ts', 'test/e2e/ndk.test.ts'],
    enabled: (config) => config.negentropy.enabled,
    advertisedWhen: '`negentropy.enabled`',
  },
  {
    nip: 86,
    title: 'Relay management API',
    modules: ['src/nips/nip86.ts', 'src/nips/nip98.ts', 'src/relay/management.ts', 'src/store/management.ts', 'src/server/http.ts'],
    tests: ['test/e2e/nip86.test.ts'],
    enabled: (config) => config.management.admins.length > 0,
    advertisedWhen: '`management.admins` is not empty',
  },
];

export function supportedNips(config: Config): number[] {
  return NIPS.filter((entry) => entry.enabled(config)).map((entry) => entry.nip);
}
