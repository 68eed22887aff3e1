/**
 * Hot reload, the config side: which keys a new config changes, and the config a running relay can
 * take — the new value of every changed reloadable key, the running value of every restart-only one.
 * Generic: it walks the schema table, so a key added there is covered without touching this file.
 */
import { isDeepStrictEqual } from 'node:util';
import { assemble } from './load.js';
import { RULES, SCHEMA, type ConfigKey } from './schema.js';
import type { Config } from './types.js';

export interface ReloadPlan {
  /** The config to run with: `next` for reloadable keys, `current` for restart-only ones. */
  readonly config: Config;
  /** Changed keys that take effect now. */
  readonly applied: readonly string[];
  /** Changed keys that keep their running value until the relay restarts. */
  readonly restartRequired: readonly string[];
  /**
   * Cross-key rules the merged config breaks (a reloadable key that needs a restart-only one changed
   * too, e.g. read.private without the running auth.enabled); non-empty = refuse the reload.
   */
  readonly conflicts: readonly { key: string; reason: string }[];
}

/** The value `config` holds at a dotted key. */
function valueAt(config: Config, key: ConfigKey): unknown {
  let node: unknown = config;
  for (const part of key.split('.')) node = (node as Record<string, unknown>)[part];
  return node;
}

/** Compares `current` and `next` key by key (schema order) and splits the changes by `reloadable`. */
export function planReload(current: Config, next: Config): ReloadPlan {
  const applied: ConfigKey[] = [];
  const restartRequired: ConfigKey[] = [];
  const values = new Map<ConfigKey, unknown>();
  for (const spec of SCHEMA) {
    const running = valueAt(current, spec.key);
    const wanted = valueAt(next, spec.key);
    if (isDeepStrictEqual(running, wanted)) {
      values.set(spec.key, running);
    } else if (spec.reloadable) {
      applied.push(spec.key);
      values.set(spec.key, wanted);
    } else {
      restartRequired.push(spec.key);
      values.set(spec.key, running);
    }
  }
  // Nothing changed that may change now: keep the running object (callers compare by identity).
  // Virtual hosts (not schema keys) are reloaded one by one by their sites; the running list stays here.
  const config = applied.length === 0 ? current : assemble(values, current.hosts);
  const conflicts =
    restartRequired.length === 0
      ? []
      : RULES.flatMap((rule) => {
          const reason = rule.check(config);
          return reason === undefined
            ? []
            : [{ key: rule.key, reason: `${reason} (the running value is kept for ${restartRequired.join(', ')} until a restart)` }];
        });
  return { config, applied, restartRequired, conflicts };
}
