#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { checkConfig } from './cli/check-config.js';
import { exportCommand } from './cli/export.js';
import { importCommand } from './cli/import.js';
import { serve } from './cli/serve.js';

await yargs(hideBin(process.argv))
  .scriptName('commons')
  .command(serve)
  .command(checkConfig)
  .command(importCommand)
  .command(exportCommand)
  .strict()
  .help()
  .alias('help', 'h')
  .version()
  .parseAsync();
