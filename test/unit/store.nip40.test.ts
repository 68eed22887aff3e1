/** NIP-40 in the store: expires_at kept, expired rows hidden from reads, deleteExpired. */
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

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const PK = hex(32);
const PK2 = hex(32);

function ev(fields: Partial<NostrEvent> = {}, expiration?: number): NostrEvent {
  const tags = fields.tags ?? [];
  if (expiration !== undefined) tags.push(['expiration', String(expiration)]);
  return { id: hex(32), pubkey: PK, created_at: 1000, kind: 1, content: '', sig: hex(64), ...fields, tags };
}
function f(input: Record<string, unknown>): CompiledFilter {
  const compiled = compileFilter(input, { max_filter_values: 1000, max_limit: 5000, default_limit: 500 });
  if ('prefix' in compiled) throw new Error(`bad test filter: ${compiled.text}`);
  return compiled;
}

let dir: string;
let store: EventStore;
const write = (...events: NostrEvent[]): string[] =>
  store.writeBatch(events.map((event) => ({ event, json: serialize(event) }))).map((o) => o.status);
const ids = (now: number, ...filters: Record<string, unknown>[]): string[] =>
  store.query(filters.map(f), now).map((json) => (JSON.parse(json) as NostrEvent).id);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'commons-nip40-'));
  store = EventStore.open(join(dir, 'relay.sqlite'), { synchronous: 'normal' });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('NIP-40 in the store', () => {
  it('keeps the first valid expiration in expires_at', () => {
    const a = ev({}, 5000);
    const b = ev({ tags: [['expiration', '1.5']] });
    write(a, b);
    store.close();
    const db = new Database(join(dir, 'relay.sqlite'), { readonly: true });
    const rows = db.prepare('SELECT hex(id) AS id, expires_at FROM events').all() as { id: string; expires_at: number | null }[];
    db.close();
    store = EventStore.open(join(dir, 'relay.sqlite'), { synchronous: 'normal' });
    const byId = new Map(rows.map((row) => [row.id.toLowerCase(), row.expires_at]));
    expect(byId.get(a.id)).toBe(5000);
    expect(byId.get(b.id)).toBeNull();
  });

  it('query, count and iterate leave out events expired at now', () => {
    const keeps = ev({ created_at: 1000 });
    const expires = ev({ created_at: 1001, tags: [['t', 'x']] }, 2000);
    write(keeps, expires);
    expect(ids(1999, {})).toEqual([expires.id, keeps.id]);
    expect(ids(2000, {})).toEqual([keeps.id]);
    expect(ids(2000, { '#t': ['x'] })).toEqual([]);
    expect(ids(2000, { ids: [expires.id] })).toEqual([]);
    expect(ids(2000, { kinds: [1] }, { authors: [PK] })).toEqual([keeps.id]);
    expect(store.count([f({})], 1999)).toBe(2);
    expect(store.count([f({})], 2000)).toBe(1);
    expect(store.count([f({ kinds: [1] }), f({ '#t': ['x'] })], 2000)).toBe(1);
    expect([...store.iterate(undefined, 2000)]).toHaveLength(1);
  });

  it('limited queries over several index ranges still return `limit` unexpired events', () => {
    // Newest events expire: the index-only cutoff must look past them (expiredSlack).
    const fresh = Array.from({ length: 5 }, (_, i) =>
      ev({ created_at: 1000 + i, pubkey: i % 2 ? PK : PK2, tags: [['t', i % 2 ? 'a' : 'b']] }),
    );
    const gone = Array.from({ length: 5 }, (_, i) =>
      ev({ created_at: 2000 + i, pubkey: i % 2 ? PK : PK2, tags: [['t', i % 2 ? 'a' : 'b']] }, 3000),
    );
    write(...fresh, ...gone);
    const newestFresh = [...fresh]
      .reverse()
      .slice(0, 3)
      .map((e) => e.id);
    expect(ids(3000, { authors: [PK, PK2], limit: 3 })).toEqual(newestFresh);
    expect(ids(3000, { kinds: [1, 7], limit: 3 })).toEqual(newestFresh);
    expect(ids(3000, { '#t': ['a', 'b'], limit: 3 })).toEqual(newestFresh);
    expect(ids(3000, { limit: 3 })).toEqual(newestFresh);
  });

  it('deleteExpired deletes expired rows in batches of at most maxRows', () => {
    const expired = Array.from({ length: 5 }, () => ev({ tags: [['t', 'x']] }, 1500));
    const later = ev({}, 9000);
    const never = ev();
    write(...expired, later, never);
    expect(store.deleteExpired(1500, 3)).toBe(3);
    expect(store.deleteExpired(1500, 3)).toBe(2);
    expect(store.deleteExpired(1500, 3)).toBe(0);
    expect(store.stats().events).toBe(2);
    expect(store.count([f({ '#t': ['x'] })], 0)).toBe(0);
    expect(store.deleteExpired(9000, 10)).toBe(1);
    expect(store.has(never.id)).toBe(true);
  });

  it('replaceable: the newest version wins regardless of expiration', () => {
    const newer = ev({ kind: 0, created_at: 2000 }, 2500);
    const older = ev({ kind: 0, created_at: 1000 });
    expect(write(newer, older)).toEqual(['stored', 'older']);
    expect(ids(2400, { kinds: [0] })).toEqual([newer.id]);
    expect(ids(2500, { kinds: [0] })).toEqual([]);
    const newest = ev({ kind: 0, created_at: 3000 }, 2600);
    expect(write(newest)).toEqual(['stored']);
  });
});
