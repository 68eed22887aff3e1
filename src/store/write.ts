import type Database from 'better-sqlite3';
import { dTagOf, kindClass } from '../event/kinds.js';
import type { NostrEvent } from '../event/types.js';
import { DELETION_KIND, GIFT_WRAP_KIND, deletionTargets, mayDelete } from '../nips/nip09.js';
import { expirationOf } from '../nips/nip40.js';
import { VANISH_KIND, vanishSubjects } from '../nips/nip62.js';
import { RECORD_APPLIED_SQL } from './migrations.js';
import type { ClusterWrite, CommittedWrite, EventToWrite, WriteOutcome } from './types.js';

const STORED: WriteOutcome = Object.freeze({ status: 'stored' });
const DUPLICATE: WriteOutcome = Object.freeze({ status: 'duplicate' });
const OLDER: WriteOutcome = Object.freeze({ status: 'older' });
const DELETED: WriteOutcome = Object.freeze({ status: 'deleted' });
const VANISHED: WriteOutcome = Object.freeze({ status: 'vanished' });

const TAG_NAME = /^[a-zA-Z]$/;

interface StoredVersion {
  seq: number;
  created_at: number;
  id: Buffer;
}

interface Target {
  seq: number;
  pubkey: Buffer;
  kind: number;
  json: string;
}

/**
 * The one write path. Returns a function writing a batch in ONE transaction, outcomes in order;
 * items are applied one after the other, so duplicates and replacements inside a batch behave as if
 * sent separately.
 *
 * NIP-40: the first valid `expiration` tag is kept in `expires_at`. NIP-09: a stored kind 5 deletes
 * the targets its author may delete and is remembered (tables `deleted`, `deleted_addresses`), so a
 * deleted event — or an addressable version no newer than an `a` deletion — is refused ('deleted')
 * whenever it comes, before or after the deletion. The kind 5 itself stays stored.
 *
 * NIP-62: a kind 62 marked `vanish` (it names this relay) deletes every event of its author with
 * created_at ≤ its own, and gift wraps (1059) p-tagging the author up to that bound, then is stored; the
 * bound is remembered (table `vanished`) so those events are refused ('vanished') from then on. A kind
 * 62 is never deleted by a kind 5, nor refused as deleted.
 */
export function createWriter(db: Database.Database): (items: readonly EventToWrite[], cluster?: ClusterWrite) => CommittedWrite {
  const hasId = db.prepare<[Buffer], number>('SELECT 1 FROM events WHERE id = ?').pluck();
  const findAddress = db.prepare<[Buffer, number, string], StoredVersion>(
    'SELECT seq, created_at, id FROM events WHERE pubkey = ? AND kind = ? AND d_tag = ?',
  );
  const insertEvent = db.prepare<[Buffer, Buffer, number, number, number | null, string | null, string]>(
    'INSERT INTO events (id, pubkey, kind, created_at, expires_at, d_tag, json) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const insertTag = db.prepare<[number | bigint, string, string, number, number]>(
    'INSERT OR IGNORE INTO tags (event_rowid, name, value, kind, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  // NIP-50: the trigger events_fts_delete (migration 3) removes the index row with the event row.
  const insertText = db.prepare<[number | bigint, string]>('INSERT INTO events_fts (rowid, content) VALUES (?, ?)');
  const deleteEvent = db.prepare<[number]>('DELETE FROM events WHERE seq = ?');
  const deleteTags = db.prepare<[number]>('DELETE FROM tags WHERE event_rowid = ?');
  // NIP-09
  const findTarget = db.prepare<[Buffer], Target>('SELECT seq, pubkey, kind, json FROM events WHERE id = ?');
  const deleters = db.prepare<[Buffer], Buffer>('SELECT pubkey FROM deleted WHERE id = ?').pluck();
  const rememberId = db.prepare<[Buffer, Buffer]>('INSERT OR IGNORE INTO deleted (id, pubkey) VALUES (?, ?)');
  const deletedUntil = db
    .prepare<[Buffer, number, string], number>('SELECT until_created_at FROM deleted_addresses WHERE pubkey = ? AND kind = ? AND d_tag = ?')
    .pluck();
  const rememberAddress = db.prepare<[Buffer, number, string, number]>(
    `INSERT INTO deleted_addresses (pubkey, kind, d_tag, until_created_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (pubkey, kind, d_tag) DO UPDATE SET until_created_at = max(until_created_at, excluded.until_created_at)`,
  );

  // NIP-62: by (pubkey, created_at) and, for gift wraps, the tags index on (name, value, created_at, kind).
  const vanishedUntil = db.prepare<[Buffer], number>('SELECT until_created_at FROM vanished WHERE pubkey = ?').pluck();
  const rememberVanish = db.prepare<[Buffer, number]>(
    `INSERT INTO vanished (pubkey, until_created_at) VALUES (?, ?)
     ON CONFLICT (pubkey) DO UPDATE SET until_created_at = max(until_created_at, excluded.until_created_at)`,
  );
  const vanishTags = db.prepare<[Buffer, number]>(
    'DELETE FROM tags WHERE event_rowid IN (SELECT seq FROM events INDEXED BY events_pubkey_created WHERE pubkey = ? AND created_at <= ?)',
  );
  const vanishEvents = db.prepare<[Buffer, number]>(
    'DELETE FROM events INDEXED BY events_pubkey_created WHERE pubkey = ? AND created_at <= ?',
  );
  const wrapsTo = db
    .prepare<[string, number, number], number>(
      "SELECT event_rowid FROM tags INDEXED BY tags_value_created_kind WHERE name = 'p' AND value = ? AND kind = ? AND created_at <= ?",
    )
    .pluck();

  const remove = (seq: number): void => {
    deleteTags.run(seq);
    deleteEvent.run(seq);
  };

  /** Deleted earlier by someone allowed to delete it (the deletion may have arrived first)? */
  const wasDeleted = (event: NostrEvent, id: Buffer, pubkey: Buffer, dTag: string | null): boolean => {
    // A deletion of a deletion has no effect; a request to vanish cannot be deleted either.
    if (event.kind === DELETION_KIND || event.kind === VANISH_KIND) return false;
    for (const deleter of deleters.all(id)) {
      if (deleter.equals(pubkey) || mayDelete(event, deleter.toString('hex'))) return true;
    }
    if (dTag === null) return false;
    const until = deletedUntil.get(pubkey, event.kind, dTag);
    return until !== undefined && event.created_at <= until;
  };

  /** A stored kind 5's effects: delete what its author may delete, remember the rest. */
  const applyDeletion = (deletion: NostrEvent, deleter: Buffer): void => {
    const { ids, addresses } = deletionTargets(deletion);
    for (const hex of ids) {
      const id = Buffer.from(hex, 'hex');
      rememberId.run(id, deleter);
      const target = findTarget.get(id);
      if (target === undefined || target.kind === DELETION_KIND || target.kind === VANISH_KIND) continue;
      const allowed =
        target.pubkey.equals(deleter) ||
        (target.kind === GIFT_WRAP_KIND && mayDelete(JSON.parse(target.json) as NostrEvent, deletion.pubkey));
      if (allowed) remove(target.seq);
    }
    for (const { kind, d } of addresses) {
      rememberAddress.run(deleter, kind, d, deletion.created_at);
      const stored = findAddress.get(deleter, kind, d);
      if (stored !== undefined && stored.created_at <= deletion.created_at) remove(stored.seq);
    }
  };

  /** Did the author, or (gift wrap) a recipient, vanish at or after this event's created_at? */
  const wasVanished = (event: NostrEvent): boolean => {
    for (const hex of vanishSubjects(event)) {
      const until = vanishedUntil.get(Buffer.from(hex, 'hex'));
      if (until !== undefined && event.created_at <= until) return true;
    }
    return false;
  };

  /** A kind 62 naming this relay: everything it covers deleted, the bound remembered (before the 62 is stored). */
  const applyVanish = (request: NostrEvent, pubkey: Buffer): void => {
    vanishTags.run(pubkey, request.created_at);
    vanishEvents.run(pubkey, request.created_at);
    for (const seq of wrapsTo.all(request.pubkey, GIFT_WRAP_KIND, request.created_at)) remove(seq);
    rememberVanish.run(pubkey, request.created_at);
  };

  const insert = (event: NostrEvent, id: Buffer, pubkey: Buffer, dTag: string | null, json: string, keepUntil?: number): void => {
    const expiration = expirationOf(event.tags);
    const expiresAt = keepUntil === undefined ? (expiration ?? null) : Math.min(keepUntil, expiration ?? keepUntil);
    const seq = insertEvent.run(id, pubkey, event.kind, event.created_at, expiresAt, dTag, json).lastInsertRowid;
    insertText.run(seq, event.content);
    for (const tag of event.tags) {
      const name = tag[0];
      const value = tag[1];
      if (value !== undefined && name !== undefined && TAG_NAME.test(name)) {
        insertTag.run(seq, name, value, event.kind, event.created_at);
      }
    }
  };

  const writeOne = ({ event, json, expiresAt, vanish }: EventToWrite): WriteOutcome => {
    const id = Buffer.from(event.id, 'hex');
    if (hasId.get(id) !== undefined) return DUPLICATE;
    if (wasVanished(event)) return VANISHED;
    const pubkey = Buffer.from(event.pubkey, 'hex');
    const dTag = addressOf(event);
    if (wasDeleted(event, id, pubkey, dTag)) return DELETED;
    if (dTag === null) {
      if (vanish === true && event.kind === VANISH_KIND) applyVanish(event, pubkey);
      insert(event, id, pubkey, null, json, expiresAt);
      if (event.kind === DELETION_KIND) applyDeletion(event, pubkey);
      return STORED;
    }
    const stored = findAddress.get(pubkey, event.kind, dTag);
    if (stored !== undefined) {
      // Newer wins; on equal created_at the lowest id wins (bytes compare like lowercase hex).
      const storedWins =
        stored.created_at > event.created_at || (stored.created_at === event.created_at && Buffer.compare(stored.id, id) < 0);
      if (storedWins) return OLDER;
      remove(stored.seq);
    }
    insert(event, id, pubkey, dTag, json, expiresAt);
    return STORED;
  };

  const nextCommitSeq = db.prepare<[], number>('UPDATE commit_seq SET seq = seq + 1 RETURNING seq').pluck();
  const toOutbox = db.prepare<[string, number | null, number]>('INSERT INTO cluster_outbox (json, expires_at, vanish) VALUES (?, ?, ?)');
  const recordApplied = db.prepare<[string, number]>(RECORD_APPLIED_SQL);
  const writeAll = db.transaction((items: readonly EventToWrite[], cluster: ClusterWrite | undefined): CommittedWrite => {
    const outcomes = items.map(writeOne);
    if (cluster?.applied !== undefined) recordApplied.run(cluster.applied.stream, cluster.applied.seq);
    else if (cluster?.outbox === true) {
      items.forEach(({ json, expiresAt, vanish }, i) => {
        if (outcomes[i] === STORED) toOutbox.run(json, expiresAt ?? null, vanish === true ? 1 : 0);
      });
    }
    return { outcomes, commitSeq: items.length === 0 ? 0 : nextCommitSeq.get()! };
  });

  return (items, cluster) => {
    for (const { event, expiresAt } of items) {
      // Ephemeral events are stored only when the caller says for how long (retention `keep`).
      if (kindClass(event.kind) === 'ephemeral' && expiresAt === undefined) {
        throw new Error(`ephemeral event ${event.id} (kind ${event.kind}) passed to the store without expiresAt`);
      }
    }
    // IMMEDIATE: take the write lock up front (no SQLITE_BUSY on a read→write upgrade).
    if (items.length === 0 && cluster?.applied === undefined) return { outcomes: [], commitSeq: 0 };
    return writeAll.immediate(items, cluster);
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
