/**
 * Periodic backups by the relay itself (`backup:` in the config): a checked copy of the site's database
 * every `backup.every` into `backup.dir`, the newest `backup.keep` kept.
 *
 * When the next one is due follows from the newest backup already in the directory, not from when the
 * relay started: a relay restarted more often than `every` still backs up, and a relay started with no
 * recent backup takes one at once. Each backup runs on a thread of its own (src/store/backup-thread.ts).
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { BackupResult } from '../store/backup.js';
import { backupFileName, listBackups, rotateBackups } from '../store/backup-files.js';
import { backupInThread, type BackupUnderWay } from '../store/backup-thread.js';

export type BackupSettings = Config['backup'];

/** After a failed backup the next attempt waits this long (or `every`, if shorter), not `every`. */
export const RETRY_AFTER_MS = 15 * 60_000;
/** setTimeout's longest delay is 2^31 - 1 ms (24.8 days); a longer wait is taken in pieces. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/**
 * Milliseconds until the next backup: `every` after the newest one (at once when there is none), at
 * least RETRY_AFTER_MS (or `every`) after a failure, never more than `every` from now (a backup named in
 * the future, a clock set back).
 */
export function nextBackupDelay(newestMs: number | undefined, failedMs: number | undefined, everyMs: number, nowMs: number): number {
  let due = newestMs === undefined ? nowMs : newestMs + everyMs;
  if (failedMs !== undefined) due = Math.max(due, failedMs + Math.min(everyMs, RETRY_AFTER_MS));
  return Math.min(Math.max(0, due - nowMs), everyMs);
}

export class BackupSchedule {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<BackupResult> | undefined;
  private underway: BackupUnderWay | undefined;
  private failedMs: number | undefined;
  /** Bumped by stop() and reschedule(): a schedule() still listing the directory then sets no timer. */
  private generation = 0;
  private stopped = false;
  /** When the next backup is due (ms, the relay's clock); undefined = none scheduled. */
  dueAtMs: number | undefined;

  constructor(
    /** The database file; undefined for an in-memory store, which has nothing to back up. */
    private readonly database: string | undefined,
    private readonly settings: () => BackupSettings,
    private readonly log: Logger,
    private readonly nowMs: () => number = Date.now,
    private readonly take: (source: string, destination: string) => BackupUnderWay = backupInThread,
  ) {}

  start(): void {
    void this.schedule();
  }

  /** After a reload changed `backup:`: the next backup is due by the new settings. */
  reschedule(): void {
    this.generation++;
    clearTimeout(this.timer);
    this.dueAtMs = undefined;
    // A backup under way is not taken twice: run() hands the new schedule the same one.
    void this.schedule();
  }

  /** Takes a backup now (or returns the one under way), then rotates: resolves with the checked copy. */
  run(): Promise<BackupResult> {
    this.running ??= this.backup().finally(() => {
      this.running = undefined;
      this.underway = undefined;
    });
    return this.running;
  }

  /** No more backups; one under way is cancelled at its next step. Resolves once its thread is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.generation++;
    clearTimeout(this.timer);
    this.dueAtMs = undefined;
    this.underway?.cancel();
    await this.running?.catch(() => {});
  }

  private async schedule(): Promise<void> {
    const generation = this.generation;
    const { every, dir } = this.settings();
    if (this.stopped || every === null) return;
    const database = this.database;
    if (database === undefined) {
      this.log.warn('backup.every is set, but the database is in memory: there is nothing to back up');
      return;
    }
    let newestMs: number | undefined;
    try {
      newestMs = (await listBackups(dir, database))[0]?.atMs;
    } catch (error) {
      this.log.error({ err: error, dir }, 'cannot list the backup directory');
      this.failedMs = this.nowMs();
    }
    if (generation !== this.generation) return;
    const delay = nextBackupDelay(newestMs, this.failedMs, every * 1000, this.nowMs());
    this.dueAtMs = this.nowMs() + delay;
    if (delay === 0) {
      this.dueAtMs = undefined;
      await this.run().catch(() => {}); // logged in backup()
      if (generation === this.generation) await this.schedule();
      return;
    }
    this.timer = setTimeout(() => void this.schedule(), Math.min(delay, LONGEST_TIMER_MS));
    this.timer.unref();
  }

  private async backup(): Promise<BackupResult> {
    const { dir, keep } = this.settings();
    if (this.database === undefined) throw new Error('the database is in memory: there is nothing to back up');
    const destination = join(dir, backupFileName(this.database, this.nowMs()));
    try {
      this.underway = this.take(this.database, destination);
      const result = await this.underway.done;
      const removed = await rotateBackups(dir, this.database, keep);
      this.failedMs = undefined;
      const { events, bytes } = result;
      this.log.info({ file: destination, events, bytes, ms: Math.round(result.ms), removed }, 'backup taken');
      return result;
    } catch (error) {
      if (!this.stopped) {
        this.failedMs = this.nowMs();
        this.log.error({ err: error, file: destination }, 'backup failed');
      }
      throw error;
    }
  }
}
