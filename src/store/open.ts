import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import Database from './sqlite.js';

export interface OpenOptions {
  /**
   * FULL: every commit is fsynced, so an `OK true` survives power loss.
   * NORMAL: in WAL mode a commit survives a crash of the process but the last commits may roll
   * back after an OS crash or power loss; fewer fsyncs, faster writes.
   */
  synchronous: 'full' | 'normal';
  /** SQLite's page cache of this connection in KiB (readCacheKiB); absent = READ_CACHE_MAX_KIB. */
  cacheKiB?: number;
}

/** The page cache of one connection that reads (the relay's own, a query reader's) at most, in KiB. */
export const READ_CACHE_MAX_KIB = 64 * 1024;
const READ_CACHE_MIN_KIB = 8 * 1024;
/** What one database file's read connections share: with one thread and one reader, 64 MiB each, as before threads. */
const READ_CACHE_BUDGET_KIB = 2 * READ_CACHE_MAX_KIB;
/** The writer thread's and the pruner's connection: one per file, whatever the thread count. */
const WRITER_CACHE_KIB = 64 * 1024;

/**
 * The page cache of each read connection to one file when `connections` of them are open (one per
 * connection thread, and one per query reader, which the threads share): one budget divided between them, between 8 and
 * 64 MiB each, so that connection threads (server.threads) do not multiply the relay's memory. The pages
 * themselves stay in the OS page cache (and the mmap window), where a miss here finds them.
 */
export function readCacheKiB(connections: number): number {
  return Math.max(READ_CACHE_MIN_KIB, Math.min(READ_CACHE_MAX_KIB, Math.floor(READ_CACHE_BUDGET_KIB / Math.max(1, connections))));
}

/**
 * Opens (creating parent directory and file) a SQLite connection configured for the relay.
 *
 * - `journal_mode=WAL`: readers never block the writer, one fsync per commit at most.
 * - `foreign_keys=OFF`: tag rows are deleted explicitly with their event (cheaper than an FK check
 *   on every tag insert; the only delete path is the store's own).
 * - `temp_store=MEMORY`: ORDER BY temp b-trees stay off disk.
 * - `cache_size` options.cacheKiB (64 MiB with one connection thread, less with more: readCacheKiB),
 *   `mmap_size` 256 MiB: hot indexes stay in memory, reads skip a copy.
 * - `busy_timeout` 5 s: another process (CLI export/prune) may hold the write lock briefly.
 * - `page_size` 8 KiB (new files only; set before WAL mode, which fixes it): tag and FTS index inserts
 *   dirty fewer pages per event (bench/README.md "Write path").
 * - `wal_autocheckpoint` 4096 pages (32 MiB): checkpoints, each a copy back plus an fsync of the
 *   database file, run a quarter as often as SQLite's default; about 20 % less CPU per stored event.
 * - `journal_size_limit` 64 MiB: the WAL file is truncated back after checkpoints.
 */
export function openDatabase(path: string, options: OpenOptions): BetterSqlite3.Database {
  if (path !== ':memory:' && !path.startsWith('file:')) mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('page_size = 8192');
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('foreign_keys = OFF');
  db.pragma('temp_store = MEMORY');
  db.pragma(`cache_size = -${options.cacheKiB ?? READ_CACHE_MAX_KIB}`);
  db.pragma('mmap_size = 268435456');
  db.pragma('busy_timeout = 5000');
  db.pragma('wal_autocheckpoint = 4096');
  db.pragma('journal_size_limit = 67108864');
  return db;
}

/**
 * A second connection that writes to the relay's database from a thread (the writer, the pruner): no
 * mmap window. Its inserts and deletes touch pages all over the indexes, and through mmap every page
 * touched stays counted in the process's RSS (up to the 256 MiB window, on top of the relay connection's
 * own): 238 MB more after 20k events written into a 1M-event file (bench/README.md "Memory"). Its reads go
 * through its own page cache (cache_size) instead, at no measured cost to write speed.
 */
export function openWriterConnection(path: string, options: OpenOptions): BetterSqlite3.Database {
  const db = openDatabase(path, options);
  db.pragma('mmap_size = 0');
  db.pragma(`cache_size = -${WRITER_CACHE_KIB}`);
  return db;
}

/**
 * A READ-ONLY connection to a relay database another connection writes (a query reader thread). WAL lets
 * it read a consistent snapshot per statement while the writer commits; only read-side pragmas are set
 * (journal mode and page size belong to the writer).
 */
export function openReadOnly(path: string, cacheKiB = READ_CACHE_MAX_KIB): BetterSqlite3.Database {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.pragma('temp_store = MEMORY');
  db.pragma(`cache_size = -${cacheKiB}`);
  db.pragma('mmap_size = 268435456');
  db.pragma('busy_timeout = 5000');
  return db;
}
