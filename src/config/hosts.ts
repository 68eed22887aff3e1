/**
 * Virtual relays by Host header: the `hosts:` list. Each entry names the Host headers it answers to and
 * overrides the top-level config section by section (mappings merge key by key, a key's value — a list,
 * a rule set — replaces the inherited one); load.ts validates the merged result with the same schema.
 * This module holds what is particular to hosts: names, process-wide keys, and the checks across hosts.
 */
import { resolve } from 'node:path';
import { backupFileName } from '../store/backup-files.js';
import { describeValue, type Checked } from './values.js';
import type { ConfigKey } from './schema.js';
import type { Config, VirtualHost } from './types.js';

/** Keys one process has once: one listener, one verifier pool, one negentropy budget, one log, one metrics endpoint. A host block may not set them. */
export function isProcessWide(key: ConfigKey): boolean {
  return (
    key === 'relay.host' ||
    key === 'relay.port' ||
    key === 'relay.trusted_proxies' ||
    key === 'verify.workers' ||
    key === 'verify.implementation' ||
    key.startsWith('server.') ||
    key === 'negentropy.max_total_records' ||
    key.startsWith('logging.') ||
    key.startsWith('metrics.') ||
    key.startsWith('cluster.')
  );
}

export const PROCESS_WIDE_REASON =
  'is process-wide (one listener, one verifier pool, one negentropy budget, one log, one metrics endpoint for every host): set it at the top level';

/**
 * A Host header (or a configured name) as compared: lower case, without the port and a trailing dot.
 * `U4PRU.Relay.Example:443` → `u4pru.relay.example`; `[::1]:7777` → `[::1]`.
 */
export function hostKey(header: string): string {
  let host = header.trim().toLowerCase();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    host = end === -1 ? host : host.slice(0, end + 1);
  } else {
    const colon = host.indexOf(':');
    if (colon !== -1) host = host.slice(0, colon);
  }
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

/** `names:` of one host block: a non-empty list of host names without port, returned lower-cased. */
export function checkHostNames(value: unknown): Checked {
  if (value === undefined || value === null)
    return { ok: false, reason: 'missing: list the Host header names this block serves, e.g. [u4pru.relay.example]' };
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) {
    return { ok: false, reason: `expected a non-empty list of host names, got ${describeValue(value)}` };
  }
  const names: string[] = [];
  for (const [i, name] of list.entries()) {
    const at = Array.isArray(value) ? `[${i}]` : undefined;
    if (typeof name !== 'string' || name.trim() === '')
      return { ok: false, at, reason: `expected a host name, got ${describeValue(name)}` };
    if (/[\s/]/.test(name.trim()))
      return { ok: false, at, reason: `expected a host name (no scheme, path or spaces), got ${describeValue(name)}` };
    if (hostKey(name) !== name.trim().toLowerCase().replace(/\.$/, '')) {
      return { ok: false, at, reason: `give the name without a port (the port is ignored when matching), got ${describeValue(name)}` };
    }
    names.push(hostKey(name));
  }
  return { ok: true, value: names };
}

/** A host block and its position in the file's `hosts:` list (for messages). */
export interface IndexedHost {
  index: number;
  host: VirtualHost;
}

/** Problems across hosts: a name served twice, a database file shared (with another host or the top level). */
export function crossHostProblems(top: Config, hosts: readonly IndexedHost[]): { key: string; reason: string }[] {
  const problems: { key: string; reason: string }[] = [];
  const owner = new Map<string, number>();
  for (const { host, index: i } of hosts) {
    host.names.forEach((name, j) => {
      const first = owner.get(name);
      if (first === undefined) owner.set(name, i);
      else problems.push({ key: `hosts[${i}].names[${j}]`, reason: `"${name}" is already served by hosts[${first}]` });
    });
  }
  const paths = new Map<string, string>([[resolve(top.storage.path), 'the top-level storage.path']]);
  hosts.forEach(({ host, index: i }) => {
    const path = resolve(host.config.storage.path);
    const first = paths.get(path);
    if (first === undefined) paths.set(path, `hosts[${i}].storage.path`);
    else {
      problems.push({
        key: `hosts[${i}].storage.path`,
        reason: `${JSON.stringify(host.config.storage.path)} is also ${first}: every host keeps its own database file; set storage.path in this block`,
      });
    }
  });
  problems.push(...sharedBackupNames(top, hosts));
  return problems;
}

/**
 * Two sites backing up into one directory must give their backups different names: rotation would
 * otherwise count (and remove) one site's backups as the other's. Names come from the database's file
 * name, so data/a/relay.sqlite and data/b/relay.sqlite clash in one backup.dir.
 */
function sharedBackupNames(top: Config, hosts: readonly IndexedHost[]): { key: string; reason: string }[] {
  const problems: { key: string; reason: string }[] = [];
  const sites: [string, Config][] = [
    ['the top level', top],
    ...hosts.map(({ host, index }): [string, Config] => [`hosts[${index}]`, host.config]),
  ];
  const owners = new Map<string, string>();
  for (const [site, config] of sites) {
    if (config.backup.every === null) continue;
    const pattern = backupFileName(config.storage.path, 0).replace(/-\d{8}T\d{6}Z/, '-<time>');
    const where = `${resolve(config.backup.dir)}/${pattern}`;
    const first = owners.get(where);
    if (first === undefined) owners.set(where, site);
    else {
      problems.push({
        key: `${site}.backup.dir`,
        reason: `${first} backs up into ${JSON.stringify(config.backup.dir)} under the same names (${pattern}): set another backup.dir in this block, or give the databases different file names`,
      });
    }
  }
  return problems;
}
