/** Names of periodic backups, their rotation (src/store/backup-files.ts) and when the next one is due (src/relay/backups.ts). */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nextBackupDelay, RETRY_AFTER_MS } from '../../src/relay/backups.js';
import { backupFileName, backupsToRemove, backupTime, listBackups, rotateBackups } from '../../src/store/backup-files.js';

const DB = './data/relay.sqlite';
const at = (iso: string): number => Date.parse(iso);

describe('backup names', () => {
  it('are the database name and the UTC time in ISO 8601 basic format, whole seconds', () => {
    expect(backupFileName(DB, at('2027-01-31T12:00:00.789Z'))).toBe('relay-20270131T120000Z.sqlite');
    expect(backupFileName('/srv/u4pru.db', at('2027-12-01T03:04:05Z'))).toBe('u4pru-20271201T030405Z.db');
    expect(backupFileName('/srv/relay', at('2027-12-01T03:04:05Z'))).toBe('relay-20271201T030405Z.sqlite');
  });

  it('read back to the time they were taken', () => {
    expect(backupTime('relay-20270131T120000Z.sqlite', DB)).toBe(at('2027-01-31T12:00:00Z'));
    expect(backupTime(backupFileName(DB, at('2031-07-04T23:59:59Z')), DB)).toBe(at('2031-07-04T23:59:59Z'));
  });

  it('match only backups of this database in exactly that shape', () => {
    for (const name of [
      'relay.sqlite',
      'relay-20270131T120000Z.sqlite.partial',
      'relay-20270131T120000Z.sqlite-journal',
      'relay-eu-20270131T120000Z.sqlite',
      'relay-20270131T120000Z.db',
      'relay-20270131T1200Z.sqlite',
      'relay-20270231T120000Z.sqlite',
      'relay-manual.sqlite',
      'other-20270131T120000Z.sqlite',
    ]) {
      expect(backupTime(name, DB), name).toBeUndefined();
    }
  });
});

describe('rotation', () => {
  const names = [
    'relay-20270101T000000Z.sqlite',
    'relay-20270103T000000Z.sqlite',
    'notes.txt',
    'relay-20270102T000000Z.sqlite',
    'relay-eu-20260101T000000Z.sqlite',
    'relay-20261231T000000Z.sqlite.partial',
  ];

  it('removes every backup of the database but the newest `keep`, by the time in the name', () => {
    expect(backupsToRemove(names, DB, 2)).toEqual(['relay-20270101T000000Z.sqlite']);
    expect(backupsToRemove(names, DB, 1)).toEqual(['relay-20270102T000000Z.sqlite', 'relay-20270101T000000Z.sqlite']);
    expect(backupsToRemove(names, DB, 3)).toEqual([]);
    expect(backupsToRemove(names, '/srv/relay-eu.sqlite', 1)).toEqual([]);
  });

  describe('in a directory', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'commons-rotate-'));
      for (const name of names) writeFileSync(join(dir, name), '');
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('deletes those files and leaves every other one', async () => {
      expect(await rotateBackups(dir, DB, 1)).toEqual(['relay-20270102T000000Z.sqlite', 'relay-20270101T000000Z.sqlite']);
      expect(readdirSync(dir).sort()).toEqual([
        'notes.txt',
        'relay-20261231T000000Z.sqlite.partial',
        'relay-20270103T000000Z.sqlite',
        'relay-eu-20260101T000000Z.sqlite',
      ]);
    });

    it('lists the backups newest first, and none for a directory not made yet', async () => {
      expect((await listBackups(dir, DB)).map((file) => file.name)).toEqual([
        'relay-20270103T000000Z.sqlite',
        'relay-20270102T000000Z.sqlite',
        'relay-20270101T000000Z.sqlite',
      ]);
      expect(await listBackups(join(dir, 'not-yet'), DB)).toEqual([]);
    });
  });
});

describe('the next backup', () => {
  const HOUR = 3_600_000;
  const now = at('2027-01-31T12:00:00Z');

  it('is due at once when there is none', () => {
    expect(nextBackupDelay(undefined, undefined, 24 * HOUR, now)).toBe(0);
  });

  it('is due `every` after the newest one, whenever the relay started', () => {
    expect(nextBackupDelay(now - HOUR, undefined, 24 * HOUR, now)).toBe(23 * HOUR);
    expect(nextBackupDelay(now - 25 * HOUR, undefined, 24 * HOUR, now)).toBe(0);
  });

  it('is never further than `every` away (a backup named in the future, a clock set back)', () => {
    expect(nextBackupDelay(now + 100 * HOUR, undefined, 24 * HOUR, now)).toBe(24 * HOUR);
  });

  it('after a failure waits RETRY_AFTER_MS (or `every`, if shorter) instead of retrying at once', () => {
    expect(nextBackupDelay(undefined, now, 24 * HOUR, now)).toBe(RETRY_AFTER_MS);
    expect(nextBackupDelay(now - 48 * HOUR, now - 60_000, 24 * HOUR, now)).toBe(RETRY_AFTER_MS - 60_000);
    expect(nextBackupDelay(undefined, now, 60_000, now)).toBe(60_000);
  });
});
