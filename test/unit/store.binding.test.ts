/**
 * The SQLite binding suits this Node (src/store/sqlite.ts): statements and connections that are
 * garbage-collected, on the main thread and in a worker thread that ends, do not abort the process.
 * better-sqlite3 12 aborts here on Node 24 (an assertion in node::RemoveEnvironmentCleanupHook).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import Database, { SQLITE_PACKAGE } from '../../src/store/sqlite.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('the SQLite binding', () => {
  it('is better-sqlite3 13 on Node 22 and newer, 12 on Node 20', () => {
    const major = Number(process.versions.node.split('.')[0]);
    expect(SQLITE_PACKAGE).toBe(major >= 22 ? 'better-sqlite3-napi' : 'better-sqlite3');
  });

  it('survives garbage collection of statements and connections no longer referenced', () => {
    for (let round = 0; round < 5; round++) {
      let db: InstanceType<typeof Database> | undefined = new Database(':memory:');
      for (let i = 0; i < 200; i++) db.prepare(`SELECT ${i} AS n`).get();
      db = undefined;
      gc();
    }
    const db = new Database(':memory:');
    expect(db.prepare('SELECT 1 AS n').get()).toEqual({ n: 1 });
    db.close();
  });

  it('survives a worker thread that prepared statements and ended', async () => {
    const source = `
      const { createRequire } = require('node:module');
      const Database = createRequire(${JSON.stringify(import.meta.url)})(${JSON.stringify(SQLITE_PACKAGE)});
      const db = new Database(':memory:');
      for (let i = 0; i < 200; i++) db.prepare('SELECT ' + i).get();
      require('node:worker_threads').parentPort.postMessage('done');`;
    for (let round = 0; round < 3; round++) {
      const worker = new Worker(source, { eval: true });
      const [message, exitCode] = await Promise.all([
        new Promise((resolve) => worker.once('message', resolve)),
        new Promise((resolve) => worker.once('exit', resolve)),
      ]);
      expect([message, exitCode]).toEqual(['done', 0]);
    }
    gc();
  });
});
