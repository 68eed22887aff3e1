import { Counters } from '../relay/counters.js';
import { CountingMetrics } from '../relay/metrics.js';
import { allocateSharedNegentropyBudget, type SharedNegentropyBudget } from '../relay/negentropy-budget.js';
import { allocateSharedRateLimits, type SharedRateLimits } from '../relay/rate-limits.js';

/**
 * What every connection thread shares (server.threads), in SharedArrayBuffers the coordinator allocates
 * and hands to each thread: per site, in site order, the counters, the rate limit tables and (with
 * metrics.enabled) the metrics; for the process, the NIP-77 budget.
 */
export interface ThreadSharedState {
  readonly counters: readonly SharedArrayBuffer[];
  readonly rateLimits: readonly SharedRateLimits[];
  readonly metrics: readonly SharedArrayBuffer[] | undefined;
  readonly negentropy: SharedNegentropyBudget;
}

export function allocateThreadSharedState(threads: number, sites: number, metrics: boolean): ThreadSharedState {
  const perSite = <T>(allocate: () => T): T[] => Array.from({ length: sites }, allocate);
  return {
    counters: perSite(() => Counters.cellsFor(threads) as SharedArrayBuffer),
    rateLimits: perSite(allocateSharedRateLimits),
    metrics: metrics ? perSite(() => CountingMetrics.cellsFor(threads) as SharedArrayBuffer) : undefined,
    negentropy: allocateSharedNegentropyBudget(),
  };
}
