/**
 * NIP-50 search cost on a large store: builds a database of generated notes (fake ids and signatures,
 * written through the store's one write path in batches — the store does not verify), then times
 * search queries for common and rare words (p50/p99 over many runs) and compares the database size
 * with and without the FTS5 index.
 *
 *   npx tsx bench/search.ts [events=1000000] [batch=5000]
 *
 * The database is built in a temporary directory and removed at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from '../src/store/sqlite.js';
import type { NostrEvent } from '../src/event/types.js';
import { compileFilter, type CompiledFilter } from '../src/filter/compile.js';
import { serialize } from '../src/event/validate.js';
import { EventStore } from '../src/store/index.js';

const COUNT = Number(process.argv[2] ?? 1_000_000);
const BATCH = Number(process.argv[3] ?? 5000);

// Deterministic pseudo-random numbers (mulberry32), so runs are comparable.
let seed = 42;
const random = (): number => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

// A 20,000-word vocabulary with Zipf-like frequencies: word i drawn with weight 1/(i+1).
const VOCABULARY = 20_000;
const syllables = ['ka', 'lo', 'mi', 'nu', 'ri', 'ta', 've', 'zo', 'be', 'du', 'fa', 'gi', 'ho', 'ju', 'pe', 'sa'];
const words = Array.from({ length: VOCABULARY }, (_, i) => {
  let word = '';
  let n = i + 1;
  while (n > 0) {
    word += syllables[n % syllables.length];
    n = Math.floor(n / syllables.length);
  }
  return word;
});
const cumulative: number[] = [];
let total = 0;
for (let i = 0; i < VOCABULARY; i++) cumulative.push((total += 1 / (i + 1)));
function word(): string {
  const x = random() * total;
  let lo = 0;
  let hi = VOCABULARY - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return words[lo]!;
}

const pubkeys = Array.from({ length: 5000 }, () => randomBytes(32).toString('hex'));
const KINDS = [1, 1, 1, 1, 1, 1, 7, 6, 30023];

function makeEvent(i: number): NostrEvent {
  const kind = KINDS[Math.floor(random() * KINDS.length)]!;
  const length = 5 + Math.floor(random() * 40);
  const content = Array.from({ length }, word).join(' ');
  return {
    id: randomBytes(32).toString('hex'),
    pubkey: pubkeys[Math.floor(random() * pubkeys.length)]!,
    created_at: 1_700_000_000 + i,
    kind,
    tags: kind === 30023 ? [['d', `post-${i}`]] : [],
    content,
    sig: randomBytes(64).toString('hex'),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'commons-search-'));
const path = join(dir, 'relay.sqlite');
let store = EventStore.open(path, { synchronous: 'normal' });
const started = performance.now();
for (let i = 0; i < COUNT; i += BATCH) {
  const batch = Array.from({ length: Math.min(BATCH, COUNT - i) }, (_, j) => makeEvent(i + j));
  store.writeBatch(batch.map((event) => ({ event, json: serialize(event) })));
  if ((i / BATCH) % 20 === 0) process.stderr.write(`\r${i + batch.length} events`);
}
const buildMs = performance.now() - started;
process.stderr.write('\n');
console.log(
  `${COUNT} events written in ${(buildMs / 1000).toFixed(1)} s (${((COUNT / buildMs) * 1000).toFixed(0)}/s, batches of ${BATCH}, FTS index included)`,
);
store.close();
store = EventStore.open(path, { synchronous: 'normal' });

const LIMITS = { max_filter_values: 1000, max_limit: 5000, default_limit: 100 };
const compile = (input: object): CompiledFilter => {
  const compiled = compileFilter(input, LIMITS, { search: true });
  if ('prefix' in compiled) throw new Error(compiled.text);
  return compiled;
};

/** Documents containing the word (from the FTS index), to describe each query. */
const probe = new Database(path, { readonly: true });
const docs = (w: string): number =>
  probe.prepare<[string], number>('SELECT count(*) FROM events_fts WHERE events_fts MATCH ?').pluck().get(`"${w}"`)!;

function time(name: string, input: object, runs: number, count = false): void {
  const filter = compile(input);
  const times: number[] = [];
  let rows = 0;
  const run = (): number => (count ? store.count([filter]) : store.query([filter]).length);
  run(); // warm
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    rows = run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const p = (q: number): string => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(2);
  console.log(
    `${name.padEnd(44)} p50 ${p(0.5).padStart(8)} ms  p99 ${p(0.99).padStart(8)} ms  (${rows} ${count ? 'counted' : 'rows'}, ${runs} runs)`,
  );
}

const common = [words[0]!, words[1]!, words[4]!];
const rare = [words[15_000]!, words[18_000]!, words[19_990]!];
console.log('\nword frequencies (documents containing it):');
for (const w of [...common, ...rare]) console.log(`  ${w.padEnd(12)} ${docs(w)}`);
console.log('');
time(`common word "${common[0]}", limit 100`, { search: common[0], limit: 100 }, 30);
time(`common word "${common[2]}", limit 100`, { search: common[2], limit: 100 }, 30);
time(`two common words "${common[1]} ${common[2]}"`, { search: `${common[1]} ${common[2]}`, limit: 100 }, 30);
time(`common word + kinds [30023]`, { search: common[2], kinds: [30023], limit: 20 }, 30);
time(`common word + one author`, { search: common[2], authors: [pubkeys[0]], limit: 20 }, 30);
time(`rare word "${rare[0]}", limit 100`, { search: rare[0], limit: 100 }, 300);
time(`rare word "${rare[2]}", limit 100`, { search: rare[2], limit: 100 }, 300);
time(`rare + common word`, { search: `${rare[0]} ${common[0]}`, limit: 100 }, 300);
time(`phrase "${common[0]} ${common[1]}"`, { search: `"${common[0]} ${common[1]}"`, limit: 100 }, 30);
time(`COUNT common word "${common[0]}" (every match)`, { search: common[0] }, 10, true);
time(`COUNT rare word "${rare[0]}"`, { search: rare[0] }, 100, true);
probe.close();
store.close();

const withFts = statSync(path).size;
const copy = join(dir, 'without-fts.sqlite');
const db = new Database(path);
db.exec(`VACUUM INTO '${copy}'`);
db.close();
const vacuumedWith = statSync(copy).size;
const stripped = new Database(copy);
stripped.exec('DROP TRIGGER events_fts_delete; DROP TABLE events_fts; VACUUM');
stripped.close();
const withoutFts = statSync(copy).size;
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
console.log(
  `\ndatabase size: ${mb(vacuumedWith)} with FTS, ${mb(withoutFts)} without (index ${mb(vacuumedWith - withoutFts)}, +${(((vacuumedWith - withoutFts) / withoutFts) * 100).toFixed(0)}%); live file before VACUUM ${mb(withFts)}`,
);
rmSync(dir, { recursive: true, force: true });
