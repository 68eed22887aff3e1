import fc from 'fast-check';
import { matchFilter as oracleMatch, type Filter } from 'nostr-tools/filter';
import { describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { compileFilter, type CompiledFilter } from '../../src/filter/compile.js';
import { matchFilter } from '../../src/filter/match.js';
import { SubscriptionIndex } from '../../src/fanout/match.js';

const LIMITS = { max_filter_values: 100, max_limit: 500, default_limit: 100 };
const HEX = (c: string): string => c.repeat(64);

interface Sub {
  readonly name: string;
  readonly raw: Filter[];
  readonly filters: readonly CompiledFilter[];
}

function sub(name: string, raw: Filter[]): Sub {
  const filters = raw.map((f) => {
    const c = compileFilter(f, LIMITS);
    if ('prefix' in c) throw new Error(`${c.prefix}: ${c.text}`);
    return c;
  });
  return { name, raw, filters };
}

/** Brute force: every subscription with a filter matching the event (checked by both matchers). */
function bruteForce(subs: Iterable<Sub>, event: NostrEvent): string[] {
  const out: string[] = [];
  for (const s of subs) {
    const ours = s.filters.some((f) => matchFilter(f, event));
    const theirs = s.raw.some((f) => oracleMatch(f, { ...event }));
    expect(ours).toBe(theirs);
    if (ours) out.push(s.name);
  }
  return out.sort();
}

const names = (set: Set<Sub>): string[] => [...set].map((s) => s.name).sort();

/** The index's private containers, to check that removal leaves nothing behind. */
const internals = (index: SubscriptionIndex<Sub>): { byKey: Map<string, Set<unknown>>; unindexed: Set<unknown> } =>
  index as unknown as { byKey: Map<string, Set<unknown>>; unindexed: Set<unknown> };

// Small pools so that subscriptions share index keys and events hit them.
const IDS = ['0', '1', '2', '3'].map(HEX);
const PUBKEYS = ['a', 'b', 'c'].map(HEX);
const KINDS = [0, 1, 7, 10002, 30023];
const WORDS = ['', 'x', 'y', 'X', 'i:', 'a:b'];
const TAG_NAMES = ['e', 'p', 't', 'd', 'T'];

const tagValue = (name: string): fc.Arbitrary<string> =>
  name === 'e' ? fc.constantFrom(...IDS) : name === 'p' ? fc.constantFrom(...PUBKEYS) : fc.constantFrom(...WORDS);

const eventArb: fc.Arbitrary<NostrEvent> = fc
  .record({
    id: fc.constantFrom(...IDS),
    pubkey: fc.constantFrom(...PUBKEYS),
    created_at: fc.integer({ min: 1, max: 6 }),
    kind: fc.constantFrom(...KINDS),
    tags: fc.array(
      fc.oneof(
        fc.constantFrom(...TAG_NAMES).chain((n) => tagValue(n).map((v) => [n, v])),
        fc.constantFrom(...TAG_NAMES).map((n) => [n]),
        fc.constantFrom(['tt', 'x'], ['', 'x'], [] as string[]),
      ),
      { maxLength: 4 },
    ),
  })
  .map((e) => ({ ...e, content: '', sig: 'f'.repeat(128) }));

const fields: Record<string, fc.Arbitrary<unknown>> = {
  ids: fc.uniqueArray(fc.constantFrom(...IDS), { minLength: 1, maxLength: 2 }),
  authors: fc.uniqueArray(fc.constantFrom(...PUBKEYS), { minLength: 1, maxLength: 2 }),
  kinds: fc.uniqueArray(fc.constantFrom(...KINDS), { minLength: 1, maxLength: 2 }),
  since: fc.integer({ min: 1, max: 6 }),
  until: fc.integer({ min: 1, max: 6 }),
  '#e': fc.uniqueArray(fc.constantFrom(...IDS), { minLength: 1, maxLength: 2 }),
  '#p': fc.uniqueArray(fc.constantFrom(...PUBKEYS), { minLength: 1, maxLength: 2 }),
  '#t': fc.uniqueArray(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 2 }),
  '#d': fc.uniqueArray(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 2 }),
  '#T': fc.uniqueArray(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 2 }),
};

const filterArb: fc.Arbitrary<Filter> = fc
  .subarray(Object.keys(fields), { maxLength: 3 })
  .chain((keys) => fc.shuffledSubarray(keys, { minLength: keys.length, maxLength: keys.length }))
  .chain((keys) => fc.tuple(...keys.map((k) => fields[k]!)).map((vs) => Object.fromEntries(keys.map((k, i) => [k, vs[i]])) as Filter));

const subsArb = fc
  .array(fc.array(filterArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 12 })
  .map((groups) => groups.map((g, i) => sub(`s${i}`, g)));

describe('SubscriptionIndex', () => {
  it('matching returns exactly the subscriptions a brute-force scan finds, before and after removals; removing all leaves no residue', () => {
    let hits = 0;
    fc.assert(
      fc.property(
        subsArb,
        fc.array(eventArb, { minLength: 1, maxLength: 15 }),
        fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
        (subs, events, removeMask) => {
          const index = new SubscriptionIndex<Sub>();
          for (const s of subs) index.add(s);
          expect(index.size).toBe(subs.length);
          for (const event of events) {
            const expected = bruteForce(subs, event);
            hits += expected.length;
            expect(names(index.matching(event)), JSON.stringify({ event, subs: subs.map((s) => s.raw) })).toEqual(expected);
          }

          const kept = subs.filter((_, i) => !removeMask[i]);
          for (const s of subs) if (removeMask[subs.indexOf(s)]) index.remove(s);
          expect(index.size).toBe(kept.length);
          for (const event of events) expect(names(index.matching(event))).toEqual(bruteForce(kept, event));

          for (const s of subs) index.remove(s); // removing twice is a no-op
          expect(index.size).toBe(0);
          for (const event of events) expect(index.matching(event).size).toBe(0);
          expect(internals(index).byKey.size).toBe(0);
          expect(internals(index).unindexed.size).toBe(0);

          // the index is reusable after being emptied
          for (const s of kept) index.add(s);
          for (const event of events) expect(names(index.matching(event))).toEqual(bruteForce(kept, event));
        },
      ),
      { numRuns: 1500 },
    );
    expect(hits).toBeGreaterThan(1000);
  });

  it('a subscription with several matching filters is returned once', () => {
    const index = new SubscriptionIndex<Sub>();
    const s = sub('s', [{ authors: [HEX('a')] }, { kinds: [1] }, {}, { '#t': ['x'] }, { ids: [HEX('1')] }]);
    index.add(s);
    const event: NostrEvent = { id: HEX('1'), pubkey: HEX('a'), created_at: 1, kind: 1, tags: [['t', 'x']], content: '', sig: '' };
    const result = index.matching(event);
    expect(result.size).toBe(1);
    expect(result.has(s)).toBe(true);
  });

  it('removing one subscription keeps others filed under the same key', () => {
    const index = new SubscriptionIndex<Sub>();
    const a = sub('a', [{ authors: [HEX('a')] }]);
    const b = sub('b', [{ authors: [HEX('a')], kinds: [1] }]);
    const c = sub('c', [{}]);
    index.add(a);
    index.add(b);
    index.add(c);
    const event: NostrEvent = { id: HEX('1'), pubkey: HEX('a'), created_at: 1, kind: 1, tags: [], content: '', sig: '' };
    expect(names(index.matching(event))).toEqual(['a', 'b', 'c']);
    index.remove(a);
    expect(names(index.matching(event))).toEqual(['b', 'c']);
    index.remove(c);
    expect(names(index.matching(event))).toEqual(['b']);
    index.remove(b);
    expect(index.matching(event).size).toBe(0);
    expect(internals(index).byKey.size).toBe(0);
  });

  it('tag values containing the key separator do not collide', () => {
    const index = new SubscriptionIndex<Sub>();
    const s = sub('s', [{ '#t': ['a:b'] }]);
    index.add(s);
    const base = { id: HEX('1'), pubkey: HEX('a'), created_at: 1, kind: 1, content: '', sig: '' };
    expect(index.matching({ ...base, tags: [['t', 'a:b']] }).size).toBe(1);
    expect(index.matching({ ...base, tags: [['t', 'a']] }).size).toBe(0);
    expect(index.matching({ ...base, tags: [['t:a', 'b']] }).size).toBe(0);
  });
});
