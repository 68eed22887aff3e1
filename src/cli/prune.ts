import type { Argv } from 'yargs';
import { deletedIn, runPass, type PruneReport } from '../retention/pruner.js';
import { compileRetention, describeRule } from '../retention/rules.js';
import { unixNow } from '../event/clock.js';
import type { RetentionRule } from '../config/types.js';
import { EventStore } from '../store/store.js';
import type { Config } from '../config/types.js';
import { configOrExit, hostConfigOrExit, withConfigOption, withHostOption } from './options.js';

export const pruneCommand = {
  command: 'prune',
  describe:
    "Apply the retention rules and NIP-40 expiration once (every host's database); --dry-run prints what would be deleted, per rule",
  builder: (yargs: Argv) =>
    withHostOption(withConfigOption(yargs)).option('dry-run', { type: 'boolean', default: false, describe: 'Count only; delete nothing' }),
  handler: (args: { config: string; db?: string; host?: string; dryRun: boolean }): void => {
    const config = configOrExit(args.config, { db: args.db });
    if (args.host !== undefined) return pruneOne(hostConfigOrExit(config, args.host), args.dryRun);
    // The top level, then each host block with its own rules and database, each under a heading.
    const sites: [string, Config][] = [
      ['default relay', config],
      ...config.hosts.map((h): [string, Config] => [`hosts: ${h.names.join(', ')}`, h.config]),
    ];
    for (const [name, site] of sites) {
      if (sites.length > 1) process.stdout.write(`# ${name} (${site.storage.path})\n`);
      pruneOne(site, args.dryRun);
    }
  },
};

function pruneOne(config: Config, dryRun: boolean): void {
  const store = EventStore.open(config.storage.path, { synchronous: config.storage.synchronous });
  try {
    const started = performance.now();
    const report = runPass(store, compileRetention(config.retention), unixNow(), { dryRun });
    process.stdout.write(formatReport(report, config.retention, dryRun, performance.now() - started));
  } finally {
    store.close();
  }
}

function formatReport(report: PruneReport, rules: readonly RetentionRule[], dryRun: boolean, ms: number): string {
  const verb = dryRun ? 'would delete' : 'deleted';
  const lines = [`expired (NIP-40 expiration, ephemeral keep): ${verb} ${report.expired}`];
  if (rules.length === 0) lines.push('no retention rules: every other event is kept');
  rules.forEach((rule, i) => {
    const counts = report.rules[i]!;
    const causes = (['max_age', 'max_per_pubkey', 'max_total'] as const)
      .filter((cause) => counts[cause] > 0)
      .map((cause) => `${cause} ${counts[cause]}`);
    const total = counts.max_age + counts.max_per_pubkey + counts.max_total;
    lines.push(`retention[${i}] ${describeRule(rule)}: ${verb} ${total}${causes.length > 1 ? ` (${causes.join(', ')})` : ''}`);
  });
  lines.push(`total: ${verb} ${deletedIn(report)} events in ${Math.round(ms)} ms`);
  return `${lines.join('\n')}\n`;
}
