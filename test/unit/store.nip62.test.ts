/** NIP-62 effects of the one write path (src/store/write.ts): a request to vanish applied and remembered. */
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
const ALICE = hex(32);
const BOB = hex(32);

function ev(fields: Partial<NostrEvent> = {}): NostrEvent {
  return { id: hex(32), pubkey: ALICE, created_at: 1000, kind: 1, tags: [], content: '', sig: hex(64), ...fields };
}
const vanish = (created_at = 2000, pubkey = ALICE): NostrEvent => ev({ pubkey, kind: 62, created_at, tags: [['relay', 'ALL_RELAYS']] });

function f(input: Record<string, unknown>): CompiledFilter {
  const compiled = compileFilter(input, { max_filter_values: 1000, max_limit: 5000, default_limit: 500 });
  if ('prefix' in compiled) throw new Error(`bad test filter: ${compiled.text}`);
  return compiled;
}

let dir: string;
let store: EventStore;
const path = (): string => join(dir, 'relay.sqlite');
/** `vanish: true` on kind 62s unless `applies` is false (ingest sets it when the request names this relay). */
const writeWith = (applies: boolean, ...events: NostrEvent[]): string[] =>
  store.writeBatch(events.map((event) => ({ event, json: serialize(event), vanish: applies && event.kind === 62 }))).map((o) => o.status);
const write = (...events: NostrEvent[]): string[] => writeWith(true, ...events);
const ids = (filter: Record<string, unknown> = {}): string[] => store.query([f(filter)]).map((json) => (JSON.parse(json) as NostrEvent).id);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'commons-nip62-'));
  store = EventStore.open(path(), { synchronous: 'normal' });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a request to vanish naming this relay', () => {
  it('deletes every event of the author up to its created_at (kind 5s, replaceables, earlier 62s), with tag and search rows; stores itself', () => {
    const note = ev({ tags: [['t', 'x']], content: 'purple' });
    const profile = ev({ kind: 0, created_at: 1500 });
    const article = ev({ kind: 30023, tags: [['d', 'a']], created_at: 1999 });
    const del = ev({ kind: 5, tags: [['e', hex(32)]], created_at: 1200 });
    const earlier = ev({ kind: 62, tags: [['relay', 'wss://elsewhere.example']], created_at: 1100 });
    const later = ev({ created_at: 2001 });
    const other = ev({ pubkey: BOB });
    expect(write(note, profile, article, del, earlier, later, other)).toEqual(Array(7).fill('stored'));
    const request = vanish(2000);
    expect(write(request)).toEqual(['stored']);
    expect(ids({ authors: [ALICE] }).sort()).toEqual([request.id, later.id].sort());
    expect(ids({ authors: [BOB] })).toEqual([other.id]);
    const db = new Database(path(), { readonly: true });
    expect(db.prepare("SELECT count(*) AS n FROM tags WHERE name IN ('t', 'd', 'e')").get()).toEqual({ n: 0 });
    expect(db.prepare("SELECT count(*) AS n FROM events_fts WHERE events_fts MATCH 'purple'").get()).toEqual({ n: 0 });
    expect(db.prepare('SELECT until_created_at AS until FROM vanished WHERE pubkey = ?').get(Buffer.from(ALICE, 'hex'))).toEqual({
      until: 2000,
    });
    db.close();
  });

  it('deletes gift wraps p-tagging the author up to its created_at, whoever wrapped them', () => {
    const wrap = ev({ pubkey: BOB, kind: 1059, tags: [['p', ALICE]], created_at: 1500 });
    const newerWrap = ev({ pubkey: BOB, kind: 1059, tags: [['p', ALICE]], created_at: 2500 });
    const toOther = ev({ pubkey: BOB, kind: 1059, tags: [['p', BOB]], created_at: 1500 });
    const mention = ev({ pubkey: BOB, kind: 1, tags: [['p', ALICE]], created_at: 1500 });
    write(wrap, newerWrap, toOther, mention);
    write(vanish(2000));
    expect(ids({ authors: [BOB] }).sort()).toEqual([newerWrap.id, toOther.id, mention.id].sort());
  });

  it('refuses re-publishing what it covers (author’s events, gift wraps to them, earlier 62s); accepts later events', () => {
    const note = ev();
    const wrap = ev({ pubkey: BOB, kind: 1059, tags: [['p', ALICE]], created_at: 1500 });
    const request = vanish(2000);
    write(note, wrap, request);
    expect(write(note, wrap)).toEqual(['vanished', 'vanished']);
    expect(write(ev({ created_at: 2000 }), ev({ kind: 62, created_at: 1900, tags: [['relay', 'ALL_RELAYS']] }))).toEqual([
      'vanished',
      'vanished',
    ]);
    expect(
      write(
        ev({
          pubkey: BOB,
          kind: 1059,
          tags: [
            ['p', hex(32)],
            ['p', ALICE],
          ],
          created_at: 10,
        }),
      ),
    ).toEqual(['vanished']);
    expect(write(request)).toEqual(['duplicate']);
    expect(write(ev({ created_at: 2001 }), ev({ pubkey: BOB, kind: 1059, tags: [['p', ALICE]], created_at: 2001 }))).toEqual([
      'stored',
      'stored',
    ]);
    // Bob's own events are not covered by Alice's request.
    expect(write(ev({ pubkey: BOB, created_at: 1000 }))).toEqual(['stored']);
  });

  it('is remembered across reopening; a later request raises the bound, an earlier one never lowers it', () => {
    write(vanish(2000));
    store.close();
    store = EventStore.open(path(), { synchronous: 'normal' });
    expect(write(ev({ created_at: 1999 }))).toEqual(['vanished']);
    const later = vanish(3000);
    expect(write(ev({ created_at: 2500 }), later)).toEqual(['stored', 'stored']);
    expect(ids({ authors: [ALICE] })).toEqual([later.id]);
    expect(write(ev({ created_at: 2999 }))).toEqual(['vanished']);
  });

  it('applies inside one batch in order: events before it in the batch are deleted, the same events after it refused', () => {
    const note = ev();
    const request = vanish(2000);
    expect(write(note, request, ev({ id: hex(32), created_at: 1000 }))).toEqual(['stored', 'stored', 'vanished']);
    expect(ids({ authors: [ALICE] })).toEqual([request.id]);
  });
});

describe('a kind 62 not naming this relay', () => {
  it('is stored and deletes nothing, remembers nothing', () => {
    const note = ev();
    const request = vanish(2000);
    expect(writeWith(false, note, request)).toEqual(['stored', 'stored']);
    expect(ids({ authors: [ALICE] }).sort()).toEqual([note.id, request.id].sort());
    expect(write(ev({ created_at: 1500 }))).toEqual(['stored']);
  });

  it('a vanish flag on another kind is ignored', () => {
    const note = ev();
    write(note);
    expect(store.writeBatch([{ event: ev({ created_at: 3000 }), json: '{}', vanish: true }]).map((o) => o.status)).toEqual(['stored']);
    expect(store.has(note.id)).toBe(true);
  });
});

describe('NIP-09 and the kind 62', () => {
  it('a kind 5 targeting the kind 62 has no effect, before or after it', () => {
    const request = vanish(2000);
    const after = ev({ kind: 5, tags: [['e', request.id]], created_at: 2100 });
    write(request, after);
    expect(ids({ ids: [request.id] })).toEqual([request.id]);

    const other = vanish(4000, BOB);
    const before = ev({ pubkey: BOB, kind: 5, tags: [['e', other.id]], created_at: 3000 });
    expect(write(before, other)).toEqual(['stored', 'stored']);
    expect(ids({ ids: [other.id] })).toEqual([other.id]);
  });
});

describe('migration 4', () => {
  it('creates the vanished table', () => {
    const db = new Database(path(), { readonly: true });
    expect(db.prepare("SELECT name FROM sqlite_schema WHERE name = 'vanished'").pluck().get()).toBe('vanished');
    db.close();
  });
});
