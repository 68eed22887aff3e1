/**
 * better-sqlite3, in the major version that works on this Node: 13 (Node-API, prebuilt binaries) on Node
 * 22 and newer, where 12 aborts the process when a statement is garbage-collected (its ObjectWrap
 * destructor meets Node 24's stricter cleanup hooks); 12 on Node 20, where 13 crashes on load.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

const require = createRequire(import.meta.url);
const nodeMajor = Number(process.versions.node.split('.')[0]);

export const SQLITE_PACKAGE = nodeMajor >= 22 ? 'better-sqlite3-napi' : 'better-sqlite3';

const Database = require(SQLITE_PACKAGE) as typeof BetterSqlite3;
export default Database;

/** "better-sqlite3 13.2.0 (SQLite 3.54.1)", for `commons --version`. */
export function sqliteDescription(): string {
  const { version } = require(`${SQLITE_PACKAGE}/package.json`) as { version: string };
  const db = new Database(':memory:');
  try {
    return `better-sqlite3 ${version} (SQLite ${String(db.prepare('SELECT sqlite_version()').pluck().get())})`;
  } finally {
    db.close();
  }
}
