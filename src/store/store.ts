import type Database from 'better-sqlite3';
import { unixNow } from '../event/clock.js';
import type { CompiledFilter } from '../filter/compile.js';
import { migrate } from './migrations.js';
import { openDatabase, type OpenOptions } from './open.js';
import { QueryRunner } from './query.js';
import { RetentionStatements } from './retention.js';
import type { CommittedWrite, EventToWrite, WriteOutcome } from './types.js';
import { framedAnswers, storedAnswers, type PackedAnswer, type StoredAnswer } from './stored-answer.js';
import { createWriter } from './write.js';
import { ManagementTables } from './management.js';

/** Matches every stored event (for iterate() without a filter). */
const EVERYTHING: CompiledFilter = Object.freeze({ tags: [], limit: Number.MAX_SAFE_INTEGER });

export interface StoreLocation {
  path: string;
  options: OpenOptions;
}

/** The relay's SQLite event store: one connection, one write path, queries cached by filter shape. */
export class EventStore {
  private readonly hasId: Database.Statement<[Buffer], number>;
  private readonly countAll: Database.Statement<[], number>;
  private readonly versions: Database.Statement<[], [dataVersion: number, ownChanges: number]>;
  private readonly write: (items: readonly EventToWrite[]) => CommittedWrite;
  private readonly answerQuery: (filters: readonly CompiledFilter[], now: number) => StoredAnswer;
  private readonly framedQuery: (filters: readonly CompiledFilter[], now: number, framePrefix: string) => StoredAnswer | PackedAnswer;
  private readonly reader: QueryRunner;
  /** Bounded statements for the retention pruner (src/retention/pruner.ts). */
  readonly retention: RetentionStatements;
  /** NIP-86 management lists and NIP-11 overrides (migration 5). */
  readonly management: ManagementTables;

  /**
   * The database file and how it was opened, so another thread can open its own connection to it (the
   * retention pruner's worker); undefined for ':memory:'.
   */
  readonly location: StoreLocation | undefined;

  private constructor(
    private readonly db: Database.Database,
    path: string,
    options: OpenOptions,
  ) {
    this.location = path === ':memory:' || path === '' ? undefined : { path, options };
    migrate(db);
    this.hasId = db.prepare<[Buffer], number>('SELECT 1 FROM events WHERE id = ?').pluck();
    this.countAll = db.prepare<[], number>('SELECT count(*) FROM events').pluck();
    this.versions = db.prepare<[], [number, number]>('SELECT (SELECT data_version FROM pragma_data_version()), total_changes()').raw(true);
    this.write = createWriter(db);
    this.reader = new QueryRunner(db);
    this.answerQuery = storedAnswers(db, this.reader);
    this.framedQuery = framedAnswers(db, this.reader);
    this.retention = new RetentionStatements(db);
    this.management = new ManagementTables(db);
  }

  /** Opens or creates the database at `path` (parent directories too; ':memory:' allowed). */
  static open(path: string, options: OpenOptions): EventStore {
    const db = openDatabase(path, options);
    try {
      return new EventStore(db, path, options);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /**
   * Changes whenever a change is committed to the database, by this connection (total_changes) or by
   * another (data_version: the writer thread, the pruner's worker, an import): equal versions, equal data.
   */
  version(): string {
    const [dataVersion, ownChanges] = this.versions.get()!;
    return `${dataVersion}.${ownChanges}`;
  }

  /** SQLite's page cache of this connection, in KiB (OpenOptions.cacheKiB). */
  pageCacheKiB(): number {
    return -(this.db.pragma('cache_size', { simple: true }) as number);
  }

  /** Is an event with this id stored? */
  has(id: string): boolean {
    return this.hasId.get(Buffer.from(id, 'hex')) !== undefined;
  }

  /**
   * Writes the batch in ONE transaction; outcomes in input order. Throws (writing nothing) if an
   * ephemeral event is passed without `expiresAt` (only retention `keep` stores them, briefly).
   */
  writeBatch(items: EventToWrite[]): WriteOutcome[] {
    return this.write(items).outcomes;
  }

  /** writeBatch(), with the batch's number in the commit sequence (the live write path). */
  commit(items: EventToWrite[]): CommittedWrite {
    return this.write(items);
  }

  /**
   * Stored JSON of events matching any filter, each once, newest first (ties: lowest id first).
   * Events expired at `now` (unix seconds, NIP-40) are never returned.
   */
  query(filters: readonly CompiledFilter[], now: number = unixNow()): string[] {
    return this.reader.query(filters, now);
  }

  /** query(), with the commit sequence number of the snapshot it read (src/store/stored-answer.ts). */
  answer(filters: readonly CompiledFilter[], now: number = unixNow()): StoredAnswer {
    return this.answerQuery(filters, now);
  }

  /** answer(), as EVENT frames built by SQLite when one filter is live (src/store/stored-answer.ts framedAnswers). */
  answerFrames(filters: readonly CompiledFilter[], now: number, framePrefix: string): StoredAnswer | PackedAnswer {
    return this.framedQuery(filters, now, framePrefix);
  }

  /** Number of distinct stored events matching any filter, unexpired at `now` (limits ignored). */
  count(filters: readonly CompiledFilter[], now: number = unixNow()): number {
    return this.reader.count(filters, now);
  }

  /** NIP-45 hll: distinct pubkeys (hex) of the events matching any filter, unexpired at `now`. */
  pubkeys(filters: readonly CompiledFilter[], now: number = unixNow()): Set<string> {
    return this.reader.pubkeys(filters, now);
  }

  /**
   * NIP-77: (created_at, id in hex) of stored events matching `filter`, unexpired at `now`, oldest first
   * (ties: lowest id first), the filter's limit ignored, at most `max` rows; streamed, to be consumed at
   * once. No JSON is read.
   */
  negentropyKeys(
    filter: CompiledFilter,
    now: number = unixNow(),
    max = Number.MAX_SAFE_INTEGER,
  ): IterableIterator<[createdAt: number, idHex: string]> {
    return this.reader.keys(filter, now, max);
  }

  /** Every stored event matching `filter` (all when undefined), unexpired at `now`, newest first, limit ignored. */
  iterate(filter?: CompiledFilter, now: number = unixNow()): IterableIterator<string> {
    return this.reader.iterate(filter ?? EVERYTHING, now);
  }

  /** The SQL query() runs for this filter alone, and its EXPLAIN QUERY PLAN lines (bench/explain.ts). */
  explain(filter: CompiledFilter, now: number = unixNow()): { sql: string; plan: string[] } {
    return this.reader.explain(filter, now);
  }

  /**
   * NIP-40: deletes up to `maxRows` events expired at `now` (with their tag rows) in one short
   * transaction, through the partial index events_expires. Returns how many were deleted; call again
   * (on a later tick) while it returns `maxRows`.
   */
  deleteExpired(now: number, maxRows: number): number {
    return this.retention.deleteExpired(now, maxRows);
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
