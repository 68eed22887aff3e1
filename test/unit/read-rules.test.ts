/**
 * Read rules (src/policy/read.ts): restricted kinds split off each filter, run on a real store, and
 * checked against a plain definition — "matches the client's filter, and is unrestricted or written
 * by / p-tagging a reader" — including the limit over the union of a filter's parts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { NostrEvent } from '../../src/event/types.js';
import { serialize } from '../../src/event/validate.js';
import { compileFilter, type CompiledFilter } from '../../src/filter/compile.js';
import { matchFilter } from '../../src/filter/match.js';
import { mayRead, parseKindList, readRules, restrictFilters } from '../../src/policy/read.js';
import { EventStore } from '../../src/store/index.js';

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const [ALICE, BOB, CAROL, DAVE] = [hex(32), hex(32), hex(32), hex(32)];
const RULES = readRules([4, 1059, 1060]);
const NONE = new Set<string>();

function f(input: Record<string, unknown>): CompiledFilter {
  const compiled = compileFilter(input, { max_filter_values: 1000, max_limit: 5000, default_limit: 500 });
  if ('prefix' in compiled) throw new Error(`bad test filter: ${compiled.text}`);
  return compiled;
}

let seq = 0;
function ev(fields: Partial<NostrEvent>): NostrEvent {
  return { id: hex(32), pubkey: ALICE, created_at: 1000 + seq++, kind: 1, tags: [], content: '', sig: hex(64), ...fields };
}

describe('restrictFilters, one filter', () => {
  it('a filter without restricted kinds is left as it is', () => {
    const filter = f({ kinds: [1, 7] });
    expect(restrictFilters([filter], RULES, NONE)).toEqual([filter]);
  });

  it('only restricted kinds, not authenticated → auth-required', () => {
    expect(restrictFilters([f({ kinds: [4] })], RULES, NONE)).toBe('auth-required');
    expect(restrictFilters([f({ kinds: [4, 1059], authors: [ALICE] })], RULES, NONE)).toBe('auth-required');
    expect(restrictFilters([f({ kinds: [1] }), f({ kinds: [4] })], RULES, NONE)).toBe('auth-required');
  });

  it('mixed kinds, not authenticated → the restricted kinds are dropped silently', () => {
    const parts = restrictFilters([f({ kinds: [1, 4] })], RULES, NONE);
    expect(parts).toHaveLength(1);
    expect([...(parts as CompiledFilter[])[0]!.kinds!]).toEqual([1]);
  });

  it('no kinds, not authenticated → notKinds, one filter', () => {
    const parts = restrictFilters([f({})], RULES, NONE) as CompiledFilter[];
    expect(parts).toHaveLength(1);
    expect([...parts[0]!.notKinds!].sort()).toEqual([1059, 1060, 4]);
    expect(parts[0]!.group).toBeUndefined();
  });

  it('authenticated: the restricted part is constrained to authors ∈ readers or #p ∈ readers', () => {
    const parts = restrictFilters([f({ kinds: [4] })], RULES, new Set([BOB])) as CompiledFilter[];
    expect(parts).toHaveLength(2);
    expect([...parts[0]!.authors!]).toEqual([BOB]);
    expect(parts[1]!.tags).toEqual([['p', new Set([BOB])]]);
    expect(parts[0]!.group).toBeDefined();
    expect(parts[0]!.group).toBe(parts[1]!.group);
  });

  it('authors all readers, or #p all readers → the filter is readable as it is', () => {
    const own = f({ kinds: [4], authors: [BOB] });
    expect(restrictFilters([own], RULES, new Set([BOB]))).toEqual([own]);
    const mine = f({ kinds: [4], '#p': [BOB] });
    expect(restrictFilters([mine], RULES, new Set([BOB]))).toEqual([mine]);
  });
});

describe('mayRead (live delivery)', () => {
  const dm = ev({ kind: 4, pubkey: ALICE, tags: [['p', BOB]] });
  it('author and recipient may, others and unauthenticated may not', () => {
    expect(mayRead(dm, RULES, new Set([ALICE]))).toBe(true);
    expect(mayRead(dm, RULES, new Set([BOB]))).toBe(true);
    expect(mayRead(dm, RULES, new Set([CAROL]))).toBe(false);
    expect(mayRead(dm, RULES, NONE)).toBe(false);
    expect(mayRead(ev({ kind: 1 }), RULES, NONE)).toBe(true);
  });
});

describe('config', () => {
  it('read.auth_required_kinds: a plain list of kinds, defaults 4, 1059, 1060', () => {
    expect(parseConfig('', 'x').read).toEqual({ auth_required_kinds: [4, 1059, 1060], private: false });
    expect(parseKindList([1, 'x'])).toMatchObject({ ok: false, at: '[1]' });
    expect(() => parseConfig('read:\n  auth_required_kinds: [[1, 5]]\n', 'x')).toThrow(/read\.auth_required_kinds\[0\]/);
  });

  it('read.private needs members.enabled and auth.enabled', () => {
    expect(() => parseConfig('read:\n  private: true\n', 'x')).toThrow(/read\.private: needs members\.enabled/);
    expect(parseConfig('read:\n  private: true\nmembers:\n  enabled: true\n', 'x').read.private).toBe(true);
  });
});

describe('on a store: the split parts return exactly what the reader may read', () => {
  let dir: string;
  let store: EventStore;
  const events: NostrEvent[] = [];
  const people = [ALICE, BOB, CAROL, DAVE];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'commons-read-'));
    store = EventStore.open(join(dir, 'relay.sqlite'), { synchronous: 'normal' });
    for (let i = 0; i < 200; i++) {
      const kind = [1, 4, 1059, 7, 4, 1060][i % 6]!;
      const pubkey = people[i % 4]!;
      const tags = i % 3 === 0 ? [] : [['p', people[(i * 7) % 4]!]];
      events.push(ev({ kind, pubkey, tags }));
    }
    store.writeBatch(events.map((event) => ({ event, json: serialize(event) })));
  });
  afterAll(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** What a reader may see, by definition: the newest `limit` readable matches, newest first. */
  function expected(input: Record<string, unknown>, readers: Set<string>): string[] {
    const filter = f(input);
    return events
      .filter((event) => matchFilter(filter, event) && mayRead(event, RULES, readers))
      .sort((a, b) => b.created_at - a.created_at)
      .slice(0, filter.limit)
      .map((event) => event.id);
  }

  const cases: [string, Record<string, unknown>][] = [
    ['{}', {}],
    ['{limit: 7}', { limit: 7 }],
    ['kinds [4]', { kinds: [4] }],
    ['kinds [4], limit 3', { kinds: [4], limit: 3 }],
    ['kinds [1, 4, 1059], limit 10', { kinds: [1, 4, 1059], limit: 10 }],
    ['authors [someone else], kinds [4]', { kinds: [4], authors: [CAROL] }],
    ['#p someone else', { '#p': [DAVE], limit: 20 }],
    ['authors [bob, carol]', { authors: [BOB, CAROL] }],
  ];
  const readerSets: [string, Set<string>][] = [
    ['bob', new Set([BOB])],
    ['bob and alice', new Set([BOB, ALICE])],
  ];

  for (const [name, input] of cases) {
    for (const [who, readers] of readerSets) {
      it(`${name}, read by ${who}`, () => {
        const parts = restrictFilters([f(input)], RULES, readers) as CompiledFilter[];
        const got = store.query(parts).map((json) => (JSON.parse(json) as NostrEvent).id);
        expect(got).toEqual(expected(input, readers));
        const all = expected({ ...input, limit: 5000 }, readers);
        expect(store.count(parts)).toBe(all.length);
      });
    }
  }

  it('unauthenticated {} and mixed filters never return restricted kinds', () => {
    for (const input of [{}, { kinds: [1, 4, 1060] }, { authors: [ALICE] }, { ids: events.slice(0, 12).map((e) => e.id) }]) {
      const parts = restrictFilters([f(input)], RULES, NONE) as CompiledFilter[];
      const got = store.query(parts).map((json) => JSON.parse(json) as NostrEvent);
      expect(got.length).toBeGreaterThan(0);
      expect(got.filter((event) => RULES.restricted.has(event.kind))).toEqual([]);
      expect(got.map((e) => e.id)).toEqual(expected(input, NONE));
    }
  });

  it('negentropy keys of the parts cover exactly the readable events', () => {
    const parts = restrictFilters([f({})], RULES, new Set([BOB])) as CompiledFilter[];
    const ids = new Set(parts.flatMap((part) => [...store.negentropyKeys(part, 10_000, 10_000)].map(([, id]) => id.toLowerCase())));
    expect([...ids].sort()).toEqual(expected({ limit: 5000 }, new Set([BOB])).sort());
  });
});
