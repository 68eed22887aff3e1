import { kindClass } from '../event/kinds.js';
import type { CompiledFilter } from '../filter/compile.js';
import { SEARCH_WINDOW } from '../filter/search.js';

/**
 * Translates one compiled filter into one SQL statement. The SQL text depends only on the filter's
 * shape (which fields are present, and whether each list holds one value or several); every value is
 * bound. A list of several values is bound as ONE JSON parameter read back with json_each, so lists of
 * any length share a statement.
 *
 * The driving index is chosen here, not left to the planner (INDEXED BY / NOT INDEXED / CROSS JOIN):
 *
 *   ids                                     → events_id
 *   authors + kinds, no regular kind        → events_pubkey_kind_created  (few rows per address)
 *   #e/#p/#a, or any #tag without authors   → tags_value_created_kind on the most selective tag
 *   authors + kinds                         → events_pubkey_kind_created
 *   authors                                 → events_pubkey_created
 *   kinds                                   → events_kind_created
 *   nothing / since / until                 → events_created
 *
 * When every column before created_at in the driving index is pinned to ONE value, the index walk is
 * already newest first: SQLite only sorts runs of equal created_at by id and stops at the limit.
 * With several values (several ranges of the index) and no condition outside the index, a limited
 * query first finds the created_at of the limit-th newest match from the index alone (no row reads),
 * then reads only the rows at or after that cutoff: exact, ties included, and ~100-1000x faster on a
 * large table than sorting every matching row.
 *
 * NIP-40: every statement ends with `(e.expires_at IS NULL OR e.expires_at > ?)`, `now` bound from the
 * relay's clock, checked on the rows read (it never drives the plan). The index-only cutoff above cannot
 * see expiry, so its LIMIT is raised by `expiredSlack`: the number of stored rows already expired at
 * `now` (not yet pruned). Among the limit+slack newest index matches at least `limit` are unexpired, so
 * the cutoff stays exact; the pruner keeps the slack near zero.
 */

/** What the statement returns. */
export type Mode =
  /** `seq, created_at, id, json`, newest first, LIMIT bound last: several filters merged in JS. */
  | 'rows'
  /** `json`, newest first, LIMIT bound last: one filter, rows returned as they come. */
  | 'json'
  /** `json`, newest first, no limit: export. */
  | 'stream'
  /** `count(*)` of matching events. */
  | 'count'
  /** `seq` of matching events, unordered: counting over several filters. */
  | 'seqs'
  /** Distinct `pubkey` (32-byte BLOB) of matching events: NIP-45 hll. */
  | 'pubkeys';

export type Param = string | number | Buffer;

/**
 * `LIMIT +?` rather than `LIMIT ?`: SQLite (3.47 and later) reads a bare parameter in LIMIT when it plans
 * the statement, and so prepares the statement again every time that parameter is bound — on every run,
 * ~15 µs each. With the unary plus the limit is an expression evaluated at run time; same plan.
 */
export const LIMIT = 'LIMIT +?';

export interface BuiltQuery {
  sql: string;
  params: Param[];
}

const TAG_PRIORITY: Readonly<Record<string, number>> = { e: 0, p: 1, a: 2 };

type TagCondition = readonly [string, ReadonlySet<string>];

/** Conditions joined by AND, with their values in placeholder order. */
class Conditions {
  readonly sql: string[] = [];
  readonly params: Param[] = [];

  add(sql: string, ...params: Param[]): void {
    this.sql.push(sql);
    this.params.push(...params);
  }

  /** `column = ?` or `column IN (json list)`. */
  list(column: string, values: ReadonlySet<string> | ReadonlySet<number>, type: ListType): void {
    this.add(`${column} ${listSql(values, type)}`, ...listParams(values, type));
  }

  /** The event (alias `e`) has a tag `name` whose value is one of `values`. */
  tag(name: string, values: ReadonlySet<string>): void {
    this.add(
      `EXISTS (SELECT 1 FROM tags x WHERE x.event_rowid = e.seq AND x.name = ? AND x.value ${listSql(values, 'text')})`,
      name,
      ...listParams(values, 'text'),
    );
  }

  /**
   * `column` is none of `kinds` (read rules: a few restricted kinds, fixed by the config), one
   * comparison each: about 10 µs less per query than a json_each list, which SQLite builds into a
   * temporary table on every run.
   */
  notKinds(column: string, kinds: ReadonlySet<number>): void {
    for (const kind of kinds) this.add(`${column} <> ?`, kind);
  }

  range(column: string, filter: CompiledFilter): void {
    if (filter.since !== undefined) this.add(`${column} >= ?`, filter.since);
    if (filter.until !== undefined) this.add(`${column} <= ?`, filter.until);
  }

  where(): string {
    return this.sql.length > 0 ? ` WHERE ${this.sql.join(' AND ')}` : '';
  }
}

/**
 * @param now unix seconds: events with expires_at <= now are left out.
 * @param expiredSlack how many stored events are expired at `now` (see above); only limited modes use it.
 */
export function buildQuery(filter: CompiledFilter, mode: Mode, now: number, expiredSlack: number | (() => number) = 0): BuiltQuery {
  if (filter.search) return buildSearchQuery(filter, mode, now);
  const limited = mode === 'rows' || mode === 'json';
  const where = new Conditions();
  let from: string;
  let orderBy = 'e.created_at DESC, e.id';
  // The walk is not newest first (several index ranges, or ids): SQLite sorts all the rows it reads.
  let sortsAll: boolean;
  const driver = chooseDriver(filter);
  const slack = (): number => (typeof expiredSlack === 'function' ? expiredSlack() : expiredSlack);

  if (driver.tag === undefined) {
    // Conditions the driving index answers, then the rest (tags) on each row.
    from = `events e INDEXED BY ${driver.index}`;
    if (filter.ids) where.list('e.id', filter.ids, 'hex');
    if (filter.authors) where.list('e.pubkey', filter.authors, 'hex');
    if (filter.kinds) where.list('e.kind', filter.kinds, 'int');
    if (filter.notKinds) where.notKinds('e.kind', filter.notKinds);
    where.range('e.created_at', filter);
    const covered = filter.tags.length === 0 && driver.index !== 'events_id';
    const severalRanges = (filter.authors?.size ?? 1) > 1 || (filter.kinds?.size ?? 1) > 1;
    sortsAll = severalRanges || driver.index === 'events_id';
    if (limited && covered && severalRanges) {
      where.add(
        `e.created_at >= (SELECT min(c) FROM (SELECT e.created_at AS c FROM ${from}${where.where()} ORDER BY c DESC ${LIMIT}))`,
        ...where.params,
        filter.limit + slack(),
      );
    }
  } else {
    const [name, values] = driver.tag;
    const index = 'tags_value_created_kind';
    const tagWhere = new Conditions();
    tagWhere.add('t.name = ?', name);
    tagWhere.list('t.value', values, 'text');
    if (filter.kinds) tagWhere.list('t.kind', filter.kinds, 'int');
    if (filter.notKinds) tagWhere.notKinds('t.kind', filter.notKinds);
    tagWhere.range('t.created_at', filter);
    sortsAll = values.size > 1;
    if (values.size === 1) {
      // One index range, walked newest first, kinds checked in the index entry; (event, name, value) rows
      // are unique: no duplicates.
      from = `tags t INDEXED BY ${index} CROSS JOIN events e ON e.seq = t.event_rowid`;
      where.add(tagWhere.sql.join(' AND '), ...tagWhere.params);
      orderBy = 't.created_at DESC, e.id';
    } else {
      // Several ranges: the set of matching rowids (an event matching two values appears once).
      const tags = `tags t INDEXED BY ${index}`;
      const covered = filter.authors === undefined && filter.tags.length === 1;
      if (limited && covered) {
        tagWhere.add(
          `t.created_at >= (SELECT min(c) FROM (SELECT DISTINCT t.event_rowid, t.created_at AS c FROM ${tags}${tagWhere.where()} ORDER BY c DESC ${LIMIT}))`,
          ...tagWhere.params,
          filter.limit + slack(),
        );
      }
      from = 'events e NOT INDEXED';
      where.add(`e.seq IN (SELECT t.event_rowid FROM ${tags}${tagWhere.where()})`, ...tagWhere.params);
    }
    if (filter.authors) where.list('e.pubkey', filter.authors, 'hex');
  }

  for (const tag of filter.tags) {
    if (tag === driver.tag) continue;
    where.tag(...tag);
  }

  // Last, so that no cutoff subquery above includes it (those read the index alone).
  where.add('(e.expires_at IS NULL OR e.expires_at > ?)', now);

  const params = where.params;
  switch (mode) {
    case 'rows':
    case 'json': {
      params.push(filter.limit);
      if (!sortsAll) {
        const columns = mode === 'rows' ? 'e.seq, e.created_at, e.id, e.json' : 'e.json';
        return { sql: `SELECT ${columns} FROM ${from}${where.where()} ORDER BY ${orderBy} ${LIMIT}`, params };
      }
      const keys = mode === 'rows' ? 'e.seq AS seq, e.created_at AS created_at, e.id AS id' : 'e.seq AS seq';
      return { sql: withJson(`SELECT ${keys} FROM ${from}${where.where()} ORDER BY ${orderBy} ${LIMIT}`, mode), params };
    }
    case 'stream':
      return { sql: `SELECT e.json FROM ${from}${where.where()} ORDER BY ${orderBy}`, params };
    case 'count':
      return { sql: `SELECT count(*) FROM ${from}${where.where()}`, params };
    case 'seqs':
      return { sql: `SELECT e.seq FROM ${from}${where.where()}`, params };
    case 'pubkeys':
      return { sql: `SELECT DISTINCT e.pubkey FROM ${from}${where.where()}`, params };
  }
}

/**
 * The JSON of the rows `ordered` selects (seq first), read after its ORDER BY … LIMIT rather than
 * carried through it: SQLite's sorter copies every column of every row it sorts, JSON included
 * (~1 KB, often more). Worth it when the sorter holds every row read (home feed: −27 % CPU per query);
 * a walk already newest first only sorts runs of equal created_at, and there the second rowid lookup
 * and the co-routine cost more than they save (bench/README.md "Cheaper REQs"). The subquery runs as
 * a co-routine on the left of a CROSS JOIN, so its rows arrive in its order.
 */
function withJson(ordered: string, mode: 'rows' | 'json'): string {
  const columns = mode === 'rows' ? 's.seq, s.created_at, s.id, j.json' : 'j.json';
  return `SELECT ${columns} FROM (${ordered}) s CROSS JOIN events j ON j.seq = s.seq`;
}

/**
 * NIP-50: the full-text index drives (a filter with `search` reads only rows whose content matches);
 * every other field is checked on those rows. Ordered by relevance — FTS5's bm25 `rank`, best first —
 * then newest first; the limit applies after ranking.
 *
 * Ranking cost is bounded: bm25 is computed only for the newest SEARCH_WINDOW matching events (FTS5
 * walks its index by rowid, newest stored first, and stops there), so a word found in a million notes
 * costs as much as one found in SEARCH_WINDOW. Results are the most relevant among those; count and
 * hll modes see every match. 'rows' mode adds `rank` as a fifth column so several search filters can
 * be merged by relevance.
 */
function buildSearchQuery(filter: CompiledFilter, mode: Mode, now: number): BuiltQuery {
  const from = 'events_fts f CROSS JOIN events e ON e.seq = f.rowid';
  const where = new Conditions();
  where.add('f.events_fts MATCH ?', filter.search!.fts);
  if (filter.ids) where.list('e.id', filter.ids, 'hex');
  if (filter.authors) where.list('e.pubkey', filter.authors, 'hex');
  if (filter.kinds) where.list('e.kind', filter.kinds, 'int');
  if (filter.notKinds) where.notKinds('e.kind', filter.notKinds);
  where.range('e.created_at', filter);
  for (const [name, values] of filter.tags) where.tag(name, values);
  where.add('(e.expires_at IS NULL OR e.expires_at > ?)', now);
  const params = where.params;
  const matches = `SELECT e.seq AS seq, e.created_at AS created_at, e.id AS id, f.rank AS rank FROM ${from}${where.where()} ORDER BY f.rowid DESC ${LIMIT}`;
  const ranked = (limited: boolean): string =>
    `SELECT seq, created_at, id, rank FROM (${matches}) ORDER BY rank, created_at DESC, id${limited ? ` ${LIMIT}` : ''}`;
  switch (mode) {
    case 'rows':
    case 'json': {
      const columns = mode === 'rows' ? 'e.seq, e.created_at, e.id, e.json, w.rank' : 'e.json';
      params.push(SEARCH_WINDOW, filter.limit);
      return {
        // In w's order (see withJson): no second sort carrying the JSON.
        sql: `SELECT ${columns} FROM (${ranked(true)}) w CROSS JOIN events e ON e.seq = w.seq`,
        params,
      };
    }
    case 'stream':
      params.push(SEARCH_WINDOW);
      return {
        sql: `SELECT e.json FROM (${ranked(false)}) w CROSS JOIN events e ON e.seq = w.seq ORDER BY w.rank, w.created_at DESC, w.id`,
        params,
      };
    case 'count':
      return { sql: `SELECT count(*) FROM ${from}${where.where()}`, params };
    case 'seqs':
      return { sql: `SELECT e.seq FROM ${from}${where.where()}`, params };
    case 'pubkeys':
      return { sql: `SELECT DISTINCT e.pubkey FROM ${from}${where.where()}`, params };
  }
}

type Driver = { index: string; tag?: undefined } | { index?: undefined; tag: TagCondition };

function chooseDriver(filter: CompiledFilter): Driver {
  if (filter.ids) return { index: 'events_id' };
  if (filter.authors && filter.kinds && [...filter.kinds].every((kind) => kindClass(kind) !== 'regular')) {
    return { index: 'events_pubkey_kind_created' };
  }
  let best: TagCondition | undefined;
  for (const tag of filter.tags) if (best === undefined || tagRank(tag) < tagRank(best)) best = tag;
  // A broad tag (#t, #g, …) next to authors: the authors' index is usually narrower.
  if (best && (filter.authors === undefined || TAG_PRIORITY[best[0]] !== undefined)) return { tag: best };
  if (filter.authors) return { index: filter.kinds ? 'events_pubkey_kind_created' : 'events_pubkey_created' };
  if (filter.kinds) return { index: 'events_kind_created' };
  return { index: 'events_created' };
}

/** Lower is more selective: e/p/a values name one event or author; then fewer values first. */
const tagRank = ([name, values]: TagCondition): number => (TAG_PRIORITY[name] ?? 3) * 1e6 + values.size;

type ListType = 'hex' | 'int' | 'text';

function listSql(values: ReadonlySet<unknown>, type: ListType): string {
  if (values.size === 1) return '= ?';
  return type === 'hex' ? 'IN (SELECT unhex(value) FROM json_each(?))' : 'IN (SELECT value FROM json_each(?))';
}

function listParams(values: ReadonlySet<string> | ReadonlySet<number>, type: ListType): Param[] {
  if (values.size === 1) {
    const [value] = values as ReadonlySet<string | number>;
    return [type === 'hex' ? Buffer.from(value as string, 'hex') : (value as string | number)];
  }
  return [JSON.stringify([...values])];
}
