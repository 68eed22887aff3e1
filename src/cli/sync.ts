import type { Argv } from 'yargs';
import { compileFilter } from '../filter/compile.js';
import { Remote } from '../sync/remote.js';
import { runSync, type Direction, type SyncReport } from '../sync/run.js';
import { formatCounts } from './import.js';
import { openOfflineIngest } from './offline-ingest.js';
import { siteConfigOrExit, withConfigOption, withHostOption, type CommonArgs } from './options.js';

interface SyncArgs extends CommonArgs {
  host?: string;
  url: string;
  filter: string;
  direction: Direction;
  chunk: number;
  timeout: number;
}

export const syncCommand = {
  command: 'sync <url>',
  describe: 'Reconcile our store with another relay through NIP-77 negentropy (paged REQs where it lacks it)',
  builder: (yargs: Argv) =>
    withHostOption(withConfigOption(yargs))
      .positional('url', { type: 'string', demandOption: true, describe: 'ws:// or wss:// URL of the other relay' })
      .option('filter', { type: 'string', default: '{}', describe: 'NIP-01 filter (JSON) limiting what is synced' })
      .option('direction', {
        choices: ['down', 'up', 'both'] as const,
        default: 'down' as Direction,
        describe: 'down: fetch what we lack; up: send what they lack; both',
      })
      .option('chunk', { type: 'number', default: 500, describe: 'ids per REQ / events per page (at most 500)' })
      .option('timeout', { type: 'number', default: 15, describe: 'seconds to wait for any answer of the other relay' }),
  handler: async (args: SyncArgs): Promise<void> => {
    const config = siteConfigOrExit(args.config, { db: args.db }, args.host);
    let filter: Record<string, unknown>;
    try {
      filter = JSON.parse(args.filter) as Record<string, unknown>;
    } catch {
      return fail('--filter is not valid JSON');
    }
    const compiled = compileFilter(filter, { ...config.limits, max_limit: Number.MAX_SAFE_INTEGER });
    if ('prefix' in compiled) return fail(`--filter: ${compiled.text}`);
    const chunk = Math.max(1, Math.min(500, Math.floor(args.chunk)));

    const { store, deps, close } = openOfflineIngest(config);
    const tty = process.stderr.isTTY;
    let remote: Remote | undefined;
    let report: SyncReport;
    try {
      remote = await Remote.connect(args.url, args.timeout * 1000);
      report = await runSync({
        remote,
        store,
        filter,
        compiled,
        direction: args.direction,
        deps,
        chunk,
        timeoutMs: args.timeout * 1000,
        progress: tty ? (text) => process.stderr.write(`\r\x1b[K${text}`) : () => {},
      });
    } catch (error) {
      return fail((error as Error).message);
    } finally {
      remote?.close();
      await close();
    }
    if (tty) process.stderr.write('\r\x1b[K');
    process.stdout.write(formatReport(report, args.direction));
  },
};

function fail(message: string): void {
  process.stderr.write(`sync: ${message}\n`);
  process.exitCode = 1;
}

function formatReport(report: SyncReport, direction: Direction): string {
  const lines = [
    `method: ${report.method}${report.fallbackReason ? ` (${report.fallbackReason})` : ''}`,
    ...(report.method === 'negentropy' ? [`rounds: ${report.rounds}`, `need: ${report.need}`, `have: ${report.have}`] : []),
  ];
  if (direction !== 'up') {
    lines.push(
      'down:',
      ...formatCounts(report.down)
        .trimEnd()
        .split('\n')
        .map((line) => `  ${line}`),
    );
    if (report.down.missing > 0) lines.push(`  not sent by the remote: ${report.down.missing}`);
    if (report.crowdedSeconds > 0)
      lines.push(`  seconds with more events than a page (some may be missed; raise --chunk): ${report.crowdedSeconds}`);
  }
  if (direction !== 'down') {
    const rejected = [...report.up.rejected.values()].reduce((a, b) => a + b, 0);
    lines.push('up:', `  accepted: ${report.up.accepted}`, `  duplicate: ${report.up.duplicate}`, `  rejected: ${rejected}`);
    for (const [reason, n] of [...report.up.rejected.entries()].sort((a, b) => b[1] - a[1])) lines.push(`    ${n}  ${reason}`);
  }
  return `${lines.join('\n')}\n`;
}
