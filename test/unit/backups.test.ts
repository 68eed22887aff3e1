/**
 * BackupSchedule (src/relay/backups.ts) around a stand-in for the copy: a failure is retried after
 * RETRY_AFTER_MS, not at once; stop() cancels a backup under way and waits for it. The real copy on its
 * thread is covered by test/e2e/backup.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackupSchedule, RETRY_AFTER_MS, type BackupSettings } from '../../src/relay/backups.js';
import { BackupError, type BackupResult } from '../../src/store/backup.js';
import type { BackupUnderWay } from '../../src/store/backup-thread.js';
import { waitFor } from '../helpers/wait.js';

const log = pino({ level: 'silent' });
const NOW = Date.parse('2027-01-31T12:00:00Z');
let dir: string;
let settings: BackupSettings;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'commons-schedule-'));
  settings = { every: 3600, keep: 2, dir };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('BackupSchedule', () => {
  it('after a failed backup the next attempt is due RETRY_AFTER_MS later, not at once', async () => {
    let attempts = 0;
    const failing = (): BackupUnderWay => {
      attempts++;
      return { done: Promise.reject(new BackupError('the copy failed integrity_check: page 7 is never used')), cancel: () => {} };
    };
    const schedule = new BackupSchedule(
      join(dir, 'relay.sqlite'),
      () => settings,
      log,
      () => NOW,
      failing,
    );
    schedule.start();
    await waitFor(() => schedule.dueAtMs !== undefined || attempts > 1, 'the retry scheduled');
    expect(attempts).toBe(1);
    expect(schedule.dueAtMs).toBe(NOW + RETRY_AFTER_MS);
    await schedule.stop();
  });

  it('stop() cancels the backup under way and resolves once it has ended; no backup is scheduled after', async () => {
    let cancelled = false;
    let end: (error: Error) => void = () => {};
    const slow = (): BackupUnderWay => ({
      done: new Promise<BackupResult>((_, reject) => (end = reject)),
      cancel: () => {
        cancelled = true;
        setImmediate(() => end(new BackupError('backup cancelled')));
      },
    });
    const schedule = new BackupSchedule(
      join(dir, 'relay.sqlite'),
      () => settings,
      log,
      () => NOW,
      slow,
    );
    schedule.start();
    const running = schedule.run();
    await schedule.stop();
    expect(cancelled).toBe(true);
    await expect(running).rejects.toThrow('backup cancelled');
    expect(schedule.dueAtMs).toBeUndefined();
  });

  it('does nothing with backup.every null, or for an in-memory database', () => {
    let attempts = 0;
    const counting = (): BackupUnderWay => {
      attempts++;
      return { done: new Promise(() => {}), cancel: () => {} };
    };
    const off = new BackupSchedule(
      join(dir, 'relay.sqlite'),
      () => ({ ...settings, every: null }),
      log,
      () => NOW,
      counting,
    );
    off.start();
    const memory = new BackupSchedule(
      undefined,
      () => settings,
      log,
      () => NOW,
      counting,
    );
    memory.start();
    // Both decide before their first await: nothing to wait for.
    expect(off.dueAtMs).toBeUndefined();
    expect(memory.dueAtMs).toBeUndefined();
    expect(attempts).toBe(0);
  });
});
