/**
 * backupDatabase (src/store/backup.ts) on real SQLite files: the copy is the database as it was when the
 * backup began, even when another connection commits between every two steps; it is one checked file;
 * bad sources and cancelled copies leave nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { serialize } from '../../src/event/validate.js';
import { BackupError, backupDatabase } from '../../src/store/backup.js';
import { EventStore } from '../../src/store/index.js';
import Database from '../../src/store/sqlite.js';

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const note = (i: number): NostrEvent => ({
  id: hex(32),
  pubkey: hex(32),
  created_at: 1_700_000_000 + i,
  kind: 1,
  tags: [['t', 'backup']],
  content: 'x'.repeat(400),
  sig: hex(64),
});
const write = (store: EventStore, events: NostrEvent[]): void => {
  store.writeBatch(events.map((event) => ({ event, json: serialize(event) })));
};

let dir: string;
let source: string;
let relay: EventStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'commons-backup-'));
  source = join(dir, 'relay.sqlite');
  relay = EventStore.open(source, { synchronous: 'normal' });
  write(
    relay,
    Array.from({ length: 2000 }, (_, i) => note(i)),
  );
});

afterEach(() => {
  relay.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('backupDatabase', () => {
  it('copies the snapshot of its start while another connection commits between every two steps', async () => {
    const copy = join(dir, 'copy.sqlite');
    let steps = 0;
    let written = 0;
    const result = await backupDatabase(source, copy, {
      pagesPerStep: 5,
      // Each step sees a commit of the relay's connection made since the last one. Without one read
      // transaction over the whole copy, each such commit restarts the copy from page one: it never ends.
      onProgress: () => {
        steps++;
        write(relay, [note(10_000 + written++)]);
      },
      cancelled: () => steps > 2000,
    });
    expect(written).toBeGreaterThan(10);
    expect(result.events).toBe(2000);
    const db = new Database(copy, { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.prepare('SELECT count(*) FROM events').pluck().get()).toBe(2000);
      // One self-contained file: no WAL to carry along.
      expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
    } finally {
      db.close();
    }
    expect(relay.stats().events).toBe(2000 + written);
    expect(readdirSync(dir).filter((name) => name.startsWith('copy'))).toEqual(['copy.sqlite']);
  });

  it('a relay opened on the copy serves every event', async () => {
    const copy = join(dir, 'restored', 'relay.sqlite');
    await backupDatabase(source, copy);
    const restored = EventStore.open(copy, { synchronous: 'normal' });
    try {
      expect(restored.stats().events).toBe(2000);
      expect([...restored.iterate()].length).toBe(2000);
    } finally {
      restored.close();
    }
  });

  it('replaces an existing file, and the journal files beside it', async () => {
    const copy = join(dir, 'copy.sqlite');
    writeFileSync(copy, 'old');
    writeFileSync(`${copy}-wal`, 'a stale WAL of the file replaced');
    await backupDatabase(source, copy);
    expect(existsSync(`${copy}-wal`)).toBe(false);
    const db = new Database(copy, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM events').pluck().get()).toBe(2000);
    db.close();
  });

  it('refuses a missing source, a file that is not a relay database, and the database itself as destination', async () => {
    const copy = join(dir, 'copy.sqlite');
    await expect(backupDatabase(join(dir, 'missing.sqlite'), copy)).rejects.toThrow(
      new BackupError(`${join(dir, 'missing.sqlite')}: no such database file`),
    );
    const other = join(dir, 'other.sqlite');
    new Database(other).exec('CREATE TABLE t (x)').close();
    await expect(backupDatabase(other, copy)).rejects.toThrow(/other\.sqlite: not a relay database \(no such table: events\)/);
    await expect(backupDatabase(source, source)).rejects.toThrow(/is the database itself/);
    expect(existsSync(copy)).toBe(false);
    expect(readdirSync(dir).some((name) => name.includes('partial'))).toBe(false);
  });

  it('a cancelled backup leaves no file behind', async () => {
    const copy = join(dir, 'copy.sqlite');
    let steps = 0;
    await expect(
      backupDatabase(source, copy, { pagesPerStep: 5, onProgress: () => void steps++, cancelled: () => steps >= 3 }),
    ).rejects.toThrow('backup cancelled');
    expect(readdirSync(dir).filter((name) => name.startsWith('copy'))).toEqual([]);
  });
});
