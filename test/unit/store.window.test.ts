/**
 * Filters that read several index ranges (many authors × kinds, several tag values or kinds) are first
 * run on a recent time window that widens until it holds `limit` matches (src/store/query.ts). Their
 * answers must equal the naive matcher's newest `limit`, for dense and sparse matches alike, with
 * since/until, expired events and ties at the window's edge.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { serialize } from '../../src/event/validate.js';
import { compileFilter, type CompiledFilter } from '../../src/filter/compile.js';
import { matchFilter } from '../../src/filter/match.js';
import { readsSeveralRanges } from '../../src/store/sql.js';
import { EventStore } from '../../src/store/index.js';

function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(5);
const int = (n: number): number => Math.floor(random() * n);
const hex = (chars: number): string => Array.from({ length: chars }, () => '0123456789abcdef'[int(16)]).join('');
const sample = <T>(list: readonly T[], k: number): T[] => [...new Set(Array.from({ length: k }, () => list[int(list.length)]!))];

const NOW = 1_800_000_000;
const SPAN = 60 * 24 * 3600;
const PUBKEYS = Array.from({ length: 30 }, () => hex(64));
const KINDS = [1, 1, 1, 6, 7, 9735];
const TOPICS = ['a', 'b', 'c', 'd'];
const LIMITS = { max_filter_values: 2000, max_limit: 500, default_limit: 100 };

/** Author i writes ~1/(i+1) of the events: some authors dense, some with a handful over 60 days. */
function randomEvent(): NostrEvent {
  const author = Math.min(PUBKEYS.length - 1, Math.floor(1 / (random() + 1e-9)) - 1);
  const tags: string[][] = [];
  if (random() < 0.5) tags.push(['p', PUBKEYS[int(PUBKEYS.length)]!]);
  if (random() < 0.3) tags.push(['t', TOPICS[int(TOPICS.length)]!]);
  // NIP-40: a few already expired (hidden), a few expiring later.
  if (random() < 0.03) tags.push(['expiration', String(NOW + (random() < 0.5 ? -10 : 3600))]);
  return {
    id: hex(64),
    pubkey: PUBKEYS[author]!,
    // Coarse timestamps: many ties, some exactly at window edges (NOW - 3600·k).
    created_at: NOW - 600 * int(SPAN / 600),
    kind: KINDS[int(KINDS.length)]!,
    tags,
    content: '',
    sig: hex(128),
  };
}

const newestFirst = (a: NostrEvent, b: NostrEvent): number => b.created_at - a.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function randomFilter(): CompiledFilter {
  const input: Record<string, unknown> = { limit: [1, 10, 100, 500][int(4)] };
  const shape = int(4);
  if (shape === 0) Object.assign(input, { authors: sample(PUBKEYS, 2 + int(20)), kinds: [1, 6] });
  if (shape === 1) Object.assign(input, { '#p': sample(PUBKEYS, 1 + int(3)), kinds: [1, 6, 7, 9735] });
  if (shape === 2) Object.assign(input, { '#t': sample(TOPICS, 2), authors: sample(PUBKEYS, 1 + int(5)) });
  if (shape === 3) Object.assign(input, { kinds: [6, 7] });
  if (random() < 0.3) input.until = NOW - int(SPAN);
  if (random() < 0.3) input.since = NOW - int(SPAN);
  const compiled = compileFilter(input, LIMITS);
  if ('prefix' in compiled) throw new Error(compiled.text);
  return compiled;
}

describe('windowed queries over several index ranges', () => {
  let dir: string;
  let store: EventStore;
  const events: NostrEvent[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'commons-window-'));
    store = EventStore.open(join(dir, 'relay.sqlite'), { synchronous: 'normal' });
    for (let i = 0; i < 4000; i++) events.push(randomEvent());
    store.writeBatch(events.map((event) => ({ event, json: serialize(event) })));
  });

  afterAll(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('returns exactly the newest limit matches, alone and among several filters', () => {
    const live = events.filter((event) => !event.tags.some((tag) => tag[0] === 'expiration' && Number(tag[1]) <= NOW));
    const oracle = (filters: CompiledFilter[]): string[] => {
      const chosen = new Map<string, NostrEvent>();
      for (const filter of filters) {
        for (const event of live.filter((e) => matchFilter(filter, e)).sort(newestFirst).slice(0, filter.limit)) chosen.set(event.id, event);
      }
      return [...chosen.values()].sort(newestFirst).map(serialize);
    };
    let windowed = 0;
    let cut = 0;
    for (let run = 0; run < 150; run++) {
      const filters = Array.from({ length: 1 + int(2) }, randomFilter);
      if (filters.some(readsSeveralRanges)) windowed++;
      const expected = oracle(filters);
      const all = oracle(filters.map((filter) => ({ ...filter, limit: Infinity })));
      if (expected.length > 0 && expected.length < all.length) cut++;
      expect(store.query(filters, NOW)).toEqual(expected);
    }
    expect(windowed).toBeGreaterThan(120);
    expect(cut).toBeGreaterThan(50);
  });

  it('applies to multi-range shapes only', () => {
    const compile = (input: object): CompiledFilter => compileFilter(input, LIMITS) as CompiledFilter;
    expect(readsSeveralRanges(compile({ authors: [PUBKEYS[0], PUBKEYS[1]], kinds: [1, 6] }))).toBe(true);
    expect(readsSeveralRanges(compile({ '#p': [PUBKEYS[0]], kinds: [1, 6, 7, 9735] }))).toBe(true);
    expect(readsSeveralRanges(compile({ '#t': ['a'] }))).toBe(false);
    expect(readsSeveralRanges(compile({ authors: [PUBKEYS[0], PUBKEYS[1]], kinds: [0, 3] }))).toBe(false);
    expect(readsSeveralRanges(compile({ since: 1, until: 2 }))).toBe(false);
    expect(readsSeveralRanges(compile({ ids: [hex(64), hex(64)] }))).toBe(false);
  });
});
