/** NIP-09 effects of the one write path (src/store/write.ts): deletions applied and remembered. */
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
const deletion = (pubkey: string, tags: string[][], created_at = 2000): NostrEvent => ev({ pubkey, kind: 5, tags, created_at });

function f(input: Record<string, unknown>): CompiledFilter {
  const compiled = compileFilter(input, { max_filter_values: 1000, max_limit: 5000, default_limit: 500 });
  if ('prefix' in compiled) throw new Error(`bad test filter: ${compiled.text}`);
  return compiled;
}

let dir: string;
let store: EventStore;
const path = (): string => join(dir, 'relay.sqlite');
const write = (...events: NostrEvent[]): string[] =>
  store.writeBatch(events.map((event) => ({ event, json: serialize(event) }))).map((o) => o.status);
const ids = (filter: Record<string, unknown> = {}): string[] => store.query([f(filter)]).map((json) => (JSON.parse(json) as NostrEvent).id);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'commons-nip09-'));
  store = EventStore.open(path(), { synchronous: 'normal' });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('e targets', () => {
  it('deletes the author’s event and its tag rows; the kind 5 stays stored', () => {
    const note = ev({ tags: [['t', 'x']] });
    const del = deletion(ALICE, [['e', note.id]]);
    expect(write(note, del)).toEqual(['stored', 'stored']);
    expect(store.has(note.id)).toBe(false);
    expect(ids({ '#t': ['x'] })).toEqual([]);
    expect(ids()).toEqual([del.id]);
    const db = new Database(path(), { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM tags WHERE name = ?').get('t')).toEqual({ n: 0 });
    db.close();
  });

  it('another pubkey’s deletion deletes nothing but is stored', () => {
    const note = ev();
    const del = deletion(BOB, [['e', note.id]]);
    expect(write(note, del)).toEqual(['stored', 'stored']);
    expect(store.has(note.id)).toBe(true);
    expect(store.has(del.id)).toBe(true);
  });

  it('several targets and duplicate e tags', () => {
    const [a, b, c] = [ev(), ev(), ev()];
    write(a, b, c);
    expect(
      write(
        deletion(ALICE, [
          ['e', a.id],
          ['e', a.id],
          ['e', b.id],
        ]),
      ),
    ).toEqual(['stored']);
    expect([store.has(a.id), store.has(b.id), store.has(c.id)]).toEqual([false, false, true]);
  });

  it('a deleted event can never be stored again', () => {
    const note = ev();
    write(note, deletion(ALICE, [['e', note.id]]));
    expect(write(note)).toEqual(['deleted']);
    expect(store.has(note.id)).toBe(false);
  });

  it('deletion before its target: the target is refused (also inside one batch)', () => {
    const note = ev();
    expect(write(deletion(ALICE, [['e', note.id]]))).toEqual(['stored']);
    expect(write(note)).toEqual(['deleted']);
    const other = ev();
    expect(write(deletion(ALICE, [['e', other.id]]), other)).toEqual(['stored', 'deleted']);
  });

  it('deletion by another pubkey arriving first blocks nothing', () => {
    const note = ev();
    write(deletion(BOB, [['e', note.id]]));
    expect(write(note)).toEqual(['stored']);
  });

  it('the remembered deletion survives a reopen', () => {
    const note = ev();
    write(note, deletion(ALICE, [['e', note.id]]));
    store.close();
    store = EventStore.open(path(), { synchronous: 'normal' });
    expect(write(note)).toEqual(['deleted']);
  });

  it('a deletion of a deletion has no effect on either', () => {
    const note = ev();
    const first = deletion(ALICE, [['e', note.id]]);
    write(note, first);
    const second = deletion(ALICE, [['e', first.id]], 3000);
    expect(write(second)).toEqual(['stored']);
    expect(store.has(first.id)).toBe(true);
    expect(write(note)).toEqual(['deleted']);
  });

  it('a kind 5 named by an earlier deletion is still accepted', () => {
    const later = deletion(ALICE, [], 3000);
    write(deletion(ALICE, [['e', later.id]]));
    expect(write(later)).toEqual(['stored']);
  });

  it('an e target that is a replaceable version is deleted by id', () => {
    const profile = ev({ kind: 0 });
    write(profile, deletion(ALICE, [['e', profile.id]]));
    expect(ids({ kinds: [0] })).toEqual([]);
  });
});

describe('gift wraps (1059)', () => {
  it('deletable by the p-tagged recipient, not by a third party', () => {
    const carol = hex(32);
    const wrap = ev({ pubkey: hex(32), kind: 1059, tags: [['p', BOB]] });
    write(wrap);
    write(deletion(carol, [['e', wrap.id]]));
    expect(store.has(wrap.id)).toBe(true);
    write(deletion(BOB, [['e', wrap.id]]));
    expect(store.has(wrap.id)).toBe(false);
    expect(write(wrap)).toEqual(['deleted']);
  });

  it('the recipient’s deletion arriving first blocks the wrap', () => {
    const wrap = ev({ pubkey: hex(32), kind: 1059, tags: [['p', BOB]] });
    write(deletion(BOB, [['e', wrap.id]]));
    expect(write(wrap)).toEqual(['deleted']);
  });

  it('a p tag on another kind gives no right to delete', () => {
    const note = ev({ tags: [['p', BOB]] });
    write(note, deletion(BOB, [['e', note.id]]));
    expect(store.has(note.id)).toBe(true);
  });
});

describe('a targets', () => {
  const article = (created_at: number, d = 'post', pubkey = ALICE): NostrEvent => ev({ kind: 30023, pubkey, created_at, tags: [['d', d]] });

  it('deletes versions up to the deletion’s created_at, not a newer one', () => {
    const old = article(1000);
    write(old);
    write(deletion(ALICE, [['a', `30023:${ALICE}:post`]], 2000));
    expect(ids({ kinds: [30023] })).toEqual([]);
    const older = article(1500);
    expect(write(older)).toEqual(['deleted']);
    expect(write(article(2000))).toEqual(['deleted']);
    const newer = article(2500);
    expect(write(newer)).toEqual(['stored']);
    expect(ids({ kinds: [30023] })).toEqual([newer.id]);
  });

  it('a stored version newer than the deletion survives it', () => {
    const newer = article(3000);
    write(newer);
    write(deletion(ALICE, [['a', `30023:${ALICE}:post`]], 2000));
    expect(ids({ kinds: [30023] })).toEqual([newer.id]);
  });

  it('leaves other d, other kind and other author alone', () => {
    const otherD = article(1000, 'other');
    const otherKind = ev({ kind: 30024, created_at: 1000, tags: [['d', 'post']] });
    const otherAuthor = article(1000, 'post', BOB);
    write(article(1000), otherD, otherKind, otherAuthor);
    write(deletion(ALICE, [['a', `30023:${ALICE}:post`]]));
    expect(ids({ kinds: [30023, 30024] }).sort()).toEqual([otherD.id, otherKind.id, otherAuthor.id].sort());
  });

  it('an a tag naming another author deletes nothing and blocks nothing', () => {
    const bobs = article(1000, 'post', BOB);
    write(bobs, deletion(ALICE, [['a', `30023:${BOB}:post`]]));
    expect(store.has(bobs.id)).toBe(true);
    expect(write(article(1100, 'post', BOB))).toEqual(['stored']);
  });

  it('replaceable kinds: trailing colon', () => {
    const list = ev({ kind: 10001, created_at: 1000 });
    write(list, deletion(ALICE, [['a', `10001:${ALICE}:`]]));
    expect(ids({ kinds: [10001] })).toEqual([]);
    expect(write(ev({ kind: 10001, created_at: 1999 }))).toEqual(['deleted']);
    expect(write(ev({ kind: 10001, created_at: 2001 }))).toEqual(['stored']);
  });

  it('a later a deletion raises the bound; an earlier one does not lower it', () => {
    write(deletion(ALICE, [['a', `30023:${ALICE}:post`]], 3000));
    write(deletion(ALICE, [['a', `30023:${ALICE}:post`]], 2000));
    expect(write(article(2500))).toEqual(['deleted']);
    expect(write(article(3001))).toEqual(['stored']);
  });
});
