/**
 * The `write:` section (src/policy/write.ts applies it): its keys, and the parsers of its lists —
 * pubkeys (hex or npub → hex) and rules `{ kinds: [...], … }`. A problem inside a list names where it
 * is (`[0].max_content_lenght`), which the loader appends to the key.
 */
import { parseKindSelectors, type KindSelector } from '../config/kinds.js';
import { integer, parsed, string, type Nested } from '../config/rows.js';
import { checkPubkey, closest, describeValue, type Parser } from '../config/values.js';

/** `write.min_pow_by_kind`: the first rule whose kinds match gives the minimum for that event. */
export interface PowRule {
  readonly kinds: readonly KindSelector[];
  readonly min_pow: number;
}

/** `write.limits_by_kind`: the first rule whose kinds match applies, on top of the global limits. */
export interface KindLimitRule {
  readonly kinds: readonly KindSelector[];
  readonly max_content_length?: number;
  readonly max_event_tags?: number;
}

type Result<V> = ReturnType<Parser<V>>;

const fail = <V>(reason: string, at?: string): Result<V> => (at === undefined ? { ok: false, reason } : { ok: false, reason, at });

/** A list of pubkeys, each 64 lowercase hex characters or an npub; stored as hex. */
export const parsePubkeyList: Parser<string[]> = (value) => {
  if (!Array.isArray(value)) return fail(`expected a list of pubkeys (hex or npub), got ${describeValue(value)}`);
  const out: string[] = [];
  for (const [i, item] of (value as unknown[]).entries()) {
    if (typeof item !== 'string' || item === '') return fail(`expected a pubkey (hex or npub), got ${describeValue(item)}`, `[${i}]`);
    const checked = checkPubkey(item);
    if (!checked.ok) return fail(checked.reason, `[${i}]`);
    out.push(checked.value as string);
  }
  return { ok: true, value: out };
};

/** The integer fields a rule may carry besides `kinds`, each with its lowest allowed value. */
type Fields = Readonly<Record<string, { min: number; max?: number; required?: boolean }>>;

/** A list of `{ kinds: [...], <integer fields> }` mappings; unknown fields are refused. */
function ruleList<R>(fields: Fields, example: string): Parser<R[]> {
  const known = ['kinds', ...Object.keys(fields)];
  return (value) => {
    if (!Array.isArray(value)) return fail(`expected a list of rules such as ${example}, got ${describeValue(value)}`);
    const rules: R[] = [];
    for (const [i, item] of (value as unknown[]).entries()) {
      const at = `[${i}]`;
      if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        return fail(`expected a rule such as ${example}, got ${describeValue(item)}`, at);
      }
      const entries = item as Record<string, unknown>;
      for (const name of Object.keys(entries)) {
        if (known.includes(name)) continue;
        const near = closest(name, known);
        return fail(
          near === undefined ? `unknown key; known keys here: ${known.join(', ')}` : `unknown key (did you mean "${near}"?)`,
          `${at}.${name}`,
        );
      }
      if (!('kinds' in entries)) return fail('missing kinds: every rule names the kinds it applies to', at);
      const kinds = parseKindSelectors(entries.kinds);
      if (!kinds.ok) return fail(kinds.reason, `${at}.kinds`);
      const rule: Record<string, unknown> = { kinds: kinds.value };
      for (const [name, { min, max, required }] of Object.entries(fields)) {
        const field = entries[name];
        if (field === undefined || field === null) {
          if (required) return fail(`missing ${name}`, at);
          continue;
        }
        if (typeof field !== 'number' || !Number.isInteger(field))
          return fail(`expected an integer, got ${describeValue(field)}`, `${at}.${name}`);
        if (field < min || (max !== undefined && field > max)) {
          return fail(
            max === undefined ? `must be at least ${min}, got ${field}` : `must be from ${min} to ${max}, got ${field}`,
            `${at}.${name}`,
          );
        }
        rule[name] = field;
      }
      rules.push(rule as R);
    }
    return { ok: true, value: rules };
  };
}

export const parsePowRules: Parser<PowRule[]> = ruleList<PowRule>(
  { min_pow: { min: 0, max: 256, required: true } },
  '{ kinds: [1], min_pow: 20 }',
);

export const parseKindLimitRules: Parser<KindLimitRule[]> = ruleList<KindLimitRule>(
  { max_content_length: { min: 0 }, max_event_tags: { min: 0 } },
  '{ kinds: [1], max_content_length: 2000 }',
);

/** Who may write what; every rule is off by default. */
export const WRITE_KEYS = {
  'write.pubkeys.allow': parsed(parsePubkeyList, {
    default: [],
    reloadable: true,
    description:
      'Pubkeys (hex or npub) allowed to write; empty = everyone. Others get "blocked: only members of <info.name> can post here".',
  }),
  'write.pubkeys.deny': parsed(parsePubkeyList, {
    default: [],
    reloadable: true,
    description: 'Pubkeys (hex or npub) never allowed to write ("blocked:").',
  }),
  'write.blocked_message': string({
    default: '',
    reloadable: true,
    description: 'Appended to the allow-list refusal after " — ": how to join (a URL or a sentence); empty = nothing.',
  }),
  'write.kinds.allow': parsed(parseKindSelectors, {
    default: ['*'],
    reloadable: true,
    description: 'Kinds accepted: single kinds, ranges [low, high], or "*" for all.',
  }),
  'write.kinds.deny': parsed(parseKindSelectors, {
    default: [],
    reloadable: true,
    description: 'Kinds refused even when write.kinds.allow matches them.',
  }),
  'write.min_pow': integer({
    min: 0,
    max: 256,
    default: 0,
    reloadable: true,
    description: 'NIP-13 proof of work: leading zero bits an event id must have; 0 = none (NIP-11 min_pow_difficulty).',
  }),
  'write.min_pow_by_kind': parsed(parsePowRules, {
    default: [],
    reloadable: true,
    description: 'Rules { kinds: [...], min_pow: N }; the first whose kinds match replaces write.min_pow for that event.',
  }),
  'write.limits_by_kind': parsed(parseKindLimitRules, {
    default: [],
    reloadable: true,
    description:
      'Rules { kinds: [...], max_content_length?, max_event_tags? }; the first whose kinds match applies on top of the global limits.',
  }),
  'write.created_at_by_class.regular.max_future_seconds': integer({
    nullable: true,
    min: 0,
    default: null,
    reloadable: true,
    description:
      "Seconds a regular event's created_at may lie ahead of the relay's clock; null = limits.created_at.max_future_seconds. Only tighter than the global value.",
  }),
  'write.created_at_by_class.regular.max_past_seconds': integer({
    nullable: true,
    min: 0,
    default: null,
    reloadable: true,
    description:
      "Seconds a regular event's created_at may lie behind the relay's clock; null = limits.created_at.max_past_seconds. Only tighter than the global value.",
  }),
  'write.created_at_by_class.replaceable.max_future_seconds': integer({
    nullable: true,
    min: 0,
    default: null,
    reloadable: true,
    description:
      "Seconds a replaceable event's created_at may lie ahead of the relay's clock; null = limits.created_at.max_future_seconds. Only tighter than the global value.",
  }),
  'write.created_at_by_class.replaceable.max_past_seconds': integer({
    nullable: true,
    min: 0,
    default: null,
    reloadable: true,
    description:
      "Seconds a replaceable event's created_at may lie behind the relay's clock; null = limits.created_at.max_past_seconds. Only tighter than the global value.",
  }),
  'write.created_at_by_class.ephemeral.max_future_seconds': integer({
    nullable: true,
    min: 0,
    default: null,
    reloadable: true,
    description:
      "Seconds a ephemeral event's created_at may lie ahead of the relay's clock; null = limits.created_at.max_future_seconds. Only tighter than the global value.",
  }),
  'write.created_at_by_class.ephemeral.max_past_seconds': integer({
    nullable: true,
    min: 0,
    default: null,
    reloadable: true,
    description:
      "Seconds a ephemeral event's created_at may lie behind the relay's clock; null = limits.created_at.max_past_seconds. Only tighter than the global value.",
  }),
  'write.created_at_by_class.addressable.max_future_seconds': integer({
    nullable: true,
    min: 0,
    default: null,
    reloadable: true,
    description:
      "Seconds a addressable event's created_at may lie ahead of the relay's clock; null = limits.created_at.max_future_seconds. Only tighter than the global value.",
  }),
  'write.created_at_by_class.addressable.max_past_seconds': integer({
    nullable: true,
    min: 0,
    default: null,
    reloadable: true,
    description:
      "Seconds a addressable event's created_at may lie behind the relay's clock; null = limits.created_at.max_past_seconds. Only tighter than the global value.",
  }),
};

export type WriteConfig = Nested<typeof WRITE_KEYS>['write'];
/** A created_at window of one kind class; null = the global value (limits.created_at). */
export type CreatedAtWindow = WriteConfig['created_at_by_class']['regular'];
