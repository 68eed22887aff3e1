/**
 * A large benchmark database, fast: the deterministic dataset (bench/dataset.ts) WITHOUT signatures,
 * written straight through EventStore.writeBatch (no relay, no verification). For read benchmarks
 * (bench/load.ts --query-db, memory figures); never serve it to a relay that must verify events.
 *
 *   npx tsx bench/query-db.ts [count=1000000] [--seed S]
 *
 * Cached as bench/.cache/query-v<schema>-<count>.sqlite with a sidecar .json {seed, count, now}; rebuilt only
 * when missing or made for another seed. Other benches: `import { buildQueryDb } from './query-db.js'`.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serialize } from '../src/event/validate.js';
import type { EventToWrite } from '../src/store/types.js';
import { EventStore } from '../src/store/index.js';
import { SCHEMA_VERSION } from '../src/store/migrations.js';
import { CACHE_DIR, generateUnsignedEvents, MAX_EVENTS } from './dataset.js';

export interface QueryDb {
  path: string;
  seed: string;
  count: number;
  /** The dataset's "now" (unix seconds): regenerate the same events with generateUnsignedEvents(seed, count, now). */
  now: number;
}

const BATCH = 5000;

/** Named by schema version too: a file upgraded by a newer build would not open in an older one (A/B runs). */
export const queryDbPath = (count: number, cacheDir = CACHE_DIR): string => join(cacheDir, `query-v${SCHEMA_VERSION}-${count}.sqlite`);

/** The description of an existing query DB (its sidecar), or undefined. */
export function readQueryDb(path: string): QueryDb | undefined {
  const meta = `${path}.json`;
  if (!existsSync(path) || !existsSync(meta)) return undefined;
  const { seed, count, now } = JSON.parse(readFileSync(meta, 'utf8')) as QueryDb;
  return { path, seed, count, now };
}

/** Returns the cached database for (count, seed), building it first when needed. */
export function buildQueryDb(count: number, seed = 'commons-bench', log = (line: string) => process.stderr.write(`${line}\n`)): QueryDb {
  if (!Number.isInteger(count) || count < 1 || count > MAX_EVENTS) throw new Error(`count must be 1..${MAX_EVENTS}`);
  const path = queryDbPath(count);
  const existing = readQueryDb(path);
  if (existing && existing.seed === seed && existing.count === count) return existing;

  const now = Math.floor(Date.now() / 1000) - 60;
  const tmp = `${path}.${process.pid}.tmp`;
  const store = EventStore.open(tmp, { synchronous: 'normal' });
  const started = performance.now();
  let batch: EventToWrite[] = [];
  let written = 0;
  const flush = (): void => {
    store.writeBatch(batch);
    written += batch.length;
    batch = [];
    if (written % 100_000 === 0 || written === count) {
      const seconds = (performance.now() - started) / 1000;
      log(`query-db: ${written}/${count} events (${(written / seconds).toFixed(0)}/s)`);
    }
  };
  for (const event of generateUnsignedEvents(seed, count, now)) {
    batch.push({ event, json: serialize(event) });
    if (batch.length === BATCH) flush();
  }
  if (batch.length > 0) flush();
  store.close();
  for (const suffix of ['-wal', '-shm']) rmSync(`${tmp}${suffix}`, { force: true });
  renameSync(tmp, path);
  const db: QueryDb = { path, seed, count, now };
  writeFileSync(`${path}.json`, `${JSON.stringify({ seed, count, now })}\n`);
  log(`query-db: ${path} built in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return db;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const seedAt = args.indexOf('--seed');
  const seed = seedAt >= 0 ? args.splice(seedAt, 2)[1]! : 'commons-bench';
  const db = buildQueryDb(Number(args[0] ?? 1_000_000), seed);
  process.stdout.write(`${JSON.stringify(db)}\n`);
}
