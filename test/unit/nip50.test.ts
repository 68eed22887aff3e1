/** NIP-50 query parsing (src/filter/search.ts): extensions dropped, phrases quoted, live matching. */
import { describe, expect, it } from 'vitest';
import { compileFilter } from '../../src/filter/compile.js';
import { matchFilter } from '../../src/filter/match.js';
import { matchesSearch, parseSearch } from '../../src/filter/search.js';

const LIMITS = { max_filter_values: 100, max_limit: 500, default_limit: 100 };

describe('parseSearch', () => {
  it('quotes every token as a phrase of its words, lowercased, diacritics removed', () => {
    expect(parseSearch('Purple  rain').fts).toBe('"purple" "rain"');
    expect(parseSearch("don't Crème").fts).toBe('"don t" "creme"');
    expect(parseSearch('e-mail').phrases).toEqual([['e', 'mail']]);
  });

  it('drops key:value extensions, keeps the rest', () => {
    expect(parseSearch('language:en best nsfw:false include:spam domain:x.com pizza').fts).toBe('"best" "pizza"');
    expect(parseSearch('ratio: 2:1').fts).toBe('"ratio" "2 1"'); // not key:value shaped
  });

  it('leaves no FTS5 syntax: operators are plain words, punctuation disappears', () => {
    for (const hostile of ['"', '""', '*', '-', '^', '(', ')', ':', '+', 'NEAR(', 'a"b', '{col}', 'x AND y OR NOT z', 'NEAR(a b, 3)']) {
      const { fts } = parseSearch(hostile);
      expect(fts, hostile).toMatch(/^("[\p{L}\p{N} ]+"( |$))*$/u);
    }
    expect(parseSearch('x AND y').fts).toBe('"x" "and" "y"');
    expect(parseSearch('NEAR(a b, 3)').fts).toBe('"near a" "b" "3"');
  });

  it('an empty query (after stripping) has no phrases', () => {
    for (const empty of ['', '   ', 'language:en', '* - " ()', '🔥']) expect(parseSearch(empty)).toEqual({ fts: '', phrases: [] });
  });

  it('uses at most 32 phrases (nips/50.md)', () => {
    expect(parseSearch(Array.from({ length: 100 }, (_, i) => `w${i}`).join(' ')).phrases).toHaveLength(32);
  });
});

describe('matchesSearch (live events)', () => {
  it('every phrase must occur as consecutive words, case- and accent-insensitively', () => {
    const search = parseSearch('PURPLE creme');
    expect(matchesSearch(search, 'I like purple crème brûlée')).toBe(true);
    expect(matchesSearch(search, 'purple only')).toBe(false);
    expect(matchesSearch(search, 'purples creme')).toBe(false); // whole words, no stemming
    expect(matchesSearch(parseSearch("don't"), 'I DON’T know')).toBe(true); // ’ and ' both split: "don t"
    expect(matchesSearch(parseSearch("don't"), "Don't panic")).toBe(true);
    expect(matchesSearch(parseSearch('language:en'), 'anything')).toBe(false);
  });

  it('matchFilter applies search together with the other fields', () => {
    const filter = compileFilter({ kinds: [1], search: 'hello' }, LIMITS, { search: true });
    if ('prefix' in filter) throw new Error(filter.text);
    const event = { id: 'a'.repeat(64), pubkey: 'b'.repeat(64), created_at: 1, kind: 1, tags: [], content: 'Hello there', sig: '' };
    expect(matchFilter(filter, event)).toBe(true);
    expect(matchFilter(filter, { ...event, kind: 7 })).toBe(false);
    expect(matchFilter(filter, { ...event, content: 'bye' })).toBe(false);
  });
});

describe('compileFilter with search', () => {
  it('refused with unsupported: unless enabled; must be a string of bounded length', () => {
    expect(compileFilter({ search: 'x' }, LIMITS)).toMatchObject({ prefix: 'unsupported' });
    expect(compileFilter({ search: 'x' }, LIMITS, { search: false })).toMatchObject({ prefix: 'unsupported' });
    expect(compileFilter({ search: 1 }, LIMITS, { search: true })).toMatchObject({ prefix: 'invalid' });
    expect(compileFilter({ search: 'x'.repeat(1001) }, LIMITS, { search: true })).toMatchObject({ prefix: 'invalid' });
    expect(compileFilter({ search: 'x' }, LIMITS, { search: true })).toMatchObject({ search: { fts: '"x"' } });
  });
});
