/**
 * Names of periodic backups and their rotation. A backup of `data/relay.sqlite` taken at 12:00:00 UTC on
 * 31 January 2027 is `relay-20270131T120000Z.sqlite`: the database's name, then the time in ISO 8601 basic
 * format, so names sort by time and say which database they copy. Rotation only ever touches names of
 * exactly that shape: a file copied there by hand, another database's backups or a `.partial` file under
 * way are left alone.
 */
import { readdir, rm } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';

export interface BackupFile {
  name: string;
  /** When it was taken (from its name), in ms since the epoch. */
  atMs: number;
}

const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** `relay-20270131T120000Z.sqlite` for `…/relay.sqlite` at that time (UTC, whole seconds). */
export function backupFileName(database: string, atMs: number): string {
  const { stem, extension } = parts(database);
  const stamp = new Date(atMs)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
  return `${stem}-${stamp}${extension}`;
}

/** When the backup `name` of `database` was taken; undefined for any other name. */
export function backupTime(name: string, database: string): number | undefined {
  const { stem, extension } = parts(database);
  if (!name.startsWith(`${stem}-`) || !name.endsWith(extension)) return undefined;
  const match = STAMP.exec(name.slice(stem.length + 1, name.length - extension.length));
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const atMs = Date.UTC(year, month - 1, day, hour, minute, second);
  // 20270231 is no date: Date.UTC would roll it over into March.
  return backupFileName(database, atMs) === name ? atMs : undefined;
}

/** The backups of `database` among `names`, newest first. */
export function backupsAmong(names: readonly string[], database: string): BackupFile[] {
  const found: BackupFile[] = [];
  for (const name of names) {
    const atMs = backupTime(name, database);
    if (atMs !== undefined) found.push({ name, atMs });
  }
  return found.sort((a, b) => b.atMs - a.atMs);
}

/** Which of `names` rotation removes: every backup of `database` but the newest `keep`. */
export function backupsToRemove(names: readonly string[], database: string, keep: number): string[] {
  return backupsAmong(names, database)
    .slice(keep)
    .map((file) => file.name);
}

/** The backups of `database` in `dir`, newest first; none when the directory does not exist yet. */
export async function listBackups(dir: string, database: string): Promise<BackupFile[]> {
  try {
    return backupsAmong(await readdir(dir), database);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Removes every backup of `database` in `dir` but the newest `keep`; returns the names removed. */
export async function rotateBackups(dir: string, database: string, keep: number): Promise<string[]> {
  const names = await readdir(dir);
  const removed = backupsToRemove(names, database, keep);
  for (const name of removed) await rm(join(dir, name), { force: true });
  return removed;
}

/** `relay` and `.sqlite` of `data/relay.sqlite`; a database without an extension gets `.sqlite` backups. */
function parts(database: string): { stem: string; extension: string } {
  const name = basename(database);
  const extension = extname(name);
  return extension === '' ? { stem: name, extension: '.sqlite' } : { stem: name.slice(0, -extension.length), extension };
}
