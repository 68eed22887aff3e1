/**
 * An online copy of a relay database with SQLite's backup API, from a connection of its own: the relay
 * keeps running and writing (WAL lets a reader and the writer work at once).
 *
 * The copy holds ONE read transaction open from the first page to the last. Without it each backup step
 * takes a fresh snapshot, and a commit by the relay between two steps restarts the copy from page one: on
 * a relay that commits every few milliseconds a stepwise backup never ends. With it every step reads the
 * same snapshot, so the copy is exactly the database as it was when the backup began, and the events
 * counted in that snapshot are the number the copy must hold. (The WAL cannot be checkpointed past that
 * snapshot meanwhile; it grows for the length of the backup and is truncated at the next checkpoint.)
 *
 * The copy is written to `<destination>.partial`, checked (integrity_check, event count), switched to
 * journal_mode=DELETE (one self-contained file; a relay started on it turns WAL back on), then renamed.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import Database from './sqlite.js';

export interface BackupProgress {
  totalPages: number;
  remainingPages: number;
}

export interface BackupOptions {
  /** Called after each step. */
  onProgress?: (progress: BackupProgress) => void;
  /** Pages copied per step (the copy yields to the event loop between steps); default 1000 (8 MB). */
  pagesPerStep?: number;
  /** Called once the copy is complete, before it is checked (the check reads the whole copy once more). */
  onChecking?: () => void;
  /** Checked between steps: true = give up (the partial file is removed, the promise rejects). */
  cancelled?: () => boolean;
}

export interface BackupResult {
  /** The checked copy. */
  path: string;
  /** Events in the copy: equal to the events in the source when the backup began. */
  events: number;
  pages: number;
  bytes: number;
  ms: number;
}

/** A backup that could not be made or did not pass its check; the message says which and why. */
export class BackupError extends Error {
  override readonly name = 'BackupError';
}

const DEFAULT_PAGES_PER_STEP = 1000;
const SIDE_FILES = ['-journal', '-wal', '-shm'] as const;

/** Suffix of the file a backup is written to before it is checked and renamed. */
export const PARTIAL_SUFFIX = '.partial';

/** Copies the relay database `source` to `destination` (replaced if it exists), checks the copy, and says what it holds. */
export async function backupDatabase(source: string, destination: string, options: BackupOptions = {}): Promise<BackupResult> {
  const started = performance.now();
  if (!existsSync(source)) throw new BackupError(`${source}: no such database file`);
  if (resolve(source) === resolve(destination)) throw new BackupError(`${destination} is the database itself: choose another file`);
  const db = openSource(source);
  const partial = `${destination}${PARTIAL_SUFFIX}`;
  try {
    db.exec('BEGIN');
    // The first read opens the snapshot every step of the copy reads from.
    const events = countEvents(db, source);
    mkdirSync(dirname(destination), { recursive: true });
    removeFiles(partial);
    const pagesPerStep = options.pagesPerStep ?? DEFAULT_PAGES_PER_STEP;
    const copied = await db.backup(partial, {
      progress: (progress) => {
        if (options.cancelled?.()) throw new BackupError('backup cancelled');
        options.onProgress?.(progress);
        return pagesPerStep;
      },
    });
    db.exec('COMMIT');
    options.onProgress?.({ totalPages: copied.totalPages, remainingPages: 0 });
    options.onChecking?.();
    checkCopy(partial, events);
    // A journal or WAL left beside a file this one replaces would be read as this file's own.
    for (const suffix of SIDE_FILES) rmSync(`${destination}${suffix}`, { force: true });
    renameSync(partial, destination);
    syncDirectory(dirname(destination));
    return { path: destination, events, pages: copied.totalPages, bytes: statSync(destination).size, ms: performance.now() - started };
  } catch (error) {
    removeFiles(partial);
    throw error;
  } finally {
    db.close();
  }
}

/**
 * Read-only, with no mmap window and a small page cache: a copy reads every page once, and pages read
 * through mmap would stay counted in the relay's RSS (the periodic backup runs in the relay's process).
 */
function openSource(path: string): BetterSqlite3.Database {
  let db: BetterSqlite3.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new BackupError(`${path}: cannot open: ${(error as Error).message}`);
  }
  db.pragma('mmap_size = 0');
  db.pragma('cache_size = -8192');
  db.pragma('busy_timeout = 5000');
  return db;
}

function countEvents(db: BetterSqlite3.Database, path: string): number {
  try {
    return db.prepare<[], number>('SELECT count(*) FROM events').pluck().get()!;
  } catch (error) {
    throw new BackupError(`${path}: not a relay database (${(error as Error).message})`);
  }
}

/** integrity_check must say ok and the copy must hold `events` events; then the copy becomes a single file. */
function checkCopy(path: string, events: number): void {
  const copy = new Database(path, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
    const problems = copy.pragma('integrity_check', { simple: false }) as { integrity_check: string }[];
    const report = problems.map((row) => row.integrity_check);
    if (report.length !== 1 || report[0] !== 'ok') {
      throw new BackupError(`the copy failed integrity_check: ${report.slice(0, 5).join('; ')}${report.length > 5 ? ' …' : ''}`);
    }
    const copied = countEvents(copy, path);
    if (copied !== events) throw new BackupError(`the copy holds ${copied} events, the database held ${events} when the backup began`);
  } finally {
    copy.close();
  }
}

/** The file and what SQLite may have left beside it. */
function removeFiles(path: string): void {
  for (const suffix of ['', ...SIDE_FILES]) rmSync(`${path}${suffix}`, { force: true });
}

/** The rename is durable once the directory entry is on disk. */
function syncDirectory(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
