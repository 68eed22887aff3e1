import type { Config } from '../config/types.js';

/**
 * The single source of what the relay claims. NIP-11's supported_nips is computed from this table and
 * the config; nips/README.md mirrors it, and test/unit/registry.test.ts fails when a claimed NIP has no
 * end-to-end test file.
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
}

export const NIPS: readonly NipEntry[] = [
  {
    nip: 1,
    title: 'Basic protocol flow',
    modules: ['src/relay/relay.ts', 'src/relay/ingest.ts', 'src/filter/', 'src/store/', 'src/subs/registry.ts'],
    tests: ['test/e2e/nip01-events.test.ts', 'test/e2e/nip01-subscriptions.test.ts', 'test/e2e/nip01-filters.test.ts', 'test/fuzz/differential.test.ts'],
    enabled: () => true,
  },
  {
    nip: 11,
    title: 'Relay information document',
    modules: ['src/nips/nip11.ts', 'src/server/http.ts'],
    tests: ['test/e2e/nip11.test.ts'],
    enabled: () => true,
  },
];

export function supportedNips(config: Config): number[] {
  return NIPS.filter((entry) => entry.enabled(config)).map((entry) => entry.nip);
}
