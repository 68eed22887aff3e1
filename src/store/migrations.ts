import type Database from 'better-sqlite3';

/**
 * Schema migrations, numbered by position: migration i brings `PRAGMA user_version` from i to i+1.
 * Append only; never edit a migration that has shipped.
 */
export const migrations: ReadonlyArray<(db: Database.Database) => void> = [
  // 1: events, tags and their indexes.
  (db) =>
    db.exec(`
      CREATE TABLE events (
        seq        INTEGER PRIMARY KEY,  -- stable rowid alias (VACUUM keeps it); tags point here
        id         BLOB    NOT NULL,     -- 32 bytes
        pubkey     BLOB    NOT NULL,     -- 32 bytes
        kind       INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,              -- NIP-40, NULL = never
        d_tag      TEXT,                 -- replaceable: '', addressable: first d value, regular: NULL
        json       TEXT    NOT NULL      -- last, so reading the columns above skips overflow pages
      );
      CREATE UNIQUE INDEX events_id ON events (id);
      CREATE INDEX events_created ON events (created_at);
      CREATE INDEX events_kind_created ON events (kind, created_at);
      CREATE INDEX events_pubkey_created ON events (pubkey, created_at);
      CREATE INDEX events_pubkey_kind_created ON events (pubkey, kind, created_at);
      CREATE INDEX events_expires ON events (expires_at) WHERE expires_at IS NOT NULL;
      CREATE UNIQUE INDEX events_address ON events (pubkey, kind, d_tag) WHERE d_tag IS NOT NULL;

      -- One row per distinct (event, single-letter name, first value). WITHOUT ROWID: the primary
      -- key answers "tags of this event" (deletes, extra tag conditions) and every secondary index
      -- carries event_rowid, so tag queries are answered from the index alone.
      CREATE TABLE tags (
        event_rowid INTEGER NOT NULL,
        name        TEXT    NOT NULL,
        value       TEXT    NOT NULL,
        kind        INTEGER NOT NULL,
        created_at  INTEGER NOT NULL,
        PRIMARY KEY (event_rowid, name, value)
      ) WITHOUT ROWID;
      CREATE INDEX tags_value_created ON tags (name, value, created_at);
      CREATE INDEX tags_value_kind_created ON tags (name, value, kind, created_at);
    `),

  // 2: NIP-09 deletions remembered, so a deleted event can never be published again (also when the
  // deletion arrives before its target). `deleted` holds (target id, deleter): the target is refused
  // when the deleter may delete it (its author, or a p-tagged recipient of a gift wrap). Another
  // author's deletion naming your id therefore blocks nothing. `deleted_addresses` holds, per
  // address of the deleter, the newest created_at an `a` deletion covered.
  (db) =>
    db.exec(`
      CREATE TABLE deleted (
        id     BLOB NOT NULL,  -- 32 bytes: the target
        pubkey BLOB NOT NULL,  -- 32 bytes: the deletion's author
        PRIMARY KEY (id, pubkey)
      ) WITHOUT ROWID;
      CREATE TABLE deleted_addresses (
        pubkey           BLOB    NOT NULL,
        kind             INTEGER NOT NULL,
        d_tag            TEXT    NOT NULL,  -- '' for replaceable kinds
        until_created_at INTEGER NOT NULL,  -- versions with created_at <= this are deleted
        PRIMARY KEY (pubkey, kind, d_tag)
      ) WITHOUT ROWID;
    `),

  // 3: NIP-50 full-text index over event content. Contentless (the text already lives in events.json)
  // with contentless_delete, keyed by events.seq; unicode61 folds case and removes diacritics, no
  // stemming. Rows are added by the write path (src/store/write.ts); the trigger removes them on every
  // delete of an event row — replacement, NIP-09, expiry, retention, anything — so no delete path can
  // leave the index out of step. Existing rows are indexed here.
  (db) =>
    db.exec(`
      CREATE VIRTUAL TABLE events_fts USING fts5(
        content, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2'
      );
      CREATE TRIGGER events_fts_delete AFTER DELETE ON events BEGIN
        DELETE FROM events_fts WHERE rowid = old.seq;
      END;
      INSERT INTO events_fts (rowid, content) SELECT seq, json ->> '$.content' FROM events;
    `),

  // 4: NIP-62 requests to vanish remembered, per pubkey: the newest created_at a request naming this
  // relay covered. Events of that pubkey (and gift wraps p-tagging it) with created_at <= the bound are
  // refused from then on; later ones are accepted.
  (db) =>
    db.exec(`
      CREATE TABLE vanished (
        pubkey           BLOB    PRIMARY KEY,  -- 32 bytes
        until_created_at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `),

  // 5: NIP-86 management state (src/store/management.ts): lists edited by admins over the management API
  // (keys are hex pubkeys, hex event ids, normalised IP addresses), the kind allow list, and overrides of
  // the NIP-11 name / description / icon.
  (db) =>
    db.exec(`
      CREATE TABLE banned_pubkeys  (key TEXT PRIMARY KEY, reason TEXT NOT NULL DEFAULT '', added_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE allowed_pubkeys (key TEXT PRIMARY KEY, reason TEXT NOT NULL DEFAULT '', added_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE banned_events   (key TEXT PRIMARY KEY, reason TEXT NOT NULL DEFAULT '', added_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE blocked_ips     (key TEXT PRIMARY KEY, reason TEXT NOT NULL DEFAULT '', added_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE allowed_kinds   (kind INTEGER PRIMARY KEY);
      CREATE TABLE info_overrides  (field TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    `),

  // 6: one tag index instead of two. (name, value, created_at) answered tag filters without kinds and
  // (name, value, kind, created_at) those with kinds; every tag row paid a random-page insert into both,
  // the largest part of the write path's cost (bench/README.md "Write path"). (name, value, created_at,
  // kind) answers both: walked newest first per value, the kind checked in the index entry itself.
  (db) =>
    db.exec(`
      DROP INDEX tags_value_created;
      DROP INDEX tags_value_kind_created;
      CREATE INDEX tags_value_created_kind ON tags (name, value, created_at, kind);
    `),

  // 7: the commit sequence: the live write path adds one per batch, in the batch's transaction, so a
  // reader that reads it in the same transaction as its query knows which batches its answer saw
  // (src/fanout/: a live event is sent to a subscription only if its batch came after the answer).
  // events.seq cannot serve: without AUTOINCREMENT, deleting the newest row frees its seq for reuse.
  (db) =>
    db.exec(`
      CREATE TABLE commit_seq (one INTEGER PRIMARY KEY CHECK (one = 1), seq INTEGER NOT NULL);
      INSERT INTO commit_seq (one, seq) VALUES (1, 0);
    `),

  // 8: cluster mode (src/cluster/). `cluster_outbox`: events this node stored and NIP-86 changes it made,
  // each appended in the transaction that made it, until the stream has acknowledged them (so an OK true
  // is published even after a crash or while NATS is down); AUTOINCREMENT so a published, deleted id is
  // never given again. A row holds an event (json) or a change (change, JSON of a ManagementChange).
  // `cluster_applied`: per stream, the sequence of the last message applied here, written with what it brought.
  (db) =>
    db.exec(`
      CREATE TABLE cluster_outbox (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        json       TEXT,
        expires_at INTEGER,
        vanish     INTEGER NOT NULL DEFAULT 0,
        change     TEXT,
        CHECK ((json IS NULL) <> (change IS NULL))
      );
      CREATE TABLE cluster_applied (stream TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
    `),
];

export const SCHEMA_VERSION = migrations.length;

/** Moves the stream position applied to a database (table cluster_applied) forward, never back, in the caller's transaction. */
export const RECORD_APPLIED_SQL =
  'INSERT INTO cluster_applied (stream, seq) VALUES (?, ?) ON CONFLICT (stream) DO UPDATE SET seq = max(seq, excluded.seq)';

/**
 * Brings the database to SCHEMA_VERSION; a no-op when it is already there. Each step runs in its own
 * IMMEDIATE transaction and re-reads the version inside it, so two processes opening the same new
 * file cannot both apply a step.
 */
export function migrate(db: Database.Database): void {
  const step = db.transaction((): boolean => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > migrations.length) {
      throw new Error(`database schema version ${version} is newer than this relay's (${migrations.length})`);
    }
    if (version === migrations.length) return false;
    migrations[version]!(db);
    db.pragma(`user_version = ${version + 1}`);
    return true;
  });
  while (step.immediate()) {
    // one migration applied; look for the next
  }
}
