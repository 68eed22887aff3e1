import type Database from 'better-sqlite3';
import type { CompiledFilter } from '../filter/compile.js';
import { buildQuery, LIMIT, type Mode, type Param } from './sql.js';

const MAX_CACHED_STATEMENTS = 256;

/** Row of a 'rows' statement in raw mode; search filters add their bm25 rank (lower is better). */
type Row = [seq: number, createdAt: number, id: Buffer, json: string, rank?: number];

/** Read side of the store: filters → SQL by shape → cached prepared statements. */
export class QueryRunner {
  /** SQL text → prepared statement, least recently used first. */
  private readonly cache = new Map<string, Database.Statement>();
  /** Stored events already expired at `now`, not yet pruned (partial index events_expires). */
  private readonly countExpired: Database.Statement<[number], number>;

  constructor(private readonly db: Database.Database) {
    this.countExpired = db.prepare<[number], number>('SELECT count(*) FROM events INDEXED BY events_expires WHERE expires_at <= ?').pluck();
  }

  /**
   * Stored JSON of events matching any filter, each once, newest first, ties lowest id first;
   * events expired at `now` (NIP-40) are left out. NIP-50: events found by search filters come first,
   * best rank first (bm25 across those filters), then the other filters' events newest first.
   */
  query(filters: readonly CompiledFilter[], now: number): string[] {
    const live = answering(filters);
    if (live.length === 0) return [];
    const slack = this.expiredSlack(now);
    if (live.length === 1) return this.limited(live[0]!, 'json', now, slack) as string[];

    const seen = new Set<number>();
    const rows: Row[] = [];
    // Search filters first, so an event found by one keeps its rank.
    const ordered = [...live.filter((filter) => filter.search), ...live.filter((filter) => !filter.search)];
    // Read rules: the parts of one split filter (same `group`) share its limit, applied to their union.
    const groups = new Map<object, { limit: number; rows: Row[] }>();
    for (const filter of ordered) {
      const found = this.limited(filter, 'rows', now, slack) as Row[];
      if (filter.group !== undefined) {
        const group = groups.get(filter.group);
        if (group) group.rows.push(...found);
        else groups.set(filter.group, { limit: filter.limit, rows: found });
        continue;
      }
      for (const row of found) {
        if (!seen.has(row[0])) {
          seen.add(row[0]);
          rows.push(row);
        }
      }
    }
    for (const group of groups.values()) {
      group.rows.sort(newestFirst);
      const mine = new Set<number>();
      for (const row of group.rows) {
        if (mine.size >= group.limit) break;
        if (mine.has(row[0])) continue;
        mine.add(row[0]);
        if (!seen.has(row[0])) {
          seen.add(row[0]);
          rows.push(row);
        }
      }
    }
    rows.sort(newestFirst);
    return rows.map((row) => row[3]);
  }

  /**
   * query()'s answer as EVENT frames (`framePrefix` + JSON + `]`), when one filter is live: SQLite builds them
   * one after another into a single BLOB (group_concat over the 'json' statement, in its order) with each
   * event's length, so no JavaScript string is made per event and the socket sends views of the one buffer
   * (bench/README.md "Answers as one buffer from SQLite"). undefined with several live filters: their rows
   * are merged in JavaScript (query()).
   */
  frames(filters: readonly CompiledFilter[], now: number, framePrefix: string): { frames: Uint8Array; ends: Uint32Array } | undefined {
    const live = answering(filters);
    if (live.length === 0) return { frames: new Uint8Array(0), ends: new Uint32Array(0) };
    if (live.length > 1) return undefined;
    const { sql, params } = buildQuery(live[0]!, 'json', now, this.expiredSlack(now));
    // The 'json' statement ends in ORDER BY … LIMIT (or is a join driven by such a subquery): SQLite keeps a
    // subquery's order when it has a LIMIT, and group_concat takes the rows in the order they come.
    const statement = this.cached(
      `SELECT CAST(group_concat(? || json || ']', '') AS BLOB), group_concat(octet_length(json)) FROM (${sql})`,
    );
    const [joined, lengths] = statement.raw(true).get(framePrefix, ...params) as [Buffer | null, string | null];
    if (joined === null || lengths === null) return { frames: new Uint8Array(0), ends: new Uint32Array(0) };
    const around = Buffer.byteLength(framePrefix) + 1;
    const split = lengths.split(',');
    const ends = new Uint32Array(split.length);
    let end = 0;
    for (let i = 0; i < split.length; i++) ends[i] = end += around + Number(split[i]);
    if (end !== joined.length) throw new Error(`frames: ${joined.length} bytes, the lengths add up to ${end}`);
    // Its own ArrayBuffer, so a reader thread can move it (transfer) to the connection's thread.
    const frames = joined.byteOffset === 0 && joined.buffer.byteLength === joined.length ? joined : new Uint8Array(joined);
    return { frames, ends };
  }

  /** Number of distinct stored events matching any filter and unexpired at `now`; limits are ignored. */
  count(filters: readonly CompiledFilter[], now: number): number {
    const live = filters.filter((filter) => !matchesNothing(filter));
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
   * NIP-45 hll: distinct pubkeys (lowercase hex) of the events matching any filter, unexpired at
   * `now`; read from the pubkey column (SELECT DISTINCT), never from the JSON.
   */
  pubkeys(filters: readonly CompiledFilter[], now: number): Set<string> {
    const pubkeys = new Set<string>();
    for (const filter of filters) {
      if (matchesNothing(filter)) continue;
      const { statement, params } = this.prepare(filter, 'pubkeys', now);
      for (const pubkey of statement.pluck(true).all(...params) as Buffer[]) pubkeys.add(pubkey.toString('hex'));
    }
    return pubkeys;
  }

  /**
   * NIP-77: (created_at, id in hex) of every event matching `filter` and unexpired at `now`, oldest
   * first, ties lowest id first, the filter's limit ignored; at most `max` rows. No JSON is read. Built
   * from the 'seqs' statement of the shared builder (same driving index, same NIP-40 condition).
   * Streamed, and the id comes as a string: a Buffer per row would cost ~800 bytes each until collected
   * (200,000 rows held 160 MB read with all()). Consume it at once: the connection cannot write while it is open.
   */
  keys(filter: CompiledFilter, now: number, max: number): IterableIterator<[createdAt: number, idHex: string]> {
    if (emptyRange(filter)) return [][Symbol.iterator]();
    const { sql, params } = buildQuery(filter, 'seqs', now);
    if (!sql.startsWith('SELECT e.seq FROM ')) throw new Error('unexpected seqs statement');
    const keysSql = `SELECT e.created_at, hex(e.id) FROM ${sql.slice('SELECT e.seq FROM '.length)} ORDER BY e.created_at, e.id ${LIMIT}`;
    return this.cached(keysSql)
      .raw(true)
      .iterate(...params, max) as IterableIterator<[number, string]>;
  }

  /**
   * Every matching event, newest first, limit ignored, streamed. A fresh statement per call, so
   * several exports may run at once; the connection cannot write while an iterator is open.
   */
  iterate(filter: CompiledFilter, now: number): IterableIterator<string> {
    if (matchesNothing(filter)) return [][Symbol.iterator]();
    const { sql, params } = buildQuery(filter, 'stream', now);
    return this.db
      .prepare(sql)
      .pluck(true)
      .iterate(...params) as IterableIterator<string>;
  }

  /** The SQL `query()` runs for this filter (as the only filter) and its EXPLAIN QUERY PLAN lines. */
  explain(filter: CompiledFilter, now: number): { sql: string; plan: string[] } {
    const { sql, params } = buildQuery(filter, 'json', now);
    const rows = this.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
    return { sql, plan: rows.map((row) => row.detail) };
  }

  /** How many stored events are expired at `now`: only the index-only cutoff needs it, counted at most once per query. */
  private expiredSlack(now: number): () => number {
    let expired: number | undefined;
    return () => (expired ??= this.countExpired.get(now)!);
  }

  /** The newest `limit` matches of one filter: 'json' strings or 'rows'. */
  private limited(filter: CompiledFilter, mode: 'json' | 'rows', now: number, slack: () => number): unknown[] {
    const { statement, params } = this.prepare(filter, mode, now, slack);
    return mode === 'json' ? statement.pluck(true).all(...params) : statement.raw(true).all(...params);
  }

  /** The cached prepared statement for the filter's shape, and the values to bind. */
  private prepare(
    filter: CompiledFilter,
    mode: Mode,
    now: number,
    slack: number | (() => number) = 0,
  ): { statement: Database.Statement; params: Param[] } {
    const { sql, params } = buildQuery(filter, mode, now, slack);
    return { statement: this.cached(sql), params };
  }

  /** The prepared statement for `sql`, from the cache (least recently used evicted first). */
  private cached(sql: string): Database.Statement {
    let statement = this.cache.get(sql);
    if (statement) {
      this.cache.delete(sql);
    } else {
      statement = this.db.prepare(sql);
      if (this.cache.size >= MAX_CACHED_STATEMENTS) this.cache.delete(this.cache.keys().next().value!);
    }
    this.cache.set(sql, statement);
    return statement;
  }
}

/** The filters an answer reads: a limit above 0, and able to match. */
const answering = (filters: readonly CompiledFilter[]): CompiledFilter[] =>
  filters.filter((filter) => filter.limit > 0 && !matchesNothing(filter));

/** since after until: nothing can match, no need to ask SQLite. */
const emptyRange = (filter: CompiledFilter): boolean =>
  filter.since !== undefined && filter.until !== undefined && filter.since > filter.until;

/** An empty range, or a NIP-50 search with no words left: nothing can match. */
const matchesNothing = (filter: CompiledFilter): boolean => emptyRange(filter) || filter.search?.fts === '';

const newestFirst = (a: Row, b: Row): number => byRank(a, b) || b[1] - a[1] || Buffer.compare(a[2], b[2]);

/** Rows with a search rank before rows without; lower (better) bm25 rank first. */
function byRank(a: Row, b: Row): number {
  if (a[4] === undefined || a[4] === null) return b[4] === undefined || b[4] === null ? 0 : 1;
  if (b[4] === undefined || b[4] === null) return -1;
  return a[4] - b[4];
}
