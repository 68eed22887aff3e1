import type Database from 'better-sqlite3';

/** One row of the newest-first walk the count rules (max_per_pubkey, max_total) need. */
export interface WalkRow {
  seq: number;
  pubkey: Buffer;
  kind: number;
  created_at: number;
  expires_at: number | null;
}

/** Position of the walk: rows strictly older than (created_at, seq) come next. */
export interface WalkCursor {
  created_at: number;
  seq: number;
}

export const WALK_START: WalkCursor = Object.freeze({ created_at: Number.MAX_SAFE_INTEGER, seq: Number.MAX_SAFE_INTEGER });

/**
 * The statements the retention pruner (src/retention/pruner.ts) runs, each bounded by an index seek and
 * a LIMIT so one call stays short. Plans (EXPLAIN QUERY PLAN) are checked in test/unit/store.retention.test.ts.
 */
export class RetentionStatements {
  private readonly nextKindStmt: Database.Statement<[number], number>;
  private readonly olderSeqs: Database.Statement<[number, number, number], number>;
  private readonly countOlderStmt: Database.Statement<[number, number], number>;
  private readonly countExpiredStmt: Database.Statement<[number], number>;
  private readonly walkStmt: Database.Statement<[{ at: number; seq: number; limit: number }], WalkRow>;
  private readonly expiredSeqs: Database.Statement<[number, number], number>;
  private readonly deleteTx: Database.Transaction<(seqs: readonly number[]) => void>;

  constructor(private readonly db: Database.Database) {
    this.nextKindStmt = db
      .prepare<[number], number>('SELECT kind FROM events INDEXED BY events_kind_created WHERE kind > ? ORDER BY kind LIMIT 1')
      .pluck();
    this.olderSeqs = db
      .prepare<[number, number, number], number>(
        'SELECT seq FROM events INDEXED BY events_kind_created WHERE kind = ? AND created_at < ? LIMIT ?',
      )
      .pluck();
    this.countOlderStmt = db
      .prepare<[number, number], number>('SELECT count(*) FROM events INDEXED BY events_kind_created WHERE kind = ? AND created_at < ?')
      .pluck();
    this.expiredSeqs = db
      .prepare<[number, number], number>('SELECT seq FROM events INDEXED BY events_expires WHERE expires_at <= ? LIMIT ?')
      .pluck();
    this.countExpiredStmt = db
      .prepare<[number], number>('SELECT count(*) FROM events INDEXED BY events_expires WHERE expires_at <= ?')
      .pluck();
    // `created_at <= @at` bounds the index range; the OR then only filters the rows at created_at = @at.
    this.walkStmt = db.prepare<[{ at: number; seq: number; limit: number }], WalkRow>(
      `SELECT seq, pubkey, kind, created_at, expires_at FROM events INDEXED BY events_created
       WHERE created_at <= @at AND (created_at < @at OR seq < @seq)
       ORDER BY created_at DESC, seq DESC LIMIT @limit`,
    );
    const deleteTags = db.prepare<[number]>('DELETE FROM tags WHERE event_rowid = ?');
    const deleteEvent = db.prepare<[number]>('DELETE FROM events WHERE seq = ?');
    this.deleteTx = db.transaction((seqs: readonly number[]) => {
      for (const seq of seqs) {
        deleteTags.run(seq);
        deleteEvent.run(seq);
      }
    });
  }

  /** The smallest stored kind above `after` (-1 to start), or undefined: one index seek. */
  nextKind(after: number): number | undefined {
    return this.nextKindStmt.get(after);
  }

  /** Up to `maxRows` rowids of events of `kind` created before `before`. */
  olderThan(kind: number, before: number, maxRows: number): number[] {
    return this.olderSeqs.all(kind, before, maxRows);
  }

  countOlderThan(kind: number, before: number): number {
    return this.countOlderStmt.get(kind, before)!;
  }

  /**
   * NIP-40: deletes up to `maxRows` events expired at `now` (with their tag rows) in one short
   * transaction, through the partial index events_expires. Returns how many were deleted.
   */
  deleteExpired(now: number, maxRows: number): number {
    const seqs = this.expiredSeqs.all(now, maxRows);
    this.delete(seqs);
    return seqs.length;
  }

  /** Events expired at `now` (NIP-40 and ephemeral `keep`), for dry runs. */
  countExpired(now: number): number {
    return this.countExpiredStmt.get(now)!;
  }

  /** The next `limit` events older than `cursor`, newest first. */
  walk(cursor: WalkCursor, limit: number): WalkRow[] {
    return this.walkStmt.all({ at: cursor.created_at, seq: cursor.seq, limit });
  }

  /** Deletes these events and their tag rows in one IMMEDIATE transaction. */
  delete(seqs: readonly number[]): void {
    if (seqs.length > 0) this.deleteTx.immediate(seqs);
  }

  /** EXPLAIN QUERY PLAN details of each statement, for tests and bench/. */
  plans(): Record<string, string[]> {
    const plan = (sql: string, ...args: unknown[]): string[] =>
      (this.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[]).map((row) => row.detail);
    return {
      nextKind: plan(this.nextKindStmt.source, 0),
      olderThan: plan(this.olderSeqs.source, 1, 0, 1),
      walk: plan(this.walkStmt.source, { at: 0, seq: 0, limit: 1 }),
    };
  }
}
