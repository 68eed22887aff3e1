/**
 * Micro-benchmark of the store's write path (src/store/write.ts): the realistic-mix dataset written to a
 * fresh SQLite file in batches (synchronous=FULL, as the relay runs), once per schema variant, variants
 * alternating within each round. Prints µs per event, median over rounds. The variants drop or change
 * parts of the schema to show what each costs; only "relay" is what the relay runs.
 *
 *   npx tsx bench/insert.ts [--events 20000] [--batch 64] [--rounds 3] [--variants relay,4k-pages]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type BetterSqlite3 from 'better-sqlite3';
import Database from '../src/store/sqlite.js';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { EventStore } from '../src/store/store.js';
import type { EventToWrite } from '../src/store/types.js';
import { loadDataset } from './dataset.js';

const args = await yargs(hideBin(process.argv))
  .option('events', { type: 'number', default: 20000 })
  .option('batch', { type: 'number', default: 64 })
  .option('rounds', { type: 'number', default: 3 })
  .option('variants', { type: 'string' })
  .strict()
  .parse();

interface Variant {
  /** Page size of the new file (the relay's is 8192). */
  pageSize?: number;
  /** Run on the migrated schema before writing. */
  sql?: string[];
  /** Set on the store's own connection. */
  pragmas?: string[];
}
const variants: Record<string, Variant> = {
  relay: {},
  '4k-pages': { pageSize: 4096 },
  'no-fts-rows': {
    sql: [
      'DROP TRIGGER events_fts_delete',
      'DROP TABLE events_fts',
      'CREATE TABLE events_fts (content TEXT)',
      'CREATE TRIGGER events_fts_delete AFTER DELETE ON events BEGIN DELETE FROM events_fts WHERE rowid = old.seq; END',
    ],
  },
  'sync-normal': { pragmas: ['synchronous = NORMAL'] },
  'no-checkpoints': { pragmas: ['wal_autocheckpoint = 0'] },
  'no-tag-index': { sql: ['DROP INDEX tags_value_created_kind'] },
  // Before migration 6: two tag indexes, (name, value, created_at) and (name, value, kind, created_at).
  'two-tag-indexes': { sql: ['CREATE INDEX tags_value_kind_created ON tags (name, value, kind, created_at)'] },
  'no-events-secondary': { sql: ['DROP INDEX events_created', 'DROP INDEX events_kind_created', 'DROP INDEX events_pubkey_created'] },
};
const chosen = args.variants ? args.variants.split(',') : Object.keys(variants);

const dataset = loadDataset({ seed: 'commons-bench', count: args.events, now: Math.floor(Date.now() / 1000) });
const items: EventToWrite[] = dataset.events
  .filter((event) => event.kind < 20000 || event.kind >= 30000)
  .map((event) => ({ event, json: JSON.stringify(event) }));

const results = new Map<string, number[]>();
for (let round = 0; round < args.rounds; round++) {
  for (const name of chosen) {
    const variant = variants[name];
    if (variant === undefined) throw new Error(`unknown variant ${name}`);
    const dir = mkdtempSync(join(tmpdir(), 'commons-insert-'));
    const path = join(dir, 'relay.sqlite');
    if (variant.pageSize !== undefined) {
      const raw = new Database(path);
      raw.pragma(`page_size = ${variant.pageSize}`);
      raw.pragma('journal_mode = WAL');
      raw.close();
    }
    const store = EventStore.open(path, { synchronous: 'full' });
    if (variant.sql) {
      const db = new Database(path);
      for (const sql of variant.sql) db.exec(sql);
      db.close();
    }
    const connection = (store as unknown as { db: BetterSqlite3.Database }).db;
    for (const pragma of variant.pragmas ?? []) connection.pragma(pragma);
    const start = performance.now();
    for (let i = 0; i < items.length; i += args.batch) store.writeBatch(items.slice(i, i + args.batch));
    const micros = ((performance.now() - start) * 1000) / items.length;
    store.close();
    rmSync(dir, { recursive: true, force: true });
    results.set(name, [...(results.get(name) ?? []), micros]);
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(results.get(chosen[0]!)!);
console.log(`${items.length} events, batches of ${args.batch}, median of ${args.rounds} rounds`);
console.log(`| variant | µs/event | vs ${chosen[0]} |`);
console.log('| --- | ---: | ---: |');
for (const [name, xs] of results) console.log(`| ${name} | ${median(xs).toFixed(1)} | ${(median(xs) / base).toFixed(2)} |`);
