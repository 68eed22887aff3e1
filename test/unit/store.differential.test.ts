/**
 * Differential test: the SQL query engine against the naive matcher (src/filter/match.ts) over the
 * same stored events, and the write path against a naive model of NIP-01 replacement.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dTagOf, kindClass } from '../../src/event/kinds.js';
import type { NostrEvent } from '../../src/event/types.js';
import { serialize } from '../../src/event/validate.js';
import { compileFilter, type CompiledFilter } from '../../src/filter/compile.js';
import { matchFilter } from '../../src/filter/match.js';
import { unixNow } from '../../src/event/clock.js';
import { EventStore } from '../../src/store/index.js';
import type { PackedAnswer } from '../../src/store/stored-answer.js';
import type { WriteOutcome } from '../../src/store/types.js';

/** mulberry32: a small seeded PRNG, so the event set is the same on every run. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(20260701);
const int = (n: number): number => Math.floor(random() * n);
const pick = <T>(list: readonly T[]): T => list[int(list.length)]!;
const hex = (chars: number): string => Array.from({ length: chars }, () => '0123456789abcdef'[int(16)]).join('');

const PUBKEYS = Array.from({ length: 5 }, () => hex(64));
const KINDS = [0, 1, 1, 1, 3, 6, 7, 1984, 10002, 10003, 30000, 30023, 40000];
const TAG_VALUES = ['a', 'b', 'c', 'A', '', 'é☃'];
const IDS: string[] = [];
const TAG_MAKERS: (() => string[])[] = [
  () => ['e', IDS.length > 0 ? pick(IDS) : hex(64)],
  () => ['p', pick(PUBKEYS)],
  () => ['t', pick(TAG_VALUES)],
  () => ['T', pick(TAG_VALUES)],
  () => ['d', pick(['', 'x', 'y'])],
  () => ['d'],
  () => ['g', pick(['u0', 'u0m'])],
  () => ['tt', 'a'],
  () => ['t'],
  () => ['t', pick(TAG_VALUES), pick(TAG_VALUES)],
  () => ['', 'a'],
];

function randomEvent(): NostrEvent {
  const event: NostrEvent = {
    id: hex(64),
    pubkey: pick(PUBKEYS),
    created_at: 1 + int(40), // few distinct timestamps: many ties
    kind: pick(KINDS),
    tags: Array.from({ length: int(5) }, () => pick(TAG_MAKERS)()),
    content: hex(int(20)),
    sig: hex(128),
  };
  IDS.push(event.id);
  return event;
}

/** Naive model of the write path: a map of stored events and one of addresses. */
class Model {
  readonly stored = new Map<string, NostrEvent>();
  private readonly addresses = new Map<string, NostrEvent>();

  write(event: NostrEvent): WriteOutcome['status'] {
    if (this.stored.has(event.id)) return 'duplicate';
    const cls = kindClass(event.kind);
    if (cls === 'regular') {
      this.stored.set(event.id, event);
      return 'stored';
    }
    const key = `${event.pubkey}:${event.kind}:${cls === 'addressable' ? dTagOf(event.tags) : ''}`;
    const current = this.addresses.get(key);
    if (current) {
      if (current.created_at > event.created_at || (current.created_at === event.created_at && current.id < event.id)) {
        return 'older';
      }
      this.stored.delete(current.id);
    }
    this.addresses.set(key, event);
    this.stored.set(event.id, event);
    return 'stored';
  }
}

const newestFirst = (a: NostrEvent, b: NostrEvent): number => b.created_at - a.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function oracle(events: NostrEvent[], filters: CompiledFilter[]): NostrEvent[] {
  const result = new Map<string, NostrEvent>();
  for (const filter of filters) {
    const matches = events
      .filter((event) => matchFilter(filter, event))
      .sort(newestFirst)
      .slice(0, filter.limit);
    for (const event of matches) result.set(event.id, event);
  }
  return [...result.values()].sort(newestFirst);
}

const LIMITS = { max_filter_values: 100, max_limit: 1000, default_limit: 1000 };
const compile = (input: Record<string, unknown>): CompiledFilter => {
  const compiled = compileFilter(input, LIMITS);
  if ('prefix' in compiled) throw new Error(compiled.text);
  return compiled;
};

const someOf = <T>(values: readonly T[]) => fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 4 });
const time = fc.integer({ min: 0, max: 42 });
const fields = {
  ids: fc.constant(0).chain(() => someOf([...IDS.slice(0, 300), hex(64)])),
  authors: someOf(PUBKEYS),
  kinds: someOf([...new Set(KINDS), 2]),
  '#e': fc.constant(0).chain(() => someOf(IDS.slice(0, 300))),
  '#p': someOf(PUBKEYS),
  '#t': someOf(TAG_VALUES),
  '#T': someOf(TAG_VALUES),
  '#d': someOf(['', 'x', 'y', 'z']),
  '#g': someOf(['u0', 'u0m', 'u']),
  since: time,
  until: time,
};
/** Filters with 0-3 conditions (more would rarely match anything) and usually a limit. */
const filterArb = fc
  .tuple(
    fc.subarray(Object.keys(fields) as (keyof typeof fields)[], { maxLength: 3 }),
    fc.record(fields),
    fc.option(fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 60 })), { freq: 4 }),
  )
  .map(([keys, values, limit]) => {
    const filter: Record<string, unknown> = {};
    for (const key of keys) filter[key] = values[key];
    if (limit !== null) filter.limit = limit;
    return filter;
  });

/** A subscription id with a quote and a non-ASCII letter: frame lengths are counted in bytes. */
const PREFIX = '["EVENT","s\\"ü",';
const unpack = ({ frames, ends }: PackedAnswer): string[] =>
  [...ends].map((end, i) => Buffer.from(frames.subarray(i === 0 ? 0 : ends[i - 1]!, end)).toString('utf8'));

describe('store vs naive model', () => {
  let dir: string;
  let store: EventStore;
  const model = new Model();

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'commons-store-diff-'));
    store = EventStore.open(join(dir, 'relay.sqlite'), { synchronous: 'normal' });
  });
  afterAll(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('write outcomes agree with the model (batches with re-sent events)', () => {
    const sent: NostrEvent[] = [];
    for (let written = 0; written < 1500; ) {
      const batch = Array.from({ length: 1 + int(40) }, () => (sent.length > 0 && random() < 0.1 ? pick(sent) : randomEvent()));
      sent.push(...batch);
      written += batch.length;
      const outcomes = store.writeBatch(batch.map((event) => ({ event, json: serialize(event) })));
      expect(outcomes.map((o) => o.status)).toEqual(batch.map((event) => model.write(event)));
    }
    expect(store.stats().events).toBe(model.stored.size);
    const all = [...store.iterate()];
    expect(all).toEqual([...model.stored.values()].sort(newestFirst).map(serialize));
  });

  it('query, its frames and count agree with matchFilter on random filter groups', () => {
    const events = [...model.stored.values()];
    let nonEmpty = 0;
    let cut = 0;
    let framedBySqlite = 0;
    fc.assert(
      fc.property(fc.array(filterArb, { minLength: 1, maxLength: 3 }), (inputs) => {
        const filters = inputs.map(compile);
        const expected = oracle(events, filters).map(serialize);
        expect(store.query(filters)).toEqual(expected);
        // The same answer as EVENT frames: built by SQLite in one buffer (one live filter), else the strings.
        const framed = store.answerFrames(filters, unixNow(), PREFIX);
        if ('ends' in framed && expected.length > 0) framedBySqlite++;
        const frames = 'ends' in framed ? unpack(framed) : framed.events.map((json) => `${PREFIX}${json}]`);
        expect(frames).toEqual(expected.map((json) => `${PREFIX}${json}]`));
        if (expected.length > 0) nonEmpty++;
        const all = oracle(
          events,
          filters.map((filter) => ({ ...filter, limit: Infinity })),
        );
        if (expected.length > 0 && expected.length < all.length) cut++;
        const matching = events.filter((event) => filters.some((filter) => matchFilter(filter, event)));
        expect(store.count(filters)).toBe(matching.length);
        if (filters.length === 1) {
          expect([...store.iterate(filters[0])]).toEqual(oracle(events, [{ ...filters[0]!, limit: Infinity }]).map(serialize));
        }
      }),
      { numRuns: 1500, seed: 42 },
    );
    // The generator must exercise matches and limits, not just empty answers.
    expect(nonEmpty).toBeGreaterThan(700);
    expect(cut).toBeGreaterThan(300);
    expect(framedBySqlite).toBeGreaterThan(300);
  });
});
