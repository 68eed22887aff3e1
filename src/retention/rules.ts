/**
 * Retention rules (config key `retention`): parsing with path-qualified problems, first-match lookup
 * by kind, and the NIP-11 `retention` form. Pure; the pruner (pruner.ts) applies them to the store.
 */
import { closest } from '../config/values.js';
import { formatDuration, parseDuration } from '../config/duration.js';
import { kindSet, parseKindSelectors, type KindSelector, type KindSet } from '../config/kinds.js';
import { parsed } from '../config/rows.js';

const FIELDS = ['kinds', 'max_age', 'max_per_pubkey', 'max_total', 'keep'] as const;
const EPHEMERAL_LOW = 20000;
const EPHEMERAL_HIGH = 29999;

/** One retention rule; durations in seconds. */
export interface RetentionRule {
  kinds: readonly KindSelector[];
  /** Delete events of these kinds older than this. */
  max_age?: number;
  /** Keep the newest N events of these kinds per author. */
  max_per_pubkey?: number;
  /** Keep the newest N events of these kinds overall. */
  max_total?: number;
  /** Ephemeral kinds only: store them for this long after arrival (late joiners see the last minutes). */
  keep?: number;
}

type Parsed = { ok: true; value: RetentionRule[] } | { ok: false; reason: string; at?: string };

/** A schema `Parser` for `retention`: a list of rules; the first problem is reported with its path. */
export function parseRetention(value: unknown): Parsed {
  if (value === null || value === undefined) return { ok: true, value: [] };
  if (!Array.isArray(value)) {
    return { ok: false, reason: 'expected a list of rules, e.g. [{ kinds: [1, 7], max_age: "90d" }]' };
  }
  const rules: RetentionRule[] = [];
  for (const [index, item] of (value as unknown[]).entries()) {
    const at = (field?: string): string => (field === undefined ? `[${index}]` : `[${index}].${field}`);
    const fail = (reason: string, field?: string): Parsed => ({ ok: false, reason, at: at(field) });
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      return fail('expected a rule: a mapping with kinds and at least one of max_age, max_per_pubkey, max_total, keep');
    }
    const fields = item as Record<string, unknown>;
    for (const name of Object.keys(fields)) {
      if ((FIELDS as readonly string[]).includes(name)) continue;
      const near = closest(name, FIELDS);
      return fail(near ? `unknown field (did you mean "${near}"?)` : `unknown field; a rule has ${FIELDS.join(', ')}`, name);
    }
    if (!('kinds' in fields)) return fail('missing: every rule names its kinds, e.g. kinds: [1, 7] or kinds: ["*"]', 'kinds');
    const kinds = parseKindSelectors(fields.kinds);
    if (!kinds.ok) return fail(kinds.reason, 'kinds');
    if (kinds.value.length === 0) return fail('must name at least one kind (["*"] = every kind)', 'kinds');
    const rule: RetentionRule = { kinds: kinds.value };
    for (const name of ['max_age', 'keep'] as const) {
      if (fields[name] === undefined) continue;
      const seconds = parseDuration(fields[name]);
      if (!seconds.ok) return fail(seconds.reason, name);
      if (seconds.value <= 0) return fail('must be longer than 0 seconds', name);
      rule[name] = seconds.value;
    }
    for (const name of ['max_per_pubkey', 'max_total'] as const) {
      const n = fields[name];
      if (n === undefined) continue;
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) {
        return fail(`expected a whole number of events, at least 1, got ${JSON.stringify(n)}`, name);
      }
      rule[name] = n;
    }
    if (rule.keep !== undefined && !kinds.value.every(isEphemeralSelector)) {
      return fail(`only for ephemeral kinds (${EPHEMERAL_LOW}–${EPHEMERAL_HIGH}); other kinds are stored anyway — use max_age`, 'keep');
    }
    if (rule.max_age === undefined && rule.max_per_pubkey === undefined && rule.max_total === undefined && rule.keep === undefined) {
      return fail('a rule needs at least one of max_age, max_per_pubkey, max_total, keep');
    }
    rules.push(rule);
  }
  return { ok: true, value: rules };
}

/** The `retention:` section: one key, the list of rules. */
export const RETENTION_KEYS = {
  retention: parsed(parseRetention, {
    default: [],
    reloadable: true,
    description:
      'Per-kind retention rules { kinds, max_age?, max_per_pubkey?, max_total?, keep? }; the first rule whose kinds match decides; [] = keep everything.',
  }),
};

function isEphemeralSelector(selector: KindSelector): boolean {
  if (selector === '*') return false;
  const [low, high] = typeof selector === 'number' ? [selector, selector] : selector;
  return low >= EPHEMERAL_LOW && high <= EPHEMERAL_HIGH;
}

/** A rule ready to match: its index in the config and its kind set. */
export interface CompiledRule extends RetentionRule {
  readonly index: number;
  readonly set: KindSet;
}

export interface Retention {
  readonly rules: readonly CompiledRule[];
  /** The first rule whose kinds include `kind` (the one that decides), if any. */
  ruleFor(kind: number): CompiledRule | undefined;
  /** Seconds an ephemeral event of `kind` is stored for, when its deciding rule has `keep`. */
  keepFor(kind: number): number | undefined;
  /** Does any rule limit counts (max_per_pubkey / max_total)? Then a pass walks all events. */
  readonly counts: boolean;
}

export function compileRetention(rules: readonly RetentionRule[]): Retention {
  const compiled = rules.map((rule, index): CompiledRule => Object.freeze({ ...rule, index, set: kindSet(rule.kinds) }));
  const cache = new Map<number, CompiledRule | undefined>();
  const ruleFor = (kind: number): CompiledRule | undefined => {
    if (cache.has(kind)) return cache.get(kind);
    const rule = compiled.find((r) => r.set.has(kind));
    cache.set(kind, rule);
    return rule;
  };
  return {
    rules: compiled,
    ruleFor,
    keepFor: (kind) => ruleFor(kind)?.keep,
    counts: compiled.some((r) => r.max_per_pubkey !== undefined || r.max_total !== undefined),
  };
}

/** One rule as a person reads it: `[1, 6, 7] max_age 90d`. */
export function describeRule(rule: RetentionRule): string {
  const parts = [`kinds ${JSON.stringify(rule.kinds)}`];
  if (rule.keep !== undefined) parts.push(`keep ${formatDuration(rule.keep)}`);
  if (rule.max_age !== undefined) parts.push(`max_age ${formatDuration(rule.max_age)}`);
  if (rule.max_per_pubkey !== undefined) parts.push(`max_per_pubkey ${rule.max_per_pubkey}`);
  if (rule.max_total !== undefined) parts.push(`max_total ${rule.max_total}`);
  return parts.join(' ');
}
