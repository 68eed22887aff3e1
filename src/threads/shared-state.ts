import { Counters } from '../relay/counters.js';
import { CountingMetrics } from '../relay/metrics.js';
import { allocateSharedNegentropyBudget, releaseNegentropyRow, type SharedNegentropyBudget } from '../relay/negentropy-budget.js';
import { allocateSharedRateLimits, releaseOpenConnections, type SharedRateLimits } from '../relay/rate-limits.js';

/**
 * What every connection thread shares (server.threads), in SharedArrayBuffers the coordinator allocates
 * and hands to each thread: per site, in site order, the counters, the rate limit tables and (with
 * metrics.enabled) the metrics; for the process, the NIP-77 budget. Each thread counts in its own row.
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
    rateLimits: perSite(() => allocateSharedRateLimits(threads)),
    metrics: metrics ? perSite(() => CountingMetrics.cellsFor(threads) as SharedArrayBuffer) : undefined,
    negentropy: allocateSharedNegentropyBudget(threads),
  };
}

/**
 * The thread of row `row` died: what its connections held is given back — their places in the
 * connection counts, the per-IP open connections and NIP-77 sessions, the records of its NIP-77 sets —
 * so that the thread started in its place counts from nothing. What it counted since the start (events,
 * the metrics' totals) stays.
 */
export function releaseThreadRow(shared: ThreadSharedState, row: number): void {
  for (const cells of shared.counters) new Counters(cells, row).clearOpen();
  for (const tables of shared.rateLimits) releaseOpenConnections(tables, row);
  releaseNegentropyRow(shared.negentropy, row);
}
