import type Database from 'better-sqlite3';

/** One row of a NIP-86 list: the key (pubkey, event id or IP) and the admin's reason ('' = none). */
export interface ListedEntry {
  key: string;
  reason: string;
}

export type ManagedList = 'banned_pubkeys' | 'allowed_pubkeys' | 'banned_events' | 'blocked_ips';

/** The info fields NIP-86 may override. */
export type InfoField = 'name' | 'description' | 'icon';

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
  private readonly deleteById: Database.Transaction<(id: Buffer) => boolean>;

  constructor(db: Database.Database) {
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
    this.deleteById = db.transaction((id: Buffer): boolean => {
      const seq = seqOf.get(id);
      if (seq === undefined) return false;
      deleteTags.run(seq);
      deleteEvent.run(seq);
      return true;
    });
  }

  list(name: ManagedList): ListedEntry[] {
    return this.lists[name].all.all();
  }

  put(name: ManagedList, key: string, reason: string, now: number): void {
    this.lists[name].put.run(key, reason, now);
  }

  remove(name: ManagedList, key: string): void {
    this.lists[name].remove.run(key);
  }

  allowedKinds(): number[] {
    return this.kindsAll.all();
  }

  allowKind(kind: number): void {
    this.kindPut.run(kind);
  }

  disallowKind(kind: number): void {
    this.kindRemove.run(kind);
  }

  infoOverrides(): Partial<Record<InfoField, string>> {
    const out: Partial<Record<InfoField, string>> = {};
    for (const { field, value } of this.infoAll.all()) out[field as InfoField] = value;
    return out;
  }

  setInfo(field: InfoField, value: string): void {
    this.infoPut.run(field, value);
  }

  /** Deletes a stored event (and its tag rows; the FTS trigger removes its index row). Returns whether it was there. */
  deleteEvent(id: string): boolean {
    return this.deleteById.immediate(Buffer.from(id, 'hex'));
  }
}
