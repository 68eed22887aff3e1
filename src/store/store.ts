import type Database from 'better-sqlite3';
import type { CompiledFilter } from '../filter/compile.js';
import { migrate } from './migrations.js';
import { openDatabase, type OpenOptions } from './open.js';
import { QueryRunner } from './query.js';
import type { EventToWrite, WriteOutcome } from './types.js';
import { createWriter } from './write.js';

/** Matches every stored event (for iterate() without a filter). */
const EVERYTHING: CompiledFilter = Object.freeze({ tags: [], limit: Number.MAX_SAFE_INTEGER });

/** The relay's SQLite event store: one connection, one write path, queries cached by filter shape. */
export class EventStore {
  private readonly hasId: Database.Statement<[Buffer], number>;
  private readonly countAll: Database.Statement<[], number>;
  private readonly write: (items: readonly EventToWrite[]) => WriteOutcome[];
  private readonly reader: QueryRunner;

  private constructor(private readonly db: Database.Database) {
    migrate(db);
    this.hasId = db.prepare<[Buffer], number>('SELECT 1 FROM events WHERE id = ?').pluck();
    this.countAll = db.prepare<[], number>('SELECT count(*) FROM events').pluck();
    this.write = createWriter(db);
    this.reader = new QueryRunner(db);
  }

  /** Opens or creates the database at `path` (parent directories too; ':memory:' allowed). */
  static open(path: string, options: OpenOptions): EventStore {
    const db = openDatabase(path, options);
    try {
      return new EventStore(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** Is an event with this id stored? */
  has(id: string): boolean {
    return this.hasId.get(Buffer.from(id, 'hex')) !== undefined;
  }

  /**
   * Writes the batch in ONE transaction; outcomes in input order. Throws (writing nothing) if an
   * ephemeral event is passed: the caller must never store those.
   */
  writeBatch(items: EventToWrite[]): WriteOutcome[] {
    return this.write(items);
  }

  /** Stored JSON of events matching any filter, each once, newest first (ties: lowest id first). */
  query(filters: readonly CompiledFilter[]): string[] {
    return this.reader.query(filters);
  }

  /** Number of distinct stored events matching any filter (limits ignored). */
  count(filters: readonly CompiledFilter[]): number {
    return this.reader.count(filters);
  }

  /** Every stored event matching `filter` (all when undefined), newest first, limit ignored. */
  iterate(filter?: CompiledFilter): IterableIterator<string> {
    return this.reader.iterate(filter ?? EVERYTHING);
  }

  /** The SQL query() runs for this filter alone, and its EXPLAIN QUERY PLAN lines (bench/explain.ts). */
  explain(filter: CompiledFilter): { sql: string; plan: string[] } {
    return this.reader.explain(filter);
  }

  stats(): { events: number } {
    return { events: this.countAll.get()! };
  }

  /** Refreshes planner statistics where useful (cheap) and closes the connection. */
  close(): void {
    if (!this.db.open) return;
    this.db.pragma('optimize');
    this.db.close();
  }
}
