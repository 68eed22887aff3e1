import type Database from 'better-sqlite3';
import { dTagOf, kindClass } from '../event/kinds.js';
import type { NostrEvent } from '../event/types.js';
import type { EventToWrite, WriteOutcome } from './types.js';

const STORED: WriteOutcome = Object.freeze({ status: 'stored' });
const DUPLICATE: WriteOutcome = Object.freeze({ status: 'duplicate' });
const OLDER: WriteOutcome = Object.freeze({ status: 'older' });

const TAG_NAME = /^[a-zA-Z]$/;

interface StoredVersion {
  seq: number;
  created_at: number;
  id: Buffer;
}

/**
 * The one write path. Returns a function writing a batch in ONE transaction, outcomes in order;
 * items are applied one after the other, so duplicates and replacements inside a batch behave as if
 * sent separately.
 */
export function createWriter(db: Database.Database): (items: readonly EventToWrite[]) => WriteOutcome[] {
  const hasId = db.prepare<[Buffer], number>('SELECT 1 FROM events WHERE id = ?').pluck();
  const findAddress = db.prepare<[Buffer, number, string], StoredVersion>(
    'SELECT seq, created_at, id FROM events WHERE pubkey = ? AND kind = ? AND d_tag = ?',
  );
  const insertEvent = db.prepare<[Buffer, Buffer, number, number, string | null, string]>(
    'INSERT INTO events (id, pubkey, kind, created_at, expires_at, d_tag, json) VALUES (?, ?, ?, ?, NULL, ?, ?)',
  );
  const insertTag = db.prepare<[number | bigint, string, string, number, number]>(
    'INSERT OR IGNORE INTO tags (event_rowid, name, value, kind, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  const deleteEvent = db.prepare<[number]>('DELETE FROM events WHERE seq = ?');
  const deleteTags = db.prepare<[number]>('DELETE FROM tags WHERE event_rowid = ?');

  const insert = (event: NostrEvent, id: Buffer, pubkey: Buffer, dTag: string | null, json: string): void => {
    const seq = insertEvent.run(id, pubkey, event.kind, event.created_at, dTag, json).lastInsertRowid;
    for (const tag of event.tags) {
      const name = tag[0];
      const value = tag[1];
      if (value !== undefined && name !== undefined && TAG_NAME.test(name)) {
        insertTag.run(seq, name, value, event.kind, event.created_at);
      }
    }
  };

  const writeOne = ({ event, json }: EventToWrite): WriteOutcome => {
    const id = Buffer.from(event.id, 'hex');
    if (hasId.get(id) !== undefined) return DUPLICATE;
    const pubkey = Buffer.from(event.pubkey, 'hex');
    const dTag = addressOf(event);
    if (dTag === null) {
      insert(event, id, pubkey, null, json);
      return STORED;
    }
    const stored = findAddress.get(pubkey, event.kind, dTag);
    if (stored !== undefined) {
      // Newer wins; on equal created_at the lowest id wins (bytes compare like lowercase hex).
      const storedWins =
        stored.created_at > event.created_at ||
        (stored.created_at === event.created_at && Buffer.compare(stored.id, id) < 0);
      if (storedWins) return OLDER;
      deleteTags.run(stored.seq);
      deleteEvent.run(stored.seq);
    }
    insert(event, id, pubkey, dTag, json);
    return STORED;
  };

  const writeAll = db.transaction((items: readonly EventToWrite[]) => items.map(writeOne));

  return (items) => {
    for (const { event } of items) {
      if (kindClass(event.kind) === 'ephemeral') {
        throw new Error(`ephemeral event ${event.id} (kind ${event.kind}) passed to the store`);
      }
    }
    // IMMEDIATE: take the write lock up front (no SQLITE_BUSY on a read→write upgrade).
    return items.length === 0 ? [] : writeAll.immediate(items);
  };
}

/** d_tag column value: '' for replaceable, first d value for addressable, null for regular kinds. */
function addressOf(event: NostrEvent): string | null {
  switch (kindClass(event.kind)) {
    case 'replaceable':
      return '';
    case 'addressable':
      return dTagOf(event.tags);
    default:
      return null;
  }
}
