import fc from 'fast-check';
import { matchFilter as oracleMatch, type Filter } from 'nostr-tools/filter';
import { describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { compileFilter, compileFilters, type CompiledFilter } from '../../src/filter/compile.js';
import { matchFilter } from '../../src/filter/match.js';
import type { Rejection } from '../../src/protocol/prefixes.js';

const LIMITS = { max_filter_values: 5, max_limit: 500, default_limit: 100 };
const HEX = (c: string): string => c.repeat(64);

function compiled(input: unknown): CompiledFilter {
  const result = compileFilter(input, LIMITS);
  if ('prefix' in result) throw new Error(`unexpected rejection ${result.prefix}: ${result.text} for ${JSON.stringify(input)}`);
  return result;
}

function rejection(input: unknown): Rejection {
  const result = compileFilter(input, LIMITS);
  if (!('prefix' in result)) throw new Error(`expected a rejection for ${JSON.stringify(input)}`);
  return result;
}

describe('compileFilter: rejections', () => {
  it.each([null, [], 'x', 1, true, [{}]])('non-object %j → invalid', (input) => {
    expect(rejection(input)).toEqual({ prefix: 'invalid', text: 'a filter must be a JSON object' });
  });

  const cases: [key: string, value: unknown, prefix: string][] = [];
  for (const key of ['ids', 'authors', '#e', '#p']) {
    cases.push(
      [key, 'a'.repeat(64), 'invalid'],
      [key, {}, 'invalid'],
      [key, null, 'invalid'],
      [key, [], 'invalid'],
      [key, ['A'.repeat(64)], 'invalid'],
      [key, ['a'.repeat(63)], 'invalid'],
      [key, ['a'.repeat(65)], 'invalid'],
      [key, ['a'.repeat(8)], 'invalid'], // prefixes are not accepted
      [key, ['abcd'], 'invalid'],
      [key, [`0x${'a'.repeat(62)}`], 'invalid'],
      [key, [HEX('a'), 5], 'invalid'],
      [key, [HEX('a'), null], 'invalid'],
      [key, ['1', '2', '3', '4', '5', '6'].map((c) => HEX(c)), 'invalid'],
    );
  }
  for (const key of ['#t', '#g', '#d', '#E', '#P', '#Z']) {
    cases.push(
      [key, 'x', 'invalid'],
      [key, [], 'invalid'],
      [key, [1], 'invalid'],
      [key, ['x', null], 'invalid'],
      [key, [['x']], 'invalid'],
      [key, ['1', '2', '3', '4', '5', '6'], 'invalid'],
    );
  }
  cases.push(
    ['kinds', 1, 'invalid'],
    ['kinds', [], 'invalid'],
    ['kinds', [-1], 'invalid'],
    ['kinds', [65536], 'invalid'],
    ['kinds', [1.5], 'invalid'],
    ['kinds', ['1'], 'invalid'],
    ['kinds', [1, null], 'invalid'],
    ['kinds', [1, 2, 3, 4, 5, 6], 'invalid'],
  );
  for (const key of ['since', 'until', 'limit']) {
    cases.push(
      [key, -1, 'invalid'],
      [key, 1.5, 'invalid'],
      [key, '10', 'invalid'],
      [key, null, 'invalid'],
      [key, [10], 'invalid'],
      [key, 2 ** 53, 'invalid'],
    );
  }
  cases.push(
    ['search', 'hello', 'unsupported'],
    ['foo', [1], 'unsupported'],
    ['__proto__', {}, 'unsupported'],
    ['#', ['x'], 'unsupported'],
    ['#ab', ['x'], 'unsupported'],
    ['#1', ['x'], 'unsupported'],
    ['#-', ['x'], 'unsupported'],
    ['#é', ['x'], 'unsupported'],
    ['e', [HEX('a')], 'unsupported'],
    ['&t', ['x'], 'unsupported'],
  );

  it.each(cases)('%s = %j → %s, naming the key', (key, value, prefix) => {
    const input = JSON.parse(`{${JSON.stringify(key)}:${JSON.stringify(value)}}`) as unknown;
    const r = rejection(input);
    expect(r.prefix).toBe(prefix);
    expect(r.text).toContain(`'${key}'`);
  });

  it('a bad key anywhere rejects the whole filter', () => {
    expect(rejection({ kinds: [1], authors: [HEX('a')], '#t': ['x'], limit: -1 }).text).toContain("'limit'");
  });

  it('compileFilters returns the first rejection, or all filters', () => {
    const r = compileFilters([{ kinds: [1] }, { ids: ['x'] }, { search: 'x' }], LIMITS);
    expect(r).toMatchObject({ prefix: 'invalid' });
    expect((r as Rejection).text).toContain("'ids'");
    const ok = compileFilters([{ kinds: [1] }, {}], LIMITS);
    expect(Array.isArray(ok) && ok.length).toBe(2);
  });
});

describe('compileFilter: accepted filters', () => {
  it('the empty filter matches everything, with the default limit', () => {
    const f = compiled({});
    expect(f).toEqual({ tags: [], limit: 100 });
    expect(f.ids).toBeUndefined();
  });

  it.each([
    [undefined, 100],
    [0, 0],
    [1, 1],
    [499, 499],
    [500, 500],
    [501, 500],
    [Number.MAX_SAFE_INTEGER, 500],
  ])('limit %j → %i', (limit, expected) => {
    expect(compiled(limit === undefined ? {} : { limit }).limit).toBe(expected);
  });

  it('default_limit and max_limit come from the limits given; default_limit null = max_limit', () => {
    expect(compileFilter({}, { ...LIMITS, default_limit: 7 })).toMatchObject({ limit: 7 });
    expect(compileFilter({}, { ...LIMITS, default_limit: null, max_limit: 300 })).toMatchObject({ limit: 300 });
    expect(compileFilter({ limit: 50 }, { ...LIMITS, max_limit: 20 })).toMatchObject({ limit: 20 });
  });

  it('keeps ids, authors, kinds, since, until; duplicates collapse; max_filter_values is inclusive', () => {
    const ids = ['1', '2', '3', '4', '5'].map(HEX);
    const f = compiled({ ids, authors: [HEX('a'), HEX('a')], kinds: [0, 65535, 1, 1], since: 0, until: 10 });
    expect([...f.ids!]).toEqual(ids);
    expect([...f.authors!]).toEqual([HEX('a')]);
    expect([...f.kinds!].sort((a, b) => a - b)).toEqual([0, 1, 65535]);
    expect(f.since).toBe(0);
    expect(f.until).toBe(10);
  });

  it('tag conditions keep their order; #e/#p need hex, other letters (any case) take any string', () => {
    const f = compiled({ '#t': ['', 'Ünïcode 😀', 'a"b\\c'], '#e': [HEX('e')], '#E': ['not hex'], '#P': ['x'], '#d': [''] });
    expect(f.tags.map(([name, values]) => [name, [...values]])).toEqual([
      ['t', ['', 'Ünïcode 😀', 'a"b\\c']],
      ['e', [HEX('e')]],
      ['E', ['not hex']],
      ['P', ['x']],
      ['d', ['']],
    ]);
  });
});

describe('matchFilter: hand-picked cases', () => {
  const event: NostrEvent = {
    id: HEX('1'),
    pubkey: HEX('a'),
    created_at: 1000,
    kind: 1,
    tags: [['e', HEX('2')], ['t', 'nostr'], ['t'], ['p', HEX('b'), 'wss://relay'], ['title', 'x']],
    content: '',
    sig: 'f'.repeat(128),
  };
  it.each([
    [{}, true],
    [{ ids: [HEX('1')] }, true],
    [{ ids: [HEX('2')] }, false],
    [{ authors: [HEX('a'), HEX('b')] }, true],
    [{ authors: [HEX('b')] }, false],
    [{ kinds: [0, 1] }, true],
    [{ kinds: [0] }, false],
    [{ since: 1000 }, true],
    [{ since: 1001 }, false],
    [{ until: 1000 }, true],
    [{ until: 999 }, false],
    [{ until: 0 }, false],
    [{ since: 0 }, true],
    [{ since: 1000, until: 1000 }, true],
    [{ since: 1001, until: 999 }, false],
    [{ '#e': [HEX('2')] }, true],
    [{ '#e': [HEX('1')] }, false],
    [{ '#p': [HEX('b')] }, true],
    [{ '#t': ['nostr', 'x'] }, true],
    [{ '#t': ['Nostr'] }, false],
    [{ '#T': ['nostr'] }, false],
    [{ '#t': [''] }, false],
    [{ '#t': ['nostr'], '#e': [HEX('3')] }, false],
    [{ '#t': ['nostr'], '#e': [HEX('2')], kinds: [1], authors: [HEX('a')] }, true],
    [{ '#r': ['wss://relay'] }, false],
    [{ limit: 0 }, true],
  ])('%j → %s', (filter, expected) => {
    expect(matchFilter(compiled(filter), event)).toBe(expected);
  });
});

// ---------------------------------------------------------------------------------------------
// Oracle: nostr-tools matchFilter on random events and filters drawn from small shared pools.

const IDS = ['0', '1', '2', '3', '4', '5'].map(HEX);
const PUBKEYS = ['a', 'b', 'c', 'd'].map(HEX);
const KINDS = [0, 1, 3, 7, 10002, 20001, 30023, 40000];
const WORDS = ['', 'x', 'y', 'nostr', 'Nostr', 'é😀', 'a"b'];
const TAG_NAMES = ['e', 'p', 't', 'd', 'g', 'E', 'T'];

const tagValue = (name: string): fc.Arbitrary<string> =>
  name === 'e' || name === 'E' ? fc.constantFrom(...IDS) : name === 'p' ? fc.constantFrom(...PUBKEYS) : fc.constantFrom(...WORDS);

const tagArb: fc.Arbitrary<string[]> = fc.oneof(
  fc
    .constantFrom(...TAG_NAMES)
    .chain((name) => fc.tuple(fc.constant(name), tagValue(name), fc.array(fc.constantFrom(...WORDS), { maxLength: 2 })))
    .map(([n, v, rest]) => [n, v, ...rest]),
  fc.constantFrom(...TAG_NAMES).map((name) => [name]),
  fc.constant([] as string[]),
  fc.tuple(fc.constantFrom('title', 'ee', 'alt'), fc.constantFrom(...WORDS)).map(([n, v]) => [n, v]),
);

const TIME = { min: 1, max: 12 };

const eventArb: fc.Arbitrary<NostrEvent> = fc
  .record({
    id: fc.constantFrom(...IDS),
    pubkey: fc.constantFrom(...PUBKEYS),
    created_at: fc.integer({ min: TIME.min, max: TIME.max }),
    kind: fc.constantFrom(...KINDS),
    tags: fc.array(tagArb, { maxLength: 5 }),
  })
  .map((e) => ({ ...e, content: '', sig: 'f'.repeat(128) }));

const filterFields: Record<string, fc.Arbitrary<unknown>> = {
  ids: fc.uniqueArray(fc.constantFrom(...IDS), { minLength: 1, maxLength: 3 }),
  authors: fc.uniqueArray(fc.constantFrom(...PUBKEYS), { minLength: 1, maxLength: 2 }),
  kinds: fc.uniqueArray(fc.constantFrom(...KINDS), { minLength: 1, maxLength: 3 }),
  // nostr-tools treats since/until 0 as absent (falsy); NIP-01 does not, so 0 is tested by hand above
  since: fc.integer({ min: TIME.min, max: TIME.max }),
  until: fc.integer({ min: TIME.min, max: TIME.max }),
  limit: fc.integer({ min: 0, max: 1000 }),
  '#e': fc.uniqueArray(fc.constantFrom(...IDS), { minLength: 1, maxLength: 2 }),
  '#p': fc.uniqueArray(fc.constantFrom(...PUBKEYS), { minLength: 1, maxLength: 2 }),
  '#t': fc.uniqueArray(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 3 }),
  '#d': fc.uniqueArray(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 2 }),
  '#E': fc.uniqueArray(fc.constantFrom(...IDS), { minLength: 1, maxLength: 2 }),
  '#T': fc.uniqueArray(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 2 }),
};

/** A filter with 0–4 of the fields above (more would almost never match), as a plain object like JSON.parse gives. */
const filterArb: fc.Arbitrary<Filter> = fc
  .subarray(Object.keys(filterFields), { minLength: 0, maxLength: 4 })
  .chain((keys) =>
    fc
      .tuple(...keys.map((key) => filterFields[key]!))
      .map((values) => Object.fromEntries(keys.map((key, i) => [key, values[i]])) as Filter),
  );

describe('matchFilter vs nostr-tools matchFilter (oracle)', () => {
  it('agrees on random events and filters', () => {
    fc.assert(
      fc.property(filterArb, fc.array(eventArb, { minLength: 1, maxLength: 10 }), (filter, events) => {
        const f = compiled(filter);
        for (const event of events)
          expect(matchFilter(f, event), JSON.stringify({ filter, event })).toBe(oracleMatch(filter, { ...event }));
      }),
      { numRuns: 3000 },
    );
  });

  it('the generators reach both outcomes often (the property is not vacuous)', () => {
    let matches = 0;
    let misses = 0;
    fc.assert(
      fc.property(filterArb, eventArb, (filter, event) => {
        if (matchFilter(compiled(filter), event)) matches++;
        else misses++;
      }),
      { numRuns: 2000 },
    );
    expect(matches).toBeGreaterThan(100);
    expect(misses).toBeGreaterThan(100);
  });
});
