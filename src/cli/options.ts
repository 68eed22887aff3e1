import type { Argv } from 'yargs';
import { ConfigError, loadConfig, type ConfigOverrides } from '../config/load.js';
import type { Config } from '../config/types.js';

export const DEFAULT_CONFIG_FILE = 'config/relay.yaml';

export interface CommonArgs {
  config: string;
  db?: string;
}

export function withConfigOption<T>(yargs: Argv<T>): Argv<T & CommonArgs> {
  return yargs
    .option('config', { alias: 'c', type: 'string', default: DEFAULT_CONFIG_FILE, describe: 'YAML config file' })
    .option('db', { type: 'string', describe: 'SQLite database file (overrides storage.path)' }) as Argv<T & CommonArgs>;
}

/** Loads the config or prints every problem (file, key, reason) and exits with status 2. */
export function configOrExit(file: string, overrides: ConfigOverrides): Config {
  try {
    return loadConfig(file, overrides, process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}
