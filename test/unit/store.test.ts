import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from '../../src/store/sqlite.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { serialize } from '../../src/event/validate.js';
import { compileFilter, type CompiledFilter } from '../../src/filter/compile.js';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
import { EventStore } from '../../src/store/index.js';

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const PK = hex(32);
const PK2 = hex(32);
/** An id whose first byte is fixed, so tests control which of two ids is lower. */
const idStarting = (byte: string): string => byte + hex(31);

function ev(fields: Partial<NostrEvent> = {}): NostrEvent {
  return { id: hex(32), pubkey: PK, created_at: 1000, kind: 1, tags: [], content: '', sig: hex(64), ...fields };
}
const w = (...events: NostrEvent[]) => events.map((event) => ({ event, json: serialize(event) }));

function f(input: Record<string, unknown>): CompiledFilter {
  const compiled = compileFilter(input, { max_filter_values: 1000, max_limit: 5000, default_limit: 500 });
  if ('prefix' in compiled) throw new Error(`bad test filter: ${compiled.text}`);
  return compiled;
}

let dir: string;
let store: EventStore;
const open = (): EventStore => EventStore.open(join(dir, 'db', 'relay.sqlite'), { synchronous: 'normal' });
/** ids returned by query(), in order. */
const ids = (...filters: Record<string, unknown>[]): string[] =>
  store.query(filters.map(f)).map((json) => (JSON.parse(json) as NostrEvent).id);
const statuses = (...events: NostrEvent[]): string[] => store.writeBatch(w(...events)).map((o) => o.status);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'commons-store-'));
  store = open();
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('open and migrations', () => {
  it('creates the parent directory and the file', () => {
    expect(existsSync(join(dir, 'db', 'relay.sqlite'))).toBe(true);
  });

  it('reopening is a no-op migration and keeps the data', () => {
    const e = ev();
    statuses(e);
    store.close();
    store = open();
    store.close();
    store = open();
    expect(store.has(e.id)).toBe(true);
    expect(store.query([f({})])).toEqual([serialize(e)]);
    const db = new Database(join(dir, 'db', 'relay.sqlite'));
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('refuses a database from a newer schema', () => {
    store.close();
    const db = new Database(join(dir, 'db', 'relay.sqlite'));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => open()).toThrow(/newer/);
    store = EventStore.open(':memory:', { synchronous: 'normal' }); // for afterEach
  });

  it("works in memory and with synchronous 'full'", () => {
    const memory = EventStore.open(':memory:', { synchronous: 'full' });
    expect(memory.writeBatch(w(ev()))).toEqual([{ status: 'stored' }]);
    expect(memory.stats()).toEqual({ events: 1 });
    memory.close();
  });
});

describe('writeBatch', () => {
  it('stores regular events and reports duplicates, also inside one batch', () => {
    const a = ev();
    const b = ev();
    expect(statuses(a, a, b)).toEqual(['stored', 'duplicate', 'stored']);
    expect(statuses(a)).toEqual(['duplicate']);
    expect(store.has(a.id)).toBe(true);
    expect(store.has(hex(32))).toBe(false);
    expect(ids({ ids: [a.id] })).toEqual([a.id]);
    expect(store.stats()).toEqual({ events: 2 });
  });

  it('stores the json exactly as given', () => {
    const e = ev({ content: 'a\n"b"\\ \u2028 ☃' });
    const json = `{"kind":1,${serialize(e).slice(1)}`; // any text the caller chose
    store.writeBatch([{ event: e, json }]);
    expect(store.query([f({ ids: [e.id] })])).toEqual([json]);
  });

  it('throws on ephemeral kinds and writes nothing of the batch', () => {
    const a = ev();
    expect(() => store.writeBatch(w(a, ev({ kind: 20001 })))).toThrow(/ephemeral/);
    expect(store.has(a.id)).toBe(false);
  });

  it('an empty batch is fine', () => {
    expect(store.writeBatch([])).toEqual([]);
  });
});

describe('replaceable kinds (0, 3, 10000-19999)', () => {
  const latest = (kind: number, author = PK) => ids({ kinds: [kind], authors: [author] });

  it('newer replaces older; an older one is refused', () => {
    const v1 = ev({ kind: 0, created_at: 1000, tags: [['t', 'old']] });
    const v2 = ev({ kind: 0, created_at: 2000 });
    expect(statuses(v1, v2)).toEqual(['stored', 'stored']);
    expect(latest(0)).toEqual([v2.id]);
    expect(statuses(ev({ kind: 0, created_at: 1500 }))).toEqual(['older']);
    expect(statuses(v1)).toEqual(['older']);
    expect(latest(0)).toEqual([v2.id]);
    expect(store.has(v1.id)).toBe(false);
    expect(ids({ '#t': ['old'] })).toEqual([]); // tag rows went with the event
    expect(store.stats()).toEqual({ events: 1 });
  });

  it('on equal created_at the lowest id wins, whichever arrives first', () => {
    const low = ev({ kind: 3, id: idStarting('01') });
    const high = ev({ kind: 3, id: idStarting('fe') });
    expect(statuses(high, low)).toEqual(['stored', 'stored']);
    expect(latest(3)).toEqual([low.id]);
    expect(statuses(high)).toEqual(['older']);
    expect(statuses(low)).toEqual(['duplicate']);

    const low2 = ev({ kind: 10002, id: idStarting('01') });
    const high2 = ev({ kind: 10002, id: idStarting('fe') });
    expect(statuses(low2, high2)).toEqual(['stored', 'older']);
    expect(latest(10002)).toEqual([low2.id]);
  });

  it('different author or kind never replaces', () => {
    const a = ev({ kind: 10000 });
    const b = ev({ kind: 10001 });
    const c = ev({ kind: 10000, pubkey: PK2 });
    expect(statuses(a, b, c)).toEqual(['stored', 'stored', 'stored']);
    expect(latest(10000)).toEqual([a.id]);
    expect(latest(10001)).toEqual([b.id]);
    expect(latest(10000, PK2)).toEqual([c.id]);
  });

  it('ignores d tags for 10000-19999', () => {
    const a = ev({ kind: 10003, created_at: 1000, tags: [['d', 'x']] });
    const b = ev({ kind: 10003, created_at: 2000 });
    const c = ev({ kind: 10003, created_at: 3000, tags: [['d', 'y']] });
    expect(statuses(a, b)).toEqual(['stored', 'stored']);
    expect(latest(10003)).toEqual([b.id]);
    expect(statuses(c)).toEqual(['stored']);
    expect(latest(10003)).toEqual([c.id]);
  });

  it('replacement inside one batch behaves as if sequential', () => {
    const v1 = ev({ kind: 0, created_at: 1 });
    const v2 = ev({ kind: 0, created_at: 2 });
    const v3 = ev({ kind: 0, created_at: 3 });
    expect(statuses(v1, v3, v2, v3)).toEqual(['stored', 'stored', 'older', 'duplicate']);
    expect(latest(0)).toEqual([v3.id]);
  });
});

describe('addressable kinds (30000-39999)', () => {
  const at = (kind: number, d: string) => ids({ kinds: [kind], authors: [PK], '#d': [d] });

  it('missing d, ["d"] and ["d",""] are the same address', () => {
    const a = ev({ kind: 30000, created_at: 1 });
    const b = ev({ kind: 30000, created_at: 2, tags: [['d']] });
    const c = ev({ kind: 30000, created_at: 3, tags: [['d', '']] });
    expect(statuses(a, b, c)).toEqual(['stored', 'stored', 'stored']);
    expect(ids({ kinds: [30000] })).toEqual([c.id]);
    expect(statuses(ev({ kind: 30000, created_at: 2 }))).toEqual(['older']);
  });

  it('the first d tag names the address', () => {
    const ab = ev({
      kind: 30023,
      created_at: 1,
      tags: [
        ['d', 'a'],
        ['d', 'b'],
      ],
    });
    const b = ev({ kind: 30023, created_at: 5, tags: [['d', 'b']] });
    const a = ev({ kind: 30023, created_at: 2, tags: [['d', 'a']] });
    expect(statuses(ab, b)).toEqual(['stored', 'stored']);
    expect(at(30023, 'b')).toEqual([b.id, ab.id]); // #d matches any d tag; ab still stored
    expect(statuses(a)).toEqual(['stored']); // replaces ab (address 'a')
    expect(at(30023, 'b')).toEqual([b.id]);
    expect(at(30023, 'a')).toEqual([a.id]);
  });

  it('newer wins, older refused, lowest id on ties; d / kind / pubkey independent', () => {
    const x1 = ev({ kind: 30001, created_at: 1000, tags: [['d', 'x']] });
    const x2 = ev({ kind: 30001, created_at: 2000, id: idStarting('80'), tags: [['d', 'x']] });
    const y = ev({ kind: 30001, created_at: 500, tags: [['d', 'y']] });
    const otherKind = ev({ kind: 30002, created_at: 500, tags: [['d', 'x']] });
    const otherAuthor = ev({ kind: 30001, created_at: 500, pubkey: PK2, tags: [['d', 'x']] });
    expect(statuses(x1, x2, y, otherKind, otherAuthor, x1)).toEqual(['stored', 'stored', 'stored', 'stored', 'stored', 'older']);
    expect(at(30001, 'x')).toEqual([x2.id]);
    expect(at(30001, 'y')).toEqual([y.id]);
    expect(ids({ '#d': ['x'] })).toEqual([x2.id, ...[otherAuthor.id, otherKind.id].sort()]);
    const high = ev({ kind: 30001, created_at: 2000, id: idStarting('ff'), tags: [['d', 'x']] });
    const low = ev({ kind: 30001, created_at: 2000, id: idStarting('00'), tags: [['d', 'x']] });
    expect(statuses(high, low)).toEqual(['older', 'stored']);
    expect(at(30001, 'x')).toEqual([low.id]);
  });

  it('a d tag on a regular kind has no effect', () => {
    const a = ev({ kind: 1, tags: [['d', 'same']] });
    const b = ev({ kind: 1, tags: [['d', 'same']] });
    expect(statuses(a, b)).toEqual(['stored', 'stored']);
    expect(ids({ '#d': ['same'] }).sort()).toEqual([a.id, b.id].sort());
  });
});

describe('query', () => {
  const A = ev({
    id: idStarting('aa'),
    created_at: 100,
    kind: 1,
    tags: [
      ['e', hex(32)],
      ['t', 'x'],
      ['T', 'y'],
      ['k', 'z', 'extra'],
    ],
  });
  const B = ev({
    id: idStarting('bb'),
    created_at: 200,
    kind: 7,
    pubkey: PK2,
    tags: [
      ['t', 'x'],
      ['g', 'u0m'],
    ],
  });
  const C = ev({
    id: idStarting('cc'),
    created_at: 200,
    kind: 1,
    tags: [
      ['t', 'w'],
      ['g', 'u0'],
    ],
  });
  const D = ev({ id: idStarting('01'), created_at: 300, kind: 6, pubkey: PK2, tags: [['tt', 'x'], ['t'], ['p', PK]] });
  beforeEach(() => statuses(A, B, C, D));

  it('ids, authors, kinds', () => {
    expect(ids({ ids: [A.id, C.id, hex(32)] })).toEqual([C.id, A.id]);
    expect(ids({ authors: [PK2] })).toEqual([D.id, B.id]);
    expect(ids({ kinds: [1] })).toEqual([C.id, A.id]);
    expect(ids({ kinds: [1, 7], authors: [PK] })).toEqual([C.id, A.id]);
    expect(ids({ ids: [A.id, B.id], authors: [PK2] })).toEqual([B.id]);
  });

  it('tags: OR within a letter, AND across letters, case-sensitive, only tag[1]', () => {
    expect(ids({ '#t': ['x'] })).toEqual([B.id, A.id]);
    expect(ids({ '#t': ['x', 'w'] })).toEqual([B.id, C.id, A.id]);
    expect(ids({ '#t': ['x'], '#g': ['u0m'] })).toEqual([B.id]);
    expect(ids({ '#t': ['x', 'w'], '#g': ['u0', 'u0m'], kinds: [1] })).toEqual([C.id]);
    expect(ids({ '#T': ['x'] })).toEqual([]);
    expect(ids({ '#T': ['y'] })).toEqual([A.id]);
    expect(ids({ '#k': ['extra'] })).toEqual([]);
    expect(ids({ '#k': ['z'] })).toEqual([A.id]);
    expect(ids({ '#g': ['u0'] })).toEqual([C.id]); // exact, no prefix
    expect(ids({ '#p': [PK] })).toEqual([D.id]);
    expect(ids({ '#p': [PK], authors: [PK] })).toEqual([]);
    expect(ids({ '#e': [A.tags[0]![1]!], '#t': ['x'] })).toEqual([A.id]);
  });

  it('since and until are inclusive; since > until matches nothing', () => {
    expect(ids({ since: 200 })).toEqual([D.id, B.id, C.id]);
    expect(ids({ until: 200 })).toEqual([B.id, C.id, A.id]);
    expect(ids({ since: 200, until: 200 })).toEqual([B.id, C.id]);
    expect(ids({ since: 201, until: 200 })).toEqual([]);
    expect(ids({ '#t': ['x', 'w'], since: 150, until: 250 })).toEqual([B.id, C.id]);
  });

  it('limit keeps the newest, ties lowest id first; limit 0 returns nothing', () => {
    expect(ids({})).toEqual([D.id, B.id, C.id, A.id]);
    expect(ids({ limit: 2 })).toEqual([D.id, B.id]);
    expect(ids({ kinds: [1, 7], limit: 1 })).toEqual([B.id]);
    expect(ids({ '#t': ['x', 'w'], limit: 1 })).toEqual([B.id]);
    expect(ids({ authors: [PK, PK2], limit: 3 })).toEqual([D.id, B.id, C.id]);
    expect(ids({ limit: 0 })).toEqual([]);
    expect(ids({ limit: 0 }, { kinds: [6] })).toEqual([D.id]);
  });

  it('several filters: union, each event once, merged order', () => {
    expect(ids({ kinds: [1] }, { '#t': ['x'] }, { ids: [D.id] })).toEqual([D.id, B.id, C.id, A.id]);
    expect(ids({ kinds: [1], limit: 1 }, { kinds: [7] })).toEqual([B.id, C.id]);
  });

  it('count: distinct matches over all filters, limits ignored', () => {
    expect(store.count([f({})])).toBe(4);
    expect(store.count([f({ limit: 1 })])).toBe(4);
    expect(store.count([f({ kinds: [1] }), f({ '#t': ['x'] })])).toBe(3);
    expect(store.count([f({ '#t': ['x', 'w'] })])).toBe(3);
    expect(store.count([f({ since: 5, until: 4 })])).toBe(0);
    expect(store.count([])).toBe(0);
  });

  it('iterate: every match newest first, limit ignored', () => {
    const all = [...store.iterate()].map((json) => (JSON.parse(json) as NostrEvent).id);
    expect(all).toEqual([D.id, B.id, C.id, A.id]);
    const some = [...store.iterate(f({ '#t': ['x', 'w'], limit: 1 }))].map((json) => (JSON.parse(json) as NostrEvent).id);
    expect(some).toEqual([B.id, C.id, A.id]);
    expect([...store.iterate(f({ limit: 0 }))]).toHaveLength(4);
  });

  it('explain returns the statement and its plan', () => {
    const { sql, plan } = store.explain(f({ kinds: [1], authors: [PK] }));
    expect(sql).toMatch(/events_pubkey_kind_created/);
    expect(plan.some((line) => /^SCAN (e|events)\b/.test(line))).toBe(false);
  });
});

describe('the JSON is read after the sort', () => {
  // Stored in shuffled order, so rowid order says nothing about the answer's order; few distinct
  // created_at values, so most of the order is the id tie-break.
  const authors = [PK, PK2, hex(32)];
  const events = Array.from({ length: 240 }, (_, i) =>
    ev({
      pubkey: authors[i % 3]!,
      kind: [1, 6, 7][i % 3]!,
      created_at: 1000 + (i % 7),
      tags: [
        ['t', i % 2 === 0 ? 'even' : 'odd'],
        ['p', authors[i % 5 === 0 ? 0 : 1]!],
      ],
    }),
  ).sort(() => Math.random() - 0.5);
  const newestFirst = (a: NostrEvent, b: NostrEvent): number => b.created_at - a.created_at || (a.id < b.id ? -1 : 1);
  beforeEach(() => statuses(...events));

  const cases: [string, Record<string, unknown>][] = [
    ['no condition', { limit: 50 }],
    ['ids', { ids: events.slice(0, 40).map((e) => e.id), limit: 30 }],
    ['one author', { authors: [PK], limit: 25 }],
    ['authors and kinds', { authors: [PK, PK2], kinds: [1, 6], limit: 25 }],
    ['one kind, since and until', { kinds: [7], since: 1002, until: 1005, limit: 20 }],
    ['kinds', { kinds: [1, 7], limit: 35 }],
    ['one tag value', { '#t': ['even'], limit: 40 }],
    ['tag values and a kind', { '#t': ['even', 'odd'], kinds: [6], limit: 40 }],
    ['two tags', { '#p': [PK2], '#t': ['odd'], limit: 15 }],
  ];

  it.each(cases)('%s: newest first, ties lowest id first, as a naive scan', (_, input) => {
    const filter = f(input);
    const expected = events
      .filter((e) => matchesFilter(filter, e))
      .sort(newestFirst)
      .slice(0, filter.limit)
      .map((e) => e.id);
    expect(expected.length).toBeGreaterThan(5);
    expect(ids(input)).toEqual(expected);
    // Two filters: the 'rows' statements, merged in JS.
    expect(ids(input, { ids: [hex(32)] })).toEqual(expected);
  });

  it('when SQLite sorts every row read, the JSON is read after the sort, one rowid lookup per result row', () => {
    const sortsAll = new Set(['ids', 'authors and kinds', 'kinds', 'tag values and a kind']);
    for (const [name, input] of cases) {
      const { plan } = store.explain(f(input));
      const readAfter = plan.slice(-2).join(' | ') === 'SCAN s | SEARCH j USING INTEGER PRIMARY KEY (rowid=?)';
      expect([name, readAfter]).toEqual([name, sortsAll.has(name)]);
    }
  });
});

it('no statement binds a bare LIMIT ? (SQLite would prepare it again on every run)', () => {
  const shapes: Record<string, unknown>[] = [
    {},
    { ids: [hex(32), hex(32)] },
    { authors: [PK, PK2], kinds: [1, 6] },
    { kinds: [0], authors: [PK] },
    { '#t': ['a', 'b'] },
    { '#e': [hex(32)], kinds: [1] },
    { since: 10, until: 20 },
  ];
  for (const input of shapes) expect(store.explain(f(input)).sql).not.toMatch(/LIMIT \?/);
});

/** Enough of NIP-01 matching for the filters above (the differential tests use nostr-tools as the oracle). */
function matchesFilter(filter: CompiledFilter, event: NostrEvent): boolean {
  if (filter.ids && !filter.ids.has(event.id)) return false;
  if (filter.authors && !filter.authors.has(event.pubkey)) return false;
  if (filter.kinds && !filter.kinds.has(event.kind)) return false;
  if (filter.since !== undefined && event.created_at < filter.since) return false;
  if (filter.until !== undefined && event.created_at > filter.until) return false;
  return filter.tags.every(([name, values]) => event.tags.some((tag) => tag[0] === name && values.has(tag[1]!)));
}

it('iterate streams a large table', () => {
  const batch = Array.from({ length: 3000 }, (_, i) => ev({ created_at: i }));
  store.writeBatch(w(...batch));
  let previous = Infinity;
  let n = 0;
  for (const json of store.iterate()) {
    const { created_at } = JSON.parse(json) as NostrEvent;
    expect(created_at).toBeLessThanOrEqual(previous);
    previous = created_at;
    n++;
  }
  expect(n).toBe(3000);
});
