/** Migration 6: the two tag indexes become one (name, value, created_at, kind); tag rows written before it are still found. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from '../../src/store/sqlite.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { serialize } from '../../src/event/validate.js';
import { compileFilter } from '../../src/filter/compile.js';
import { migrations } from '../../src/store/migrations.js';
import { EventStore } from '../../src/store/index.js';

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const PK = hex(32);
const MENTIONED = hex(32);
const ev = (kind: number, created_at: number): NostrEvent => ({
  id: hex(32),
  pubkey: PK,
  created_at,
  kind,
  tags: [
    ['p', MENTIONED],
    ['t', 'old'],
  ],
  content: `${kind}`,
  sig: hex(64),
});

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'commons-m6-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('migration 6', () => {
  it('a version 5 file keeps answering tag filters, with and without kinds, from the one new index', () => {
    const path = join(dir, 'relay.sqlite');
    const db = new Database(path);
    for (const migration of migrations.slice(0, 5)) migration(db);
    db.pragma('user_version = 5');
    const events = [ev(1, 1000), ev(7, 1001), ev(1, 1002), ev(3, 1003)];
    // Written as the version 5 write path did (today's writer names the version 6 index).
    const insertEvent = db.prepare('INSERT INTO events (id, pubkey, kind, created_at, d_tag, json) VALUES (?, ?, ?, ?, ?, ?)');
    const insertTag = db.prepare('INSERT INTO tags (event_rowid, name, value, kind, created_at) VALUES (?, ?, ?, ?, ?)');
    for (const event of events) {
      const seq = insertEvent.run(
        Buffer.from(event.id, 'hex'),
        Buffer.from(event.pubkey, 'hex'),
        event.kind,
        event.created_at,
        event.kind === 3 ? '' : null,
        serialize(event),
      ).lastInsertRowid;
      for (const [name, value] of event.tags) insertTag.run(seq, name, value, event.kind, event.created_at);
    }
    db.close();

    const store = EventStore.open(path, { synchronous: 'normal' });
    try {
      const indexes = new Database(path, { readonly: true });
      const names = indexes.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tags'").pluck().all();
      indexes.close();
      expect(names.filter((name) => !String(name).startsWith('sqlite_autoindex'))).toEqual(['tags_value_created_kind']);

      const ids = (input: Record<string, unknown>): string[] =>
        store
          .query([compileFilter(input, { max_filter_values: 100, max_limit: 100, default_limit: 100 }) as never], 2000)
          .map((json) => (JSON.parse(json) as NostrEvent).id);
      const [first, reaction, second, contacts] = events.map((event) => event.id);
      expect(ids({ '#p': [MENTIONED] })).toEqual([contacts, second, reaction, first]);
      expect(ids({ '#p': [MENTIONED], kinds: [1] })).toEqual([second, first]);
      expect(ids({ '#p': [MENTIONED], kinds: [1, 7], limit: 2 })).toEqual([second, reaction]);
      expect(ids({ '#t': ['old'], kinds: [3] })).toEqual([contacts]);
      expect(ids({ '#p': [MENTIONED, hex(32)], kinds: [7] })).toEqual([reaction]);
    } finally {
      store.close();
    }
  });
});
