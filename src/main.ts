#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { backupCommand } from './cli/backup.js';
import { clusterCommand } from './cli/cluster.js';
import { checkConfig } from './cli/check-config.js';
import { exportCommand } from './cli/export.js';
import { explainCommand } from './cli/explain.js';
import { importCommand } from './cli/import.js';
import { pruneCommand } from './cli/prune.js';
import { serve } from './cli/serve.js';
import { syncCommand } from './cli/sync.js';
import { chooseServer } from './server/choose.js';
import { sqliteDescription } from './store/sqlite.js';
import { VERSION } from './version.js';

await yargs(hideBin(process.argv))
  .scriptName('commons')
  .command(serve)
  .command(checkConfig)
  .command(importCommand)
  .command(exportCommand)
  .command(syncCommand)
  .command(explainCommand)
  .command(pruneCommand)
  .command(backupCommand)
  .command(clusterCommand)
  .strict()
  .help()
  .alias('help', 'h')
  .version(false)
  .option('version', { type: 'boolean', describe: 'Show the version and which WebSocket server runs on this machine, and why' })
  .middleware((args) => {
    if (!args.version) return;
    console.log(`commons ${VERSION}\n${chooseServer('auto').description}\nsqlite: ${sqliteDescription()}`);
    process.exit(0);
  }, true)
  .parseAsync();
