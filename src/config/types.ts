/**
 * The effective configuration after defaults are applied and validation passed. Inferred from the
 * table (table.ts), where every key is declared once, with its default and description.
 */
import type { Nested } from './rows.js';
import type { TABLE } from './table.js';

export interface Config extends Nested<typeof TABLE> {
  /**
   * Virtual relays (src/config/hosts.ts): each serves the Host header names it lists with its own config
   * (the top level merged with its block) and database. Empty in a host's own config. Not a schema key.
   */
  hosts: readonly VirtualHost[];
}

/** One `hosts:` entry: the names it answers to (lowercase, no port) and its complete config. */
export interface VirtualHost {
  names: readonly string[];
  config: Config;
}

export type Limits = Config['limits'];
export type { LogLevel } from './process-keys.js';
export type { CreatedAtWindow } from '../policy/config.js';
export type { RetentionRule } from '../retention/rules.js';
