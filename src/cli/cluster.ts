import type { Argv } from 'yargs';
import { readClusterStatus, type ClusterStatus } from '../cluster/status.js';
import { configOrExit, withConfigOption } from './options.js';

interface StatusArgs {
  config: string;
  json: boolean;
  wait: number;
}

export const clusterCommand = {
  command: 'cluster <action>',
  describe: 'Cluster mode: `cluster status` prints the stream, each node’s position and lag, its outbox and its last error',
  builder: (yargs: Argv) =>
    withConfigOption(yargs)
      .positional('action', { choices: ['status'] as const, demandOption: true, describe: 'What to do' })
      .option('json', { type: 'boolean', default: false, describe: 'Print JSON instead of a table' })
      .option('wait', { type: 'number', default: 1000, describe: 'Milliseconds to wait for the nodes to answer' }),
  handler: async (args: StatusArgs): Promise<void> => {
    const config = configOrExit(args.config, {});
    let status: ClusterStatus;
    try {
      status = await readClusterStatus(config.cluster, args.wait);
    } catch (error) {
      process.stderr.write(`cluster status: ${(error as Error).message} (cluster.servers: ${config.cluster.servers.join(', ')})\n`);
      process.exit(1);
    }
    process.stdout.write(args.json ? `${JSON.stringify(status, null, 2)}\n` : table(status));
  },
};

function table({ stream, consumers, nodes }: ClusterStatus): string {
  const lines = [
    `stream ${stream.name}: ${stream.messages} messages (sequence ${stream.firstSeq}–${stream.lastSeq}), ${(stream.bytes / 1e6).toFixed(1)} MB`,
  ];
  const rows = [['consumer', 'applied', 'lag', 'outbox', 'answered', 'last error']];
  for (const consumer of consumers) {
    const [node, site = 'default'] = consumer.name.split('__');
    const status = nodes.find((candidate) => candidate.node === node);
    const own = status?.sites.find((candidate) => candidate.site === site);
    const error = status?.lastError ? `${new Date(status.lastError.at).toISOString()} ${status.lastError.message}` : '-';
    rows.push([consumer.name, String(consumer.acked), String(consumer.lag), own ? String(own.outbox) : '?', status ? 'yes' : 'no', error]);
  }
  for (const status of nodes) {
    if (!consumers.some((consumer) => consumer.name.split('__')[0] === status.node)) {
      rows.push([status.node, '-', '-', String(status.sites.reduce((sum, site) => sum + site.outbox, 0)), 'yes', 'no consumer yet']);
    }
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows)
    lines.push(
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    );
  return `${lines.join('\n')}\n`;
}
