/**
 * One retention pass: NIP-40 expiration (also ephemeral `keep`) and the retention rules, as a generator
 * that yields after every bounded batch. The background Pruner (pruner.ts) drives it step by step —
 * in its worker thread, or on the event loop for a ':memory:' store — and the CLI straight through.
 *
 * Stages of a pass:
 * 1. expired rows (expires_at <= now), through the partial index events_expires;
 * 2. max_age: for every stored kind (found by index seeks) whose deciding rule has max_age, the rows
 *    older than now − max_age, through (kind, created_at);
 * 3. max_per_pubkey / max_total (only when a rule has them): one walk over all events newest first
 *    (index created_at, keyset-paginated), counting per rule and per rule+author; rows past the
 *    count are deleted. A row deleted for max_per_pubkey does not count toward max_total.
 */
import type { RetentionStatements } from '../store/retention.js';
import { WALK_START, type WalkCursor } from '../store/retention.js';
import type { Retention } from './rules.js';

export type PruneStatements = Pick<
  RetentionStatements,
  'nextKind' | 'olderThan' | 'countOlderThan' | 'countExpired' | 'deleteExpired' | 'walk' | 'delete'
>;

export interface PruneStore {
  readonly retention: PruneStatements;
}

export interface RuleCounts {
  max_age: number;
  max_per_pubkey: number;
  max_total: number;
}

export interface PruneReport {
  /** Expired (NIP-40 expiration or the end of an ephemeral `keep`). */
  expired: number;
  /** Per rule, in config order: events deleted (or that would be, in a dry run), by cause. */
  rules: RuleCounts[];
}

export interface PassOptions {
  /** Count only; delete nothing. */
  dryRun?: boolean;
  /** Most rows deleted (or walked) per step; a function is read before every step (adaptive). */
  batch?: number | (() => number);
}

export const DEFAULT_BATCH = 500;
/** Kind seeks per step in stage 2 when no rows are deleted. */
const SEEKS_PER_STEP = 256;

function* prunePass(store: PruneStore, retention: Retention, now: number, options: PassOptions = {}): Generator<void, PruneReport> {
  const size = options.batch ?? DEFAULT_BATCH;
  const batchSize = typeof size === 'number' ? () => size : size;
  const dryRun = options.dryRun ?? false;
  const s = store.retention;
  const report: PruneReport = { expired: 0, rules: retention.rules.map(() => ({ max_age: 0, max_per_pubkey: 0, max_total: 0 })) };

  // 1. expired
  if (dryRun) report.expired = s.countExpired(now);
  else {
    for (;;) {
      const batch = batchSize();
      const n = s.deleteExpired(now, batch);
      report.expired += n;
      if (n < batch) break;
      yield;
    }
  }
  yield;

  // 2. max_age, per stored kind
  if (retention.rules.some((rule) => rule.max_age !== undefined)) {
    let seeks = 0;
    for (let kind = s.nextKind(-1); kind !== undefined; kind = s.nextKind(kind)) {
      if (++seeks % SEEKS_PER_STEP === 0) yield;
      const rule = retention.ruleFor(kind);
      if (rule?.max_age === undefined) continue;
      const cutoff = now - rule.max_age;
      if (dryRun) {
        report.rules[rule.index]!.max_age += s.countOlderThan(kind, cutoff);
        yield;
        continue;
      }
      for (;;) {
        const batch = batchSize();
        const seqs = s.olderThan(kind, cutoff, batch);
        s.delete(seqs);
        report.rules[rule.index]!.max_age += seqs.length;
        yield;
        if (seqs.length < batch) break;
      }
    }
  }

  // 3. max_per_pubkey / max_total, newest first
  if (!retention.counts) return report;
  const totals = new Map<number, number>();
  const perAuthor = new Map<number, Map<string, number>>();
  let cursor: WalkCursor = WALK_START;
  for (;;) {
    const batch = batchSize();
    const rows = s.walk(cursor, batch);
    if (rows.length === 0) break;
    const doomed: number[] = [];
    for (const row of rows) {
      cursor = row;
      const rule = retention.ruleFor(row.kind);
      if (rule === undefined || (rule.max_per_pubkey === undefined && rule.max_total === undefined)) continue;
      // Gone after stages 1–2 (a dry run did not delete them): they count toward nothing.
      if (row.expires_at !== null && row.expires_at <= now) continue;
      if (rule.max_age !== undefined && row.created_at < now - rule.max_age) continue;
      const counts = report.rules[rule.index]!;
      if (rule.max_per_pubkey !== undefined) {
        let authors = perAuthor.get(rule.index);
        if (authors === undefined) perAuthor.set(rule.index, (authors = new Map()));
        const key = row.pubkey.toString('hex');
        const seen = (authors.get(key) ?? 0) + 1;
        authors.set(key, seen);
        if (seen > rule.max_per_pubkey) {
          doomed.push(row.seq);
          counts.max_per_pubkey++;
          continue;
        }
      }
      if (rule.max_total !== undefined) {
        const total = (totals.get(rule.index) ?? 0) + 1;
        totals.set(rule.index, total);
        if (total > rule.max_total) {
          doomed.push(row.seq);
          counts.max_total++;
        }
      }
    }
    if (!dryRun) s.delete(doomed);
    yield;
    if (rows.length < batch) break;
  }
  return report;
}

/** Runs a whole pass at once (the CLI). */
export function runPass(store: PruneStore, retention: Retention, now: number, options: PassOptions = {}): PruneReport {
  const pass = prunePass(store, retention, now, options);
  for (;;) {
    const step = pass.next();
    if (step.done) return step.value;
  }
}

export function deletedIn(report: PruneReport): number {
  return report.rules.reduce((sum, r) => sum + r.max_age + r.max_per_pubkey + r.max_total, report.expired);
}

export interface PassResult extends PruneReport {
  /** Longest single step, in milliseconds (on the event loop: the longest the pass held it). */
  longestStepMs: number;
  steps: number;
}

export interface DriveOptions {
  /** Most rows per step. */
  maxBatch: number;
  /** The step time the adaptive batch aims at. */
  targetStepMs: number;
  /** Rows per step, adapted after every step and kept across passes. */
  state: { batch: number };
  /** Awaited between steps, with the last step's duration. */
  pause(stepMs: number): Promise<void>;
  /** Checked before every step: true ends the pass early (shutdown). */
  stopped(): boolean;
}

/**
 * Runs a pass step by step with an adaptive step size. Deleting a row costs random page writes in
 * every index (events, tags, FTS), so on a cold or large database 500 rows can take hundreds of ms: the
 * batch is halved after a step over the target and grown by half after one under half of it, between
 * 1 and `maxBatch` rows.
 */
export async function drivePass(store: PruneStore, retention: Retention, now: number, options: DriveOptions): Promise<PassResult> {
  const { state, targetStepMs } = options;
  const pass = prunePass(store, retention, now, { batch: () => state.batch });
  let longestStepMs = 0;
  let steps = 0;
  for (;;) {
    if (options.stopped()) return { expired: 0, rules: [], longestStepMs, steps };
    const started = performance.now();
    const next = pass.next();
    const elapsed = performance.now() - started;
    longestStepMs = Math.max(longestStepMs, elapsed);
    if (elapsed > targetStepMs) state.batch = Math.max(1, Math.floor(state.batch / 2));
    else if (elapsed < targetStepMs / 2) state.batch = Math.min(options.maxBatch, Math.ceil(state.batch * 1.5));
    steps++;
    if (next.done) return { ...next.value, longestStepMs, steps };
    await options.pause(elapsed);
  }
}
