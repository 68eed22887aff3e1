/** src/store/open.ts: the page cache each connection gets (read connections share one budget per file). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, openReadOnly, openWriterConnection, readCacheKiB } from '../../src/store/open.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const freshPath = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'commons-open-'));
  dirs.push(dir);
  return join(dir, 'relay.sqlite');
};
const cacheKiB = (db: { pragma(source: string, options: { simple: true }): unknown }): number =>
  -(db.pragma('cache_size', { simple: true }) as number);

describe('readCacheKiB', () => {
  it('gives 64 MiB each to one thread and its reader, and divides the budget between more, 8 MiB at least', () => {
    expect(readCacheKiB(1)).toBe(65536); // one thread, query.readers 0
    expect(readCacheKiB(2)).toBe(65536); // one thread, one reader: as before threads
    expect(readCacheKiB(4)).toBe(32768); // two threads, one reader each
    expect(readCacheKiB(8)).toBe(16384);
    expect(readCacheKiB(16)).toBe(8192); // eight threads
    expect(readCacheKiB(48)).toBe(8192);
    expect(readCacheKiB(0)).toBe(65536);
  });
});

describe('connections', () => {
  it('the relay connection and a reader take the size given; the writer keeps its own 64 MiB and no mmap window', () => {
    const path = freshPath();
    const relay = openDatabase(path, { synchronous: 'full', cacheKiB: 16384 });
    const reader = openReadOnly(path, 8192);
    const writer = openWriterConnection(path, { synchronous: 'full', cacheKiB: 16384 });
    const defaults = openReadOnly(path);
    try {
      expect(cacheKiB(relay)).toBe(16384);
      expect(cacheKiB(reader)).toBe(8192);
      expect(cacheKiB(writer)).toBe(65536);
      expect(writer.pragma('mmap_size', { simple: true })).toBe(0);
      expect(cacheKiB(defaults)).toBe(65536);
    } finally {
      for (const db of [relay, reader, writer, defaults]) db.close();
    }
  });
});
