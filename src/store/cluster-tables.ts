import type Database from 'better-sqlite3';
import type { WireItem } from './writer-thread.js';

/** One outbox row: an event this node stored, waiting for the stream (table cluster_outbox, migration 8). */
export interface OutboxRow {
  id: number;
  item: WireItem;
}

/**
 * Cluster mode's reads of a site's database, on a read-only connection of the cluster thread: the outbox
 * rows not yet published and the stream position applied. The writer thread alone writes both tables.
 */
export class ClusterTables {
  private readonly pendingRows: Database.Statement<
    [number, number],
    { id: number; json: string; expires_at: number | null; vanish: number }
  >;
  private readonly appliedSeq: Database.Statement<[string], number>;
  private readonly outboxSize: Database.Statement<[], number>;

  constructor(db: Database.Database) {
    this.pendingRows = db.prepare('SELECT id, json, expires_at, vanish FROM cluster_outbox WHERE id > ? ORDER BY id LIMIT ?');
    this.appliedSeq = db.prepare<[string], number>('SELECT seq FROM cluster_applied WHERE stream = ?').pluck();
    this.outboxSize = db.prepare<[], number>('SELECT count(*) FROM cluster_outbox').pluck();
  }

  /** Up to `limit` outbox rows after id `after`, oldest first. */
  pending(after: number, limit: number): OutboxRow[] {
    return this.pendingRows.all(after, limit).map(({ id, json, expires_at, vanish }) => ({ id, item: [json, expires_at, vanish === 1] }));
  }

  /** The sequence of the last message of `stream` applied here; 0 = none. */
  applied(stream: string): number {
    return this.appliedSeq.get(stream) ?? 0;
  }

  outbox(): number {
    return this.outboxSize.get()!;
  }
}
