/**
 * The store's side of the REQ mix of bench/load.ts, in process: per shape, the time of
 * `compileFilters` + `EventStore.query` on a database built by bench/query-db.ts (no sockets, no
 * frames). Values are drawn from the database itself, the same way for every run. Limits and read rules
 * as the relay's defaults (max_limit 500, a filter without limit gets 500; a filter without kinds leaves
 * out read.auth_required_kinds, as for a connection that has not authenticated). `cpu µs/q` and `µs/row` are this process's
 * CPU time (user + system) over the shape's queries: unlike wall time, not inflated by other processes
 * on a shared machine.
 *
 *   npx tsx bench/query-shapes.ts [path=bench/.cache/query-v<schema>-1000000.sqlite] [per-shape=200]
 */
import Database from '../src/store/sqlite.js';
import { compileFilters, type CompiledFilter } from '../src/filter/compile.js';
import { readRules, restrictFilters } from '../src/policy/read.js';
import { EventStore } from '../src/store/index.js';
import { Rng } from './dataset.js';
import { queryDbPath } from './query-db.js';

const path = process.argv[2] ?? queryDbPath(1_000_000);
const perShape = Number(process.argv[3] ?? 200);
const LIMITS = { max_filter_values: 2000, max_limit: 500, default_limit: null };
const READ_RULES = readRules([4, 1059, 1060]);
const NOBODY = new Set<string>();
const compile = (input: object): CompiledFilter[] =>
  restrictFilters(compileFilters([input], LIMITS) as CompiledFilter[], READ_RULES, NOBODY) as CompiledFilter[];

const raw = new Database(path, { readonly: true });
const column = (sql: string): string[] => raw.prepare(sql).pluck().all() as string[];
const authors = column('SELECT DISTINCT hex(pubkey) FROM events WHERE kind = 0').map((h) => h.toLowerCase());
const sampleTags = (name: string, extra = ''): string[] =>
  column(`SELECT value FROM tags WHERE name = '${name}'${extra} AND event_rowid % 97 = 0 LIMIT 20000`);
const roots = sampleTags('e');
const mentioned = sampleTags('p', ' AND kind != 3');
const hashtags = sampleTags('t');
const geohashes = sampleTags('g', ' AND length(value) = 5');
const ids = column('SELECT lower(hex(id)) FROM events WHERE seq % 101 = 0 LIMIT 20000');
const [minTs, maxTs] = raw.prepare('SELECT min(created_at), max(created_at) FROM events').raw().get() as [number, number];
raw.close();

const rng = new Rng('query-shapes');
const pick = <T>(list: T[]): T => list[rng.int(0, list.length - 1)] as T;
const sample = <T>(list: T[], k: number): T[] => [...new Set(Array.from({ length: k * 2 }, () => pick(list)))].slice(0, k);
const SHAPES: Record<string, () => object> = {
  home: () => ({ authors: sample(authors, 50), kinds: [1, 6], limit: 100 }),
  profile: () => ({ kinds: [0], authors: [pick(authors)] }),
  thread: () => ({ '#e': [pick(roots)] }),
  notifications: () => ({ '#p': [pick(mentioned)], kinds: [1, 6, 7, 9735], limit: 100 }),
  hashtag: () => ({ '#t': [pick(hashtags)], limit: 100 }),
  geohash: () => ({ '#g': [pick(geohashes)], limit: 100 }),
  ids: () => ({ ids: sample(ids, 20) }),
  timerange: () => {
    const width = rng.int(3600, 24 * 3600);
    const since = minTs + Math.floor(rng.next() * Math.max(1, maxTs - minTs - width));
    return { since, until: since + width, limit: 500 };
  },
};

const store = EventStore.open(path, { synchronous: 'normal' });
const now = Math.floor(Date.now() / 1000);
const percentile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
console.log('shape          queries  p50 ms  p99 ms  max ms  mean ms  rows/q  cpu µs/q  µs/row');
let total = 0;
let count = 0;
let totalCpu = 0;
const cpuMicros = (): number => {
  const { user, system } = process.cpuUsage();
  return user + system;
};
for (const [shape, make] of Object.entries(SHAPES)) {
  const inputs = Array.from({ length: perShape }, make);
  store.query(compile(inputs[0]!), now); // warm the statement
  const times: number[] = [];
  let rows = 0;
  const cpuStarted = cpuMicros();
  for (const input of inputs) {
    const started = performance.now();
    const filters = compile(input);
    rows += store.query(filters, now).length;
    times.push(performance.now() - started);
  }
  const cpu = cpuMicros() - cpuStarted;
  totalCpu += cpu;
  times.sort((a, b) => a - b);
  const sum = times.reduce((a, b) => a + b, 0);
  total += sum;
  count += times.length;
  console.log(
    `${shape.padEnd(14)} ${String(perShape).padStart(7)} ${percentile(times, 0.5).toFixed(2).padStart(7)} ${percentile(times, 0.99).toFixed(2).padStart(7)} ` +
      `${times.at(-1)!.toFixed(2).padStart(7)} ${(sum / times.length).toFixed(2).padStart(8)} ${(rows / perShape).toFixed(1).padStart(7)} ` +
      `${(cpu / perShape).toFixed(0).padStart(9)} ${(rows > 0 ? cpu / rows : 0).toFixed(2).padStart(7)}`,
  );
}
console.log(
  `all shapes: mean ${(total / count).toFixed(2)} ms per query (${(totalCpu / count).toFixed(0)} µs CPU) → at most ${Math.round((1000 * count) / total)} queries/s on one core`,
);
store.close();
