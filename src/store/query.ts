import type Database from 'better-sqlite3';
import type { CompiledFilter } from '../filter/compile.js';
import { buildQuery, type Mode, type Param } from './sql.js';

const MAX_CACHED_STATEMENTS = 256;

/** Row of a 'rows' statement in raw mode. */
type Row = [seq: number, createdAt: number, id: Buffer, json: string];

/** Read side of the store: filters → SQL by shape → cached prepared statements. */
export class QueryRunner {
  /** SQL text → prepared statement, least recently used first. */
  private readonly cache = new Map<string, Database.Statement>();
  /** Stored events already expired at `now`, not yet pruned (partial index events_expires). */
  private readonly countExpired: Database.Statement<[number], number>;

  constructor(private readonly db: Database.Database) {
    this.countExpired = db
      .prepare<[number], number>('SELECT count(*) FROM events INDEXED BY events_expires WHERE expires_at <= ?')
      .pluck();
  }

  /**
   * Stored JSON of events matching any filter, each once, newest first, ties lowest id first;
   * events expired at `now` (NIP-40) are left out.
   */
  query(filters: readonly CompiledFilter[], now: number): string[] {
    const live = filters.filter((filter) => filter.limit > 0 && !emptyRange(filter));
    if (live.length === 0) return [];
    const slack = this.countExpired.get(now)!;
    if (live.length === 1) {
      const { statement, params } = this.prepare(live[0]!, 'json', now, slack);
      return statement.pluck(true).all(...params) as string[];
    }

    const seen = new Set<number>();
    const rows: Row[] = [];
    for (const filter of live) {
      const { statement, params } = this.prepare(filter, 'rows', now, slack);
      for (const row of statement.raw(true).all(...params) as Row[]) {
        if (!seen.has(row[0])) {
          seen.add(row[0]);
          rows.push(row);
        }
      }
    }
    rows.sort((a, b) => b[1] - a[1] || Buffer.compare(a[2], b[2]));
    return rows.map((row) => row[3]);
  }

  /** Number of distinct stored events matching any filter and unexpired at `now`; limits are ignored. */
  count(filters: readonly CompiledFilter[], now: number): number {
    const live = filters.filter((filter) => !emptyRange(filter));
    if (live.length === 0) return 0;
    if (live.length === 1) {
      const { statement, params } = this.prepare(live[0]!, 'count', now);
      return statement.pluck(true).get(...params) as number;
    }
    const seen = new Set<number>();
    for (const filter of live) {
      const { statement, params } = this.prepare(filter, 'seqs', now);
      for (const seq of statement.pluck(true).all(...params) as number[]) seen.add(seq);
    }
    return seen.size;
  }

  /**
   * Every matching event, newest first, limit ignored, streamed. A fresh statement per call, so
   * several exports may run at once; the connection cannot write while an iterator is open.
   */
  iterate(filter: CompiledFilter, now: number): IterableIterator<string> {
    if (emptyRange(filter)) return [][Symbol.iterator]();
    const { sql, params } = buildQuery(filter, 'stream', now);
    return this.db.prepare(sql).pluck(true).iterate(...params) as IterableIterator<string>;
  }

  /** The SQL `query()` runs for this filter (as the only filter) and its EXPLAIN QUERY PLAN lines. */
  explain(filter: CompiledFilter, now: number): { sql: string; plan: string[] } {
    const { sql, params } = buildQuery(filter, 'json', now);
    const rows = this.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
    return { sql, plan: rows.map((row) => row.detail) };
  }

  /** The cached prepared statement for the filter's shape, and the values to bind. */
  private prepare(filter: CompiledFilter, mode: Mode, now: number, slack = 0): { statement: Database.Statement; params: Param[] } {
    const { sql, params } = buildQuery(filter, mode, now, slack);
    let statement = this.cache.get(sql);
    if (statement) {
      this.cache.delete(sql);
    } else {
      statement = this.db.prepare(sql);
      if (this.cache.size >= MAX_CACHED_STATEMENTS) this.cache.delete(this.cache.keys().next().value!);
    }
    this.cache.set(sql, statement);
    return { statement, params };
  }
}

/** since after until: nothing can match, no need to ask SQLite. */
const emptyRange = (filter: CompiledFilter): boolean =>
  filter.since !== undefined && filter.until !== undefined && filter.since > filter.until;
