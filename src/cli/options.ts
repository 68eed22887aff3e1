import type { Argv } from 'yargs';
import { ConfigError, loadConfig, type ConfigOverrides } from '../config/load.js';
import { hostKey } from '../config/hosts.js';
import type { Config } from '../config/types.js';

const DEFAULT_CONFIG_FILE = 'config/relay.yaml';

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

/** `--host NAME` of prune and explain: a name of a `hosts:` block (case and port ignored). */
export function withHostOption<T>(yargs: Argv<T>): Argv<T & { host?: string }> {
  return yargs.option('host', {
    type: 'string',
    describe: 'Virtual host: use the hosts: block that lists this name (default: the top-level relay)',
  }) as Argv<T & { host?: string }>;
}

/** configOrExit, then the `--host` block's config when a name is given. */
export function siteConfigOrExit(file: string, overrides: ConfigOverrides, host: string | undefined): Config {
  const config = configOrExit(file, overrides);
  return host === undefined ? config : hostConfigOrExit(config, host);
}

/**
 * The config of the host block naming `name`; exits with status 2 when no block does — unlike the server,
 * which serves an unknown Host header from the top level, a typo here must not silently use another policy.
 */
export function hostConfigOrExit(config: Config, name: string): Config {
  const key = hostKey(name);
  const host = config.hosts.find((h) => h.names.includes(key));
  if (host !== undefined) return host.config;
  const known = config.hosts.flatMap((h) => h.names);
  process.stderr.write(
    `--host ${name}: no hosts: block lists this name (${known.length > 0 ? `known: ${known.join(', ')}` : 'the config has no hosts: section'})\n`,
  );
  process.exit(2);
}
