import type { Argv } from 'yargs';
import { stringify } from 'yaml';
import { configOrExit } from './options.js';

export const checkConfig = {
  command: 'check-config <file>',
  describe: 'Validate a config file: print the effective config, or every error with its key, and exit non-zero',
  builder: (yargs: Argv) => yargs.positional('file', { type: 'string', demandOption: true, describe: 'YAML config file' }),
  handler: (args: { file: string }): void => {
    const config = configOrExit(args.file, {});
    process.stdout.write(`# ${args.file} is valid; effective config (defaults filled in, environment applied):\n`);
    process.stdout.write(stringify(config));
  },
};
