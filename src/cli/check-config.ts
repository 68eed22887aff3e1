import type { Argv } from 'yargs';
import { stringify } from 'yaml';
import { configOrExit } from './options.js';

export const checkConfig = {
  command: 'check-config <file>',
  describe: 'Validate a config file (and each hosts: block): print the effective config, or every error with its key, and exit non-zero',
  builder: (yargs: Argv) => yargs.positional('file', { type: 'string', demandOption: true, describe: 'YAML config file' }),
  handler: (args: { file: string }): void => {
    const config = configOrExit(args.file, {});
    process.stdout.write(`# ${args.file} is valid; effective config (defaults filled in, environment applied):\n`);
    for (const [i, host] of config.hosts.entries()) {
      process.stdout.write(`# hosts[${i}]: Host ${host.names.join(', ')} → ${host.config.storage.path}\n`);
    }
    if (config.hosts.length > 0) process.stdout.write(`# any other Host → the top level → ${config.storage.path}\n`);
    process.stdout.write(stringify(config));
  },
};
