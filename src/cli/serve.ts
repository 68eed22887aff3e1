import type { Argv } from 'yargs';
import { startRelay } from '../app.js';
import { createLogger } from '../log.js';
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
    const config = configOrExit(args.config, { host: args.host, port: args.port, db: args.db, logLevel: args.logLevel });
    const log = createLogger(config.logging);
    let running;
    try {
      running = await startRelay(config, { logger: log });
    } catch (error) {
      log.fatal({ err: error }, `could not start: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    }
    const shutdown = (signal: string): void => {
      log.info({ signal }, 'shutting down');
      running.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          log.fatal({ err: error }, 'error during shutdown');
          process.exit(1);
        },
      );
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  },
};
