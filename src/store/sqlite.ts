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

// 12 is an optional dependency, so that an install on Node 22+ does not fail where it cannot be compiled.
function load(): typeof BetterSqlite3 {
  try {
    return require(SQLITE_PACKAGE) as typeof BetterSqlite3;
  } catch (error) {
    if (SQLITE_PACKAGE !== 'better-sqlite3' || (error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    throw new Error(
      'better-sqlite3 12 is not installed: on Node 20 npm install compiles it (python3, make and a C++ compiler); install them and run npm rebuild better-sqlite3, or use Node 22 or newer',
    );
  }
}

const Database = load();
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
