/**
 * EXPLAIN QUERY PLAN for every common filter shape, using the exact SQL the store runs.
 * Fills a temporary database with varied unsigned events (the store does not verify), prints each
 * shape's plan and time per query, and exits 1 if a shape that should be indexed scans a table.
 *
 *   npx tsx bench/explain.ts [events=20000]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NostrEvent } from '../src/event/types.js';
import type { CompiledFilter } from '../src/filter/compile.js';
import { serialize } from '../src/event/validate.js';
import { EventStore } from '../src/store/index.js';
import { parseSearch } from '../src/filter/search.js';

const COUNT = Number(process.argv[2] ?? 20000);
const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)]!;

const pubkeys = Array.from({ length: 300 }, () => hex(32));
const hashtags = ['nostr', 'bitcoin', 'art', 'music', 'zap', 'dev', 'photo', 'news'];
const geohashes = ['u0', 'u0m', 'u0mw', 'u1', 'u1x', 'u1xz'];
const KINDS = [0, 1, 1, 1, 1, 3, 6, 7, 7, 1984, 9735, 10002, 30023, 30023, 30000];
const ids: string[] = [];

function makeEvent(i: number): NostrEvent {
  const kind = pick(KINDS);
  const tags: string[][] = [];
  if (ids.length > 0 && Math.random() < 0.5) tags.push(['e', pick(ids)]);
  if (Math.random() < 0.5) tags.push(['p', pick(pubkeys)]);
  if (Math.random() < 0.3) tags.push(['t', pick(hashtags)]);
  if (Math.random() < 0.2) for (const g of geohashes.slice(0, 3)) tags.push(['g', g]);
  if (kind >= 30000) tags.push(['d', `slug-${i % 40}`]);
  // NIP-40: a few expiring events, some already expired (hidden from every query, counted as slack).
  if (Math.random() < 0.02) tags.push(['expiration', String(Math.floor(Date.now() / 1000) + (Math.random() < 0.5 ? -3600 : 3600))]);
  const event = {
    id: hex(32),
    pubkey: pick(pubkeys),
    created_at: 1_700_000_000 + Math.floor(Math.random() * 1_000_000),
    kind,
    tags,
    content: `note ${i} ${'x'.repeat(Math.floor(Math.random() * 400))}`,
    sig: hex(64),
  };
  ids.push(event.id);
  return event;
}

const dir = mkdtempSync(join(tmpdir(), 'commons-explain-'));
const store = EventStore.open(join(dir, 'relay.sqlite'), { synchronous: 'normal' });
const started = performance.now();
for (let i = 0; i < COUNT; i += 500) {
  const batch = Array.from({ length: Math.min(500, COUNT - i) }, (_, j) => makeEvent(i + j));
  store.writeBatch(batch.map((event) => ({ event, json: serialize(event) })));
}
const writeMs = performance.now() - started;
console.log(
  `${COUNT} events written in ${writeMs.toFixed(0)} ms (${((COUNT / writeMs) * 1000).toFixed(0)}/s, batches of 500); stored ${store.stats().events}`,
);

const set = <T>(...values: T[]): ReadonlySet<T> => new Set(values);
const pk = pubkeys[0]!;
const some = <T>(list: readonly T[], n: number): ReadonlySet<T> => new Set(list.slice(0, n));
const f = (filter: Partial<CompiledFilter>): CompiledFilter => ({ tags: [], limit: 100, ...filter });
const now = 1_700_500_000;

/** name → filter; `scanOk` marks shapes that legitimately walk the whole created_at index. */
const shapes: [string, CompiledFilter, { scanOk?: boolean }?][] = [
  ['{} (everything)', f({}), { scanOk: true }],
  ['since', f({ since: now }), { scanOk: true }],
  ['since+until', f({ since: now, until: now + 3600 }), { scanOk: true }],
  ['ids x1', f({ ids: set(ids[5]!) })],
  ['ids x20', f({ ids: some(ids, 20) })],
  ['ids+authors', f({ ids: some(ids, 20), authors: set(pk) })],
  ['authors x1', f({ authors: set(pk) })],
  ['authors x50', f({ authors: some(pubkeys, 50) })],
  ['authors x1 + since/until', f({ authors: set(pk), since: now, until: now + 86400 })],
  ['authors+kinds x1', f({ authors: set(pk), kinds: set(1) })],
  ['authors x1 + kinds x3', f({ authors: set(pk), kinds: set(1, 6, 7) })],
  ['authors x50 + kinds x2', f({ authors: some(pubkeys, 50), kinds: set(1, 6) })],
  ['authors+kinds replaceable', f({ authors: some(pubkeys, 50), kinds: set(0, 3, 10002) })],
  ['kinds x1', f({ kinds: set(1) })],
  ['kinds x3', f({ kinds: set(1, 6, 7) })],
  ['kinds + since/until', f({ kinds: set(1), since: now, until: now + 86400 })],
  ['#e x1', f({ tags: [['e', set(ids[10]!)]] })],
  ['#e x20', f({ tags: [['e', some(ids, 20)]] })],
  ['#e + kinds x1', f({ kinds: set(7), tags: [['e', set(ids[10]!)]] })],
  ['#e + kinds x3', f({ kinds: set(1, 6, 7), tags: [['e', set(ids[10]!)]] })],
  ['#p x1', f({ tags: [['p', set(pk)]] })],
  ['#p x1 + kinds (notifications)', f({ kinds: set(1, 6, 7, 9735), tags: [['p', set(pk)]] })],
  ['#p x1 + since', f({ since: now, tags: [['p', set(pk)]] })],
  ['#t x1', f({ tags: [['t', set('nostr')]] })],
  ['#t x2 + kinds x1', f({ kinds: set(1), tags: [['t', set('nostr', 'art')]] })],
  ['#g x1', f({ tags: [['g', set('u0m')]] })],
  ['#d x1', f({ tags: [['d', set('slug-3')]] })],
  ['authors+kinds+#d (address)', f({ authors: set(pk), kinds: set(30023), tags: [['d', set('slug-3')]] })],
  ['authors+kinds+#d x many', f({ authors: some(pubkeys, 10), kinds: set(30023, 30000), tags: [['d', some(['slug-1', 'slug-2'], 2)]] })],
  ['authors + #t', f({ authors: set(pk), tags: [['t', set('nostr')]] })],
  [
    '#e + #p',
    f({
      tags: [
        ['e', set(ids[10]!)],
        ['p', set(pk)],
      ],
    }),
  ],
  [
    'kinds + #t + #g',
    f({
      kinds: set(1),
      tags: [
        ['t', set('art')],
        ['g', set('u0')],
      ],
    }),
  ],
  // NIP-50: the FTS5 index drives (SCAN f VIRTUAL TABLE is an index walk), other fields checked per row.
  ['search (common word)', f({ search: parseSearch('note') })],
  ['search + kinds + #t', f({ search: parseSearch('note 42'), kinds: set(1), tags: [['t', set('nostr')]] })],
];

store.close(); // runs PRAGMA optimize (ANALYZE where useful), as a long-running relay would
const reopened = EventStore.open(join(dir, 'relay.sqlite'), { synchronous: 'normal' });

const FULL_SCAN = /^SCAN (e|t|x|events|tags)\b/;
let failures = 0;
for (const [name, filter, options] of shapes) {
  const { sql, plan } = reopened.explain(filter);
  const runs = 200;
  const t0 = performance.now();
  let rows = 0;
  for (let i = 0; i < runs; i++) rows = reopened.query([filter]).length;
  const us = ((performance.now() - t0) / runs) * 1000;
  const bad = plan.filter((line) => FULL_SCAN.test(line) && !(options?.scanOk && /USING (COVERING )?INDEX events_created/.test(line)));
  if (bad.length > 0) failures++;
  console.log(`\n${bad.length > 0 ? 'FAIL' : 'ok  '} ${name}  (${rows} rows, ${us.toFixed(0)} µs/query)`);
  console.log(`     ${sql}`);
  for (const line of plan) console.log(`     | ${line}`);
}
reopened.close();
rmSync(dir, { recursive: true, force: true });
console.log(`\n${shapes.length - failures} shapes indexed, ${failures} with a full scan`);
process.exit(failures > 0 ? 1 : 0);
