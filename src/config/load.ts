/**
 * YAML text → validated, deep-frozen `Config`. Every problem is collected (not just the first) and
 * reported with the file (or "environment" / "command line") and the dotted key it concerns.
 *
 * Precedence, lowest first: schema defaults → the file → environment (loadConfig only) → CLI overrides.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { checkValue } from './check.js';
import { describeValue } from './values.js';
import { RULES, SCHEMA, specFor, type ConfigKey, type KeySpec } from './schema.js';
import { checkHostNames, crossHostProblems, isProcessWide, PROCESS_WIDE_REASON, type IndexedHost } from './hosts.js';
import type { Config, VirtualHost } from './types.js';
import { isMapping, walk } from './walk.js';

export interface ConfigProblem {
  /** The config file's name as given, or "environment", or "command line". */
  file: string;
  /** Dotted key (limits.max_limit), environment variable, CLI flag, or "line L, column C"; '' = the whole file. */
  key: string;
  reason: string;
}

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** `${file}: ${key}: ${reason}` (the key part is left out when empty). */
export function formatProblem({ file, key, reason }: ConfigProblem): string {
  return key === '' ? `${file}: ${reason}` : `${file}: ${key}: ${reason}`;
}

/** Values given on the command line; validated like the file's values, and they win over everything. */
export interface ConfigOverrides {
  host?: string;
  port?: number;
  db?: string;
  logLevel?: string;
}

const OVERRIDES: { readonly [K in keyof Required<ConfigOverrides>]: { key: ConfigKey; flag: string } } = {
  host: { key: 'relay.host', flag: '--host' },
  port: { key: 'relay.port', flag: '--port' },
  db: { key: 'storage.path', flag: '--db' },
  logLevel: { key: 'logging.level', flag: '--log-level' },
};

/** One value from outside the file: an environment variable or a CLI flag. */
interface Setting {
  file: string;
  label: string;
  key: ConfigKey;
  value: unknown;
}

export function defaultConfig(): Config {
  return assemble(new Map(SCHEMA.map((spec) => [spec.key, spec.default])), []);
}

/** Parses and validates config text; `file` is only used in messages. Throws ConfigError listing every problem. */
export function parseConfig(yamlText: string, file: string, overrides?: ConfigOverrides): Config {
  return build(yamlText, file, overrideSettings(overrides));
}

/**
 * Reads and validates a config file, then applies COMMONS_HOST / COMMONS_PORT / COMMONS_DB from `env`
 * (empty variables are ignored) and finally `overrides`.
 */
export function loadConfig(file: string, overrides?: ConfigOverrides, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'file not found'
        : code === 'EISDIR'
          ? 'is a directory, not a file'
          : `cannot read the file (${code ?? String(err)})`;
    throw new ConfigError([{ file, key: '', reason }]);
  }
  return build(text, file, [...envSettings(env), ...overrideSettings(overrides)]);
}

// --- internals -------------------------------------------------------------------------------------

function build(yamlText: string, file: string, settings: readonly Setting[]): Config {
  const problems: ConfigProblem[] = [];
  const top = new Values(file, '', problems);
  let hostsNode: unknown;

  const lines = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const at = lines.linePos(error.pos[0]);
      problems.push({ file, key: `line ${at.line}, column ${at.col}`, reason: error.message });
    }
  } else {
    let root: unknown;
    try {
      root = doc.toJS();
    } catch (err) {
      // e.g. too many alias expansions
      problems.push({ file, key: '', reason: (err as Error).message });
    }
    if (root === null || root === undefined) {
      // empty file or only comments: all defaults
    } else if (isMapping(root)) {
      const { hosts, ...sections } = root;
      hostsNode = hosts;
      walk(
        sections,
        '',
        (spec, value, path) => top.set(spec, value, file, path),
        (key, reason) => problems.push({ file, key, reason }),
      );
    } else {
      problems.push({
        file,
        key: '',
        reason: `the top level must be a mapping of sections (relay:, limits:, …), got ${describeValue(root)}`,
      });
    }
  }

  for (const setting of settings) top.set(specFor(setting.key)!, setting.value, setting.file, setting.label);
  top.checkRules();
  const hosts = hostsNode === undefined || hostsNode === null ? [] : buildHosts(hostsNode, top, file, problems);

  const config = assemble(
    top.values,
    hosts.map(({ host }) => host),
  );
  for (const { key, reason } of crossHostProblems(config, hosts)) problems.push({ file, key, reason });
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** The values of one config being built (the top level, or one host block over it), with their problems. */
class Values {
  readonly values: Map<ConfigKey, unknown>;
  private readonly origin = new Map<ConfigKey, string>();
  private readonly bad = new Set<ConfigKey>();

  /** `label` prefixes every key in messages ('' or `hosts[0].`); `base` = inherited values (defaults when absent). */
  constructor(
    private readonly file: string,
    private readonly label: string,
    private readonly problems: ConfigProblem[],
    base?: ReadonlyMap<ConfigKey, unknown>,
  ) {
    this.values = new Map(base ?? SCHEMA.map((spec) => [spec.key, spec.default]));
  }

  set(spec: KeySpec, value: unknown, source: string, label: string): void {
    // Files named in the config file (GeoJSON areas) are found from its directory.
    const context = source === this.file ? { file: this.file, directory: dirname(this.file) } : undefined;
    const checked = checkValue(spec, value, context);
    if (checked.ok) {
      this.values.set(spec.key, checked.value);
      this.origin.set(spec.key, source);
    } else {
      this.problems.push({ file: source, key: `${this.label}${label}${checked.at ?? ''}`, reason: checked.reason });
      this.bad.add(spec.key);
    }
  }

  /** Rules across keys, each checked once its keys are valid on their own. */
  checkRules(): void {
    for (const rule of RULES) {
      if (rule.keys.some((key) => this.bad.has(key))) continue;
      // Over process-wide keys only: checked at the top level, which a host block cannot change.
      if (this.label !== '' && rule.keys.every(isProcessWide)) continue;
      const reason = rule.check(assemble(this.values, []));
      if (reason === undefined) continue;
      const source = this.origin.get(rule.key) ?? rule.keys.map((key) => this.origin.get(key)).find((s) => s !== undefined) ?? this.file;
      this.problems.push({ file: source, key: `${this.label}${rule.key}`, reason });
    }
  }
}

/** `hosts:` — each block over the finished top-level values, validated with the same schema and rules. */
function buildHosts(node: unknown, top: Values, file: string, problems: ConfigProblem[]): IndexedHost[] {
  if (!Array.isArray(node)) {
    problems.push({
      file,
      key: 'hosts',
      reason: `expected a list of host blocks ({ names: [...], storage: { path: ... }, ... }), got ${describeValue(node)}`,
    });
    return [];
  }
  const hosts: IndexedHost[] = [];
  node.forEach((entry: unknown, i) => {
    const label = `hosts[${i}].`;
    if (!isMapping(entry)) {
      problems.push({
        file,
        key: `hosts[${i}]`,
        reason: `expected a mapping with names: and the sections it overrides, got ${describeValue(entry)}`,
      });
      return;
    }
    const { names, hosts: nested, ...sections } = entry;
    const checkedNames = checkHostNames(names);
    if (!checkedNames.ok) problems.push({ file, key: `${label}names${checkedNames.at ?? ''}`, reason: checkedNames.reason });
    if (nested !== undefined)
      problems.push({ file, key: `${label}hosts`, reason: 'hosts cannot be nested; list every host at the top level' });
    const values = new Values(file, label, problems, top.values);
    walk(
      sections,
      '',
      (spec, value, path) => {
        if (isProcessWide(spec.key)) problems.push({ file, key: `${label}${path}`, reason: PROCESS_WIDE_REASON });
        else values.set(spec, value, file, path);
      },
      (key, reason) => problems.push({ file, key: `${label}${key}`, reason }),
    );
    values.checkRules();
    if (checkedNames.ok) hosts.push({ index: i, host: { names: checkedNames.value as string[], config: assemble(values.values, []) } });
  });
  return hosts;
}

function envSettings(env: NodeJS.ProcessEnv): Setting[] {
  const settings: Setting[] = [];
  for (const spec of SCHEMA) {
    if (spec.env === undefined) continue;
    const raw = env[spec.env];
    if (raw === undefined || raw.trim() === '') continue;
    const text = raw.trim();
    const numeric = (spec.type === 'integer' || spec.type === 'number') && /^[+-]?\d+(\.\d+)?$/.test(text);
    settings.push({ file: 'environment', label: spec.env, key: spec.key, value: numeric ? Number(text) : text });
  }
  return settings;
}

function overrideSettings(overrides: ConfigOverrides | undefined): Setting[] {
  if (overrides === undefined) return [];
  const settings: Setting[] = [];
  for (const name of Object.keys(OVERRIDES) as (keyof ConfigOverrides)[]) {
    const value = overrides[name];
    if (value === undefined) continue;
    const { key, flag } = OVERRIDES[name];
    settings.push({ file: 'command line', label: flag, key, value });
  }
  return settings;
}

/** Flat key → value map (and the host blocks) to the nested, deep-frozen Config (the map must hold every key). */
export function assemble(values: ReadonlyMap<ConfigKey, unknown>, hosts: readonly VirtualHost[]): Config {
  const root: Record<string, unknown> = {};
  for (const [key, value] of values) {
    const parts = key.split('.');
    let node = root;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1]!] = value;
  }
  root.hosts = hosts;
  return deepFreeze(root) as unknown as Config;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
