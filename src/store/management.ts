import type Database from 'better-sqlite3';
import { RECORD_APPLIED_SQL } from './migrations.js';

/** One row of a NIP-86 list: the key (pubkey, event id or IP) and the admin's reason ('' = none). */
export interface ListedEntry {
  key: string;
  reason: string;
}

export type ManagedList = 'banned_pubkeys' | 'allowed_pubkeys' | 'banned_events' | 'blocked_ips';

/** The info fields NIP-86 may override. */
export type InfoField = 'name' | 'description' | 'icon';

/** A change to the NIP-86 state, as cluster mode carries it to the other nodes (and applies theirs). */
export type ManagementChange =
  | ['put', ManagedList, key: string, reason: string, addedAt: number]
  | ['remove', ManagedList, key: string]
  | ['allowKind', kind: number]
  | ['disallowKind', kind: number]
  | ['setInfo', InfoField, value: string]
  | ['deleteEvent', id: string];

/**
 * NIP-86 state in SQLite (tables of migration 5, src/store/migrations.ts): the lists admins edit and the
 * NIP-11 overrides. Small tables, read whole at start by the relay's management state (src/relay/management.ts).
 */
export class ManagementTables {
  private readonly lists: Record<
    ManagedList,
    { all: Database.Statement<[], ListedEntry>; put: Database.Statement<[string, string, number]>; remove: Database.Statement<[string]> }
  >;
  private readonly kindsAll: Database.Statement<[], number>;
  private readonly kindPut: Database.Statement<[number]>;
  private readonly kindRemove: Database.Statement<[number]>;
  private readonly infoAll: Database.Statement<[], { field: string; value: string }>;
  private readonly infoPut: Database.Statement<[string, string]>;
  private readonly deleteById: (id: Buffer) => boolean;
  private readonly toOutbox: Database.Statement<[string]>;
  private readonly recordApplied: Database.Statement<[string, number]>;
  /** Applies changes and records the stream position, in one transaction. */
  private readonly applyAll: Database.Transaction<(changes: readonly ManagementChange[], stream: string, seq: number) => void>;
  /** Cluster mode: each change made here is also appended to the outbox, in its own transaction, for the other nodes. */
  outbox = false;

  constructor(private readonly db: Database.Database) {
    const list = (table: ManagedList) => ({
      all: db.prepare<[], ListedEntry>(`SELECT key, reason FROM ${table} ORDER BY added_at, key`),
      put: db.prepare<[string, string, number]>(
        `INSERT INTO ${table} (key, reason, added_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET reason = excluded.reason`,
      ),
      remove: db.prepare<[string]>(`DELETE FROM ${table} WHERE key = ?`),
    });
    this.lists = {
      banned_pubkeys: list('banned_pubkeys'),
      allowed_pubkeys: list('allowed_pubkeys'),
      banned_events: list('banned_events'),
      blocked_ips: list('blocked_ips'),
    };
    this.kindsAll = db.prepare<[], number>('SELECT kind FROM allowed_kinds ORDER BY kind').pluck();
    this.kindPut = db.prepare<[number]>('INSERT OR IGNORE INTO allowed_kinds (kind) VALUES (?)');
    this.kindRemove = db.prepare<[number]>('DELETE FROM allowed_kinds WHERE kind = ?');
    this.infoAll = db.prepare<[], { field: string; value: string }>('SELECT field, value FROM info_overrides');
    this.infoPut = db.prepare<[string, string]>(
      'INSERT INTO info_overrides (field, value) VALUES (?, ?) ON CONFLICT (field) DO UPDATE SET value = excluded.value',
    );
    const seqOf = db.prepare<[Buffer], number>('SELECT seq FROM events WHERE id = ?').pluck();
    const deleteTags = db.prepare<[number]>('DELETE FROM tags WHERE event_rowid = ?');
    const deleteEvent = db.prepare<[number]>('DELETE FROM events WHERE seq = ?');
    this.deleteById = (id: Buffer): boolean => {
      const seq = seqOf.get(id);
      if (seq === undefined) return false;
      deleteTags.run(seq);
      deleteEvent.run(seq);
      return true;
    };
    this.toOutbox = db.prepare<[string]>('INSERT INTO cluster_outbox (change) VALUES (?)');
    this.recordApplied = db.prepare<[string, number]>(RECORD_APPLIED_SQL);
    this.applyAll = db.transaction((changes: readonly ManagementChange[], stream: string, seq: number) => {
      for (const change of changes) this.apply(change);
      this.recordApplied.run(stream, seq);
    });
  }

  /** Makes `change` here (and, in cluster mode, appends it to the outbox) in one IMMEDIATE transaction. */
  private change<T>(change: ManagementChange): T {
    return this.db
      .transaction(() => {
        const result = this.apply(change);
        if (this.outbox) this.toOutbox.run(JSON.stringify(change));
        return result as T;
      })
      .immediate();
  }

  private apply(change: ManagementChange): unknown {
    switch (change[0]) {
      case 'put':
        return this.lists[change[1]].put.run(change[2], change[3], change[4]);
      case 'remove':
        return this.lists[change[1]].remove.run(change[2]);
      case 'allowKind':
        return this.kindPut.run(change[1]);
      case 'disallowKind':
        return this.kindRemove.run(change[1]);
      case 'setInfo':
        return this.infoPut.run(change[1], change[2]);
      case 'deleteEvent':
        return this.deleteById(Buffer.from(change[1], 'hex'));
    }
  }

  /** Cluster mode: another node's changes, with the position of the stream message that brought them. */
  applyFromStream(changes: readonly ManagementChange[], stream: string, seq: number): void {
    this.applyAll.immediate(changes, stream, seq);
  }

  list(name: ManagedList): ListedEntry[] {
    return this.lists[name].all.all();
  }

  put(name: ManagedList, key: string, reason: string, now: number): void {
    this.change(['put', name, key, reason, now]);
  }

  remove(name: ManagedList, key: string): void {
    this.change(['remove', name, key]);
  }

  allowedKinds(): number[] {
    return this.kindsAll.all();
  }

  allowKind(kind: number): void {
    this.change(['allowKind', kind]);
  }

  disallowKind(kind: number): void {
    this.change(['disallowKind', kind]);
  }

  infoOverrides(): Partial<Record<InfoField, string>> {
    const out: Partial<Record<InfoField, string>> = {};
    for (const { field, value } of this.infoAll.all()) out[field as InfoField] = value;
    return out;
  }

  setInfo(field: InfoField, value: string): void {
    this.change(['setInfo', field, value]);
  }

  /** Deletes a stored event (and its tag rows; the FTS trigger removes its index row). Returns whether it was there. */
  deleteEvent(id: string): boolean {
    return this.change<boolean>(['deleteEvent', id]);
  }
}
