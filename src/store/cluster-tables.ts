import type Database from 'better-sqlite3';
import type { ManagementChange } from './management.js';
import type { WireItem } from './writer-thread.js';

/** One outbox row: an event this node stored, or a NIP-86 change it made, waiting for the stream (migration 8). */
export type OutboxRow = { id: number; item: WireItem } | { id: number; change: ManagementChange };

interface Row {
  id: number;
  json: string | null;
  expires_at: number | null;
  vanish: number;
  change: string | null;
}

/**
 * Cluster mode's reads of a site's database, on a read-only connection of the cluster thread: the outbox
 * rows not yet published and the stream position applied. The writer thread and the NIP-86 tables write them.
 */
export class ClusterTables {
  private readonly pendingRows: Database.Statement<[number, number], Row>;
  private readonly appliedSeq: Database.Statement<[string], number>;
  private readonly outboxSize: Database.Statement<[], number>;

  constructor(db: Database.Database) {
    this.pendingRows = db.prepare('SELECT id, json, expires_at, vanish, change FROM cluster_outbox WHERE id > ? ORDER BY id LIMIT ?');
    this.appliedSeq = db.prepare<[string], number>('SELECT seq FROM cluster_applied WHERE stream = ?').pluck();
    this.outboxSize = db.prepare<[], number>('SELECT count(*) FROM cluster_outbox').pluck();
  }

  /** Up to `limit` outbox rows after id `after`, oldest first. */
  pending(after: number, limit: number): OutboxRow[] {
    return this.pendingRows
      .all(after, limit)
      .map(
        ({ id, json, expires_at, vanish, change }): OutboxRow =>
          json === null ? { id, change: JSON.parse(change!) as ManagementChange } : { id, item: [json, expires_at, vanish === 1] },
      );
  }

  /** The sequence of the last message of `stream` applied here; 0 = none. */
  applied(stream: string): number {
    return this.appliedSeq.get(stream) ?? 0;
  }

  outbox(): number {
    return this.outboxSize.get()!;
  }
}
