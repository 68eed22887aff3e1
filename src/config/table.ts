/**
 * THE table of configuration keys, composed from the sections: every key is declared once, in the
 * section of the module that parses it, with its type, default, description and whether a running relay
 * may pick up a new value (hot reload). `Config` is inferred from it (types.ts). The order here is the
 * order of config/relay.yaml.
 */
import { INFO_KEYS, LIMITS_KEYS, AUTH_KEYS, SEARCH_KEYS, NEGENTROPY_KEYS, MANAGEMENT_KEYS } from './nip-keys.js';
import {
  RELAY_KEYS,
  SERVER_KEYS,
  STORAGE_KEYS,
  VERIFY_KEYS,
  QUERY_KEYS,
  LOGGING_KEYS,
  RELOAD_KEYS,
  METRICS_KEYS,
  BACKUP_KEYS,
  CLUSTER_KEYS,
} from './process-keys.js';
import { WRITE_KEYS } from '../policy/config.js';
import { RATE_LIMITS_KEYS } from '../policy/rate-limit.js';
import { READ_KEYS } from '../policy/read.js';
import { MEMBERS_KEYS } from '../policy/membership.js';
import { SCOPES_KEYS } from '../policy/geohash.js';
import { RETENTION_KEYS } from '../retention/rules.js';

export const TABLE = {
  ...RELAY_KEYS,
  ...SERVER_KEYS,
  ...INFO_KEYS,
  ...STORAGE_KEYS,
  ...VERIFY_KEYS,
  ...QUERY_KEYS,
  ...LIMITS_KEYS,
  ...WRITE_KEYS,
  ...AUTH_KEYS,
  ...RATE_LIMITS_KEYS,
  ...READ_KEYS,
  ...MEMBERS_KEYS,
  ...SCOPES_KEYS,
  ...SEARCH_KEYS,
  ...NEGENTROPY_KEYS,
  ...MANAGEMENT_KEYS,
  ...LOGGING_KEYS,
  ...RELOAD_KEYS,
  ...METRICS_KEYS,
  ...BACKUP_KEYS,
  ...CLUSTER_KEYS,
  ...RETENTION_KEYS,
};

/** Dotted key of every row, e.g. 'limits.created_at.max_future_seconds' (`hosts` is not a key: src/config/hosts.ts). */
export type ConfigKey = keyof typeof TABLE;
