import { existsSync } from 'node:fs';
import type { Argv } from 'yargs';
import { BackupError, backupDatabase, type BackupProgress, type BackupResult } from '../store/backup.js';
import { siteConfigOrExit, withConfigOption, withHostOption } from './options.js';

interface BackupArgs {
  file: string;
  config: string;
  db?: string;
  host?: string;
  force: boolean;
}

export const backupCommand = {
  command: 'backup <file>',
  describe:
    "Copy the relay's database to FILE while the relay runs (SQLite backup API: a consistent snapshot), then check the copy (integrity_check, event count)",
  builder: (yargs: Argv) =>
    withHostOption(withConfigOption(yargs))
      .positional('file', { type: 'string', demandOption: true, describe: 'The backup file to write' })
      .option('force', { type: 'boolean', default: false, describe: 'Replace FILE if it exists' }),
  handler: async (args: BackupArgs): Promise<void> => {
    const config = siteConfigOrExit(args.config, { db: args.db }, args.host);
    const source = config.storage.path;
    if (source === ':memory:') fail('storage.path is ":memory:": an in-memory database has no file to back up');
    if (existsSync(args.file) && !args.force) fail(`${args.file} exists: choose another name, or --force to replace it`);
    const progress = process.stdout.isTTY ? new ProgressLine() : undefined;
    let result: BackupResult;
    try {
      result = await backupDatabase(source, args.file, {
        onProgress: progress && ((step) => progress.show(step)),
        onChecking: progress && (() => progress.note('checking the copy')),
      });
    } catch (error) {
      progress?.end();
      if (error instanceof BackupError) fail(error.message);
      throw error;
    }
    progress?.end();
    process.stdout.write(`${summary(source, result)}\n`);
  },
};

/** `backup: data/relay.sqlite → relay-copy.sqlite: 12,345 events, 2,700 pages (21.1 MB) in 1.2 s; integrity_check ok` */
function summary(source: string, result: BackupResult): string {
  const mb = (result.bytes / 1e6).toFixed(1);
  const seconds = (result.ms / 1000).toFixed(1);
  const count = (n: number): string => n.toLocaleString('en-US');
  return `backup: ${source} → ${result.path}: ${count(result.events)} events, ${count(result.pages)} pages (${mb} MB) in ${seconds} s; integrity_check ok, event count matches`;
}

/** One line on a terminal, rewritten when the percentage changes. */
class ProgressLine {
  private shown = -1;
  private written = false;

  show({ totalPages, remainingPages }: BackupProgress): void {
    const percent = totalPages === 0 ? 100 : Math.floor(((totalPages - remainingPages) / totalPages) * 100);
    if (percent === this.shown) return;
    this.shown = percent;
    this.written = true;
    process.stdout.write(`\rbackup: ${String(percent).padStart(3)}% of ${totalPages.toLocaleString('en-US')} pages`);
  }

  note(text: string): void {
    if (this.written) process.stdout.write(`, ${text}`);
  }

  end(): void {
    if (this.written) process.stdout.write('\n');
    this.written = false;
  }
}

function fail(message: string): never {
  process.stderr.write(`backup: ${message}\n`);
  process.exit(1);
}
