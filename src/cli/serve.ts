import type { Argv } from 'yargs';
import { startRelay, type RunningRelay } from '../app.js';
import { createLogger } from '../log.js';
import { recordFilesRead } from '../config/files-read.js';
import { loadConfig } from '../config/load.js';
import { startConfigReloader, type ConfigReloader } from './config-reload.js';
import { configOrExit, withConfigOption } from './options.js';

export const serve = {
  command: ['serve', '$0'],
  describe: 'Run the relay (the default command)',
  builder: (yargs: Argv) =>
    withConfigOption(yargs)
      .option('host', { type: 'string', describe: 'Address to listen on (overrides relay.host)' })
      .option('port', { type: 'number', describe: 'Port to listen on (overrides relay.port)' })
      .option('log-level', { type: 'string', describe: 'trace|debug|info|warn|error|fatal|silent (overrides logging.level)' }),
  handler: async (args: { config: string; db?: string; host?: string; port?: number; logLevel?: string }): Promise<void> => {
    const overrides = { host: args.host, port: args.port, db: args.db, logLevel: args.logLevel };
    const filesRead = new Set<string>();
    const config = recordFilesRead(filesRead, () => configOrExit(args.config, overrides));
    const log = createLogger(config.logging);
    // Signals are handled from the start: one arriving while the relay starts stops it once started;
    // a repeated signal while draining is logged, not fatal (SIGKILL is there for the impatient).
    let started: Promise<RunningRelay | undefined> = Promise.resolve(undefined);
    let stopping = false;
    let reloader: ConfigReloader | undefined;
    const shutdown = (signal: string): void => {
      if (stopping) return void log.info({ signal }, 'already shutting down');
      stopping = true;
      reloader?.close();
      log.info({ signal }, 'shutting down');
      started
        .then((running) => running?.stop())
        .then(
          () => process.exit(0),
          (error: unknown) => {
            log.fatal({ err: error }, 'error during shutdown');
            process.exit(1);
          },
        );
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    // Hot reload (README "Reloading the policy"): the same file, environment and flags as at start.
    process.on('SIGHUP', () => {
      void started.then(() => {
        if (!stopping) void reloader?.reload('SIGHUP');
      });
    });
    started = startRelay(config, { logger: log }).catch((error: unknown) => {
      log.fatal({ err: error }, `could not start: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    });
    const running = await started;
    if (running !== undefined && !stopping) {
      reloader = startConfigReloader(args.config, () => loadConfig(args.config, overrides, process.env), running, log, filesRead);
    }
  },
};
