/**
 * NIP-50 in the store: the FTS5 index (migration 3) kept in step with the events table by the one write
 * path and the delete trigger — insert, replacement, NIP-09 deletion, expiry pruning, any other DELETE —
 * the backfill of rows written before migration 3, and search queries combined with other fields.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from '../../src/store/sqlite.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { serialize } from '../../src/event/validate.js';
import { compileFilter, type CompiledFilter } from '../../src/filter/compile.js';
import { EventStore } from '../../src/store/index.js';
import { migrations } from '../../src/store/migrations.js';

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const PK = hex(32);
const PK2 = hex(32);

function ev(fields: Partial<NostrEvent> = {}): NostrEvent {
  return { id: hex(32), pubkey: PK, created_at: 1000, kind: 1, content: '', sig: hex(64), tags: [], ...fields };
}
function f(input: Record<string, unknown>): CompiledFilter {
  const compiled = compileFilter(input, { max_filter_values: 1000, max_limit: 5000, default_limit: 500 }, { search: true });
  if ('prefix' in compiled) throw new Error(`bad test filter: ${compiled.text}`);
  return compiled;
}

let dir: string;
let path: string;
let store: EventStore;
const write = (...events: NostrEvent[]): string[] =>
  store.writeBatch(events.map((event) => ({ event, json: serialize(event) }))).map((o) => o.status);
const ids = (...filters: Record<string, unknown>[]): string[] =>
  store.query(filters.map(f), 5000).map((json) => (JSON.parse(json) as NostrEvent).id);
/** Rows of the FTS index matching a word (straight from SQLite, not through the store's query). */
function indexed(word: string): number[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT rowid FROM events_fts WHERE events_fts MATCH ?').pluck().all(`"${word}"`) as number[];
  } finally {
    db.close();
  }
}
/** The index's rowids equal the events table's seqs (every event has one index row, empty content too). */
function expectInStep(): void {
  const db = new Database(path, { readonly: true });
  try {
    const seqs = db.prepare('SELECT seq FROM events ORDER BY seq').pluck().all();
    expect(db.prepare('SELECT rowid FROM events_fts ORDER BY rowid').pluck().all()).toEqual(seqs);
  } finally {
    db.close();
  }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'commons-search-'));
  path = join(dir, 'relay.sqlite');
  store = EventStore.open(path, { synchronous: 'normal' });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('NIP-50: the FTS index follows the events table', () => {
  it('insert: a stored event is found by its words, case- and accent-insensitively', () => {
    const a = ev({ content: 'Purple Crème brûlée' });
    write(a);
    expect(ids({ search: 'purple' })).toEqual([a.id]);
    expect(ids({ search: 'PURPLE creme BRULEE' })).toEqual([a.id]);
    expect(ids({ search: 'purples' })).toEqual([]); // no stemming
  });

  it('replacement: the older version leaves the index', () => {
    const old = ev({ kind: 0, created_at: 1000, content: '{"name":"oldname"}' });
    const next = ev({ kind: 0, created_at: 1001, content: '{"name":"newname"}' });
    write(old, next);
    expect(ids({ search: 'oldname' })).toEqual([]);
    expect(ids({ search: 'newname' })).toEqual([next.id]);
    expect(indexed('oldname')).toEqual([]);
    expectInStep();
    const addressable = ev({ kind: 30023, created_at: 1000, tags: [['d', 'x']], content: 'first draft' });
    const edited = ev({ kind: 30023, created_at: 1002, tags: [['d', 'x']], content: 'final text' });
    write(addressable, edited);
    expect(indexed('draft')).toEqual([]);
    expect(ids({ search: 'final' })).toEqual([edited.id]);
  });

  it('NIP-09 deletion: the target leaves the index, the deletion itself is indexed', () => {
    const target = ev({ content: 'regrettable words' });
    write(target);
    expect(indexed('regrettable')).toHaveLength(1);
    write(ev({ kind: 5, created_at: 1001, tags: [['e', target.id]], content: 'regrettable typo' }));
    expect(ids({ search: 'regrettable', kinds: [1] })).toEqual([]);
    expect(indexed('words')).toEqual([]);
    expect(ids({ search: 'typo' })).toHaveLength(1);
    expectInStep();
  });

  it('NIP-40: expired events are hidden from search at once and leave the index when pruned', () => {
    const expiring = ev({ content: 'flash sale', tags: [['expiration', '2000']] });
    write(expiring);
    expect(store.query([f({ search: 'flash' })], 1999)).toHaveLength(1);
    expect(store.query([f({ search: 'flash' })], 2000)).toHaveLength(0);
    expect(store.count([f({ search: 'flash' })], 2000)).toBe(0);
    expect(store.deleteExpired(2000, 10)).toBe(1);
    expect(indexed('flash')).toEqual([]);
    expectInStep();
  });

  it('any other DELETE of an event row (retention, tools) removes its index row through the trigger', () => {
    const a = ev({ content: 'ephemeral thoughts' });
    write(a, ev({ content: 'lasting thoughts' }));
    store.close();
    const db = new Database(path);
    db.prepare("DELETE FROM events WHERE json ->> '$.content' = 'ephemeral thoughts'").run();
    db.close();
    store = EventStore.open(path, { synchronous: 'normal' });
    expect(indexed('ephemeral')).toEqual([]);
    expect(indexed('thoughts')).toHaveLength(1);
    expectInStep();
  });

  it('migration 3 indexes the rows written before it', () => {
    store.close();
    rmSync(path);
    const db = new Database(path);
    migrations[0]!(db);
    migrations[1]!(db);
    db.pragma('user_version = 2');
    const old = ev({ content: 'written before search existed' });
    db.prepare('INSERT INTO events (id, pubkey, kind, created_at, json) VALUES (?, ?, 1, 1000, ?)').run(
      Buffer.from(old.id, 'hex'),
      Buffer.from(old.pubkey, 'hex'),
      serialize(old),
    );
    db.close();
    store = EventStore.open(path, { synchronous: 'normal' });
    expect(ids({ search: 'existed' })).toEqual([old.id]);
    expectInStep();
  });
});

describe('NIP-50 queries in the store', () => {
  it('ranks by relevance (bm25), then newest first; the limit applies after ranking', () => {
    const weak = ev({ created_at: 3000, content: 'bitcoin and a lot of other words about many other things entirely' });
    const strong = ev({ created_at: 1000, content: 'bitcoin bitcoin bitcoin' });
    const middle = ev({ created_at: 2000, content: 'bitcoin news today' });
    write(weak, strong, middle);
    expect(ids({ search: 'bitcoin' })).toEqual([strong.id, middle.id, weak.id]);
    expect(ids({ search: 'bitcoin', limit: 1 })).toEqual([strong.id]);
    const twin = ev({ created_at: 5000, content: 'bitcoin bitcoin bitcoin' });
    write(twin);
    expect(ids({ search: 'bitcoin', limit: 2 })).toEqual([twin.id, strong.id]); // equal rank: newest first
  });

  it('combines search with every other field (AND)', () => {
    const a = ev({ content: 'hello world', kind: 1, tags: [['t', 'greet']] });
    const b = ev({ content: 'hello world', kind: 7, pubkey: PK2 });
    const c = ev({ content: 'goodbye world', kind: 1, created_at: 900 });
    write(a, b, c);
    expect(ids({ search: 'hello', kinds: [1] })).toEqual([a.id]);
    expect(ids({ search: 'hello', authors: [PK2] })).toEqual([b.id]);
    expect(ids({ search: 'world', '#t': ['greet'] })).toEqual([a.id]);
    expect(ids({ search: 'world', until: 950 })).toEqual([c.id]);
    expect(ids({ search: 'world', ids: [c.id, a.id], since: 950 })).toEqual([a.id]);
    expect(store.count([f({ search: 'world' })], 5000)).toBe(3);
    expect(store.count([f({ search: 'hello' }), f({ search: 'goodbye' }), f({ kinds: [1] })], 5000)).toBe(3);
  });

  it('several filters OR: search matches first by rank, each event once, then the others newest first', () => {
    const apple = ev({ created_at: 1000, content: 'apple apple' });
    const pear = ev({ created_at: 1001, content: 'pear and some more words here' });
    const plain = ev({ created_at: 2000, kind: 7, content: '+' });
    write(apple, pear, plain);
    expect(ids({ search: 'pear' }, { search: 'apple' }, { kinds: [7, 1] })).toEqual([apple.id, pear.id, plain.id]);
  });

  it('empty query after stripping extensions and punctuation matches nothing; hostile input is plain text', () => {
    write(ev({ content: 'near and not or' }), ev({ content: 'x' }));
    for (const query of ['', '   ', 'language:en', 'include:spam nsfw:false', '"', '*', '-', '()', '^']) {
      expect(ids({ search: query }), query).toEqual([]);
    }
    for (const query of ['NEAR(', 'AND', 'NOT', 'OR', '"near', 'near*', '-not', 'near: or', 'content:x']) {
      expect(() => ids({ search: query }), query).not.toThrow();
    }
    expect(ids({ search: 'NEAR( AND' })).toHaveLength(1);
    expect(ids({ search: 'language:en near' })).toHaveLength(1);
  });
});
