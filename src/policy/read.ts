/**
 * Read rules: which stored events a connection may read. Pure: (filters, who the connection is) →
 * the filters it may run, or a refusal. Applied the same way to REQ, COUNT, NEG-OPEN; live delivery
 * uses `mayRead` per event.
 *
 * Restricted kinds (read.auth_required_kinds, default 4, 1059, 1060) are readable only by a connection
 * authenticated as the author or a p-tagged recipient. Rather than reading rows and filtering JSON, a
 * filter is split so SQL stays index-driven:
 *   - the unrestricted part: its kinds minus the restricted ones (a filter with no kinds gets
 *     `notKinds`, so `{}` never leaks restricted events — strfry's hole);
 *   - the restricted part, constrained to `authors ∈ readers` and, separately, `#p ∈ readers`.
 * The parts of one filter share a `group`: the store applies the filter's limit to their union.
 */
import type { NostrEvent } from '../event/types.js';
import type { CompiledFilter } from '../filter/compile.js';
import { boolean, parsed } from '../config/rows.js';
import { describeValue, type Parser } from '../config/values.js';

/** A plain list of kinds (no ranges: the read rules name each kind in SQL). */
export const parseKindList: Parser<number[]> = (value) => {
  if (!Array.isArray(value)) return { ok: false, reason: `expected a list of kinds, e.g. [4, 1059, 1060], got ${describeValue(value)}` };
  const kinds: number[] = [];
  for (const [i, item] of (value as unknown[]).entries()) {
    if (typeof item !== 'number' || !Number.isInteger(item) || item < 0 || item > 65535) {
      return { ok: false, reason: `expected a kind (an integer 0–65535), got ${describeValue(item)}`, at: `[${i}]` };
    }
    if (!kinds.includes(item)) kinds.push(item);
  }
  return { ok: true, value: kinds };
};

/** Who may read what. */
export const READ_KEYS = {
  'read.auth_required_kinds': parsed(parseKindList, {
    default: [4, 1059, 1060],
    reloadable: true,
    description: 'Kinds readable only by a connection authenticated (NIP-42) as the author or a p-tagged recipient; [] = none.',
  }),
  'read.private': boolean({
    default: false,
    reloadable: true,
    description: 'Reading at all (REQ, COUNT, NEG-OPEN) requires AUTH as a member (needs members.enabled and auth.enabled).',
  }),
};

export interface ReadRules {
  /** Kinds only their author and p-tagged recipients may read. */
  readonly restricted: ReadonlySet<number>;
}

export const readRules = (kinds: readonly number[]): ReadRules => ({ restricted: new Set(kinds) });

/**
 * The filters a connection authenticated as `readers` (empty = not authenticated) may run for `filter`,
 * or 'auth-required' when the filter asks only for restricted kinds and the connection has not
 * authenticated.
 */
function restrictFilter(filter: CompiledFilter, rules: ReadRules, readers: ReadonlySet<string>): CompiledFilter[] | 'auth-required' {
  const { restricted } = rules;
  if (restricted.size === 0) return [filter];
  const group = filter.group ?? {};
  if (filter.kinds) {
    const open = new Set<number>();
    const closed = new Set<number>();
    for (const kind of filter.kinds) (restricted.has(kind) ? closed : open).add(kind);
    if (closed.size === 0) return [filter];
    if (open.size === 0 && readers.size === 0) return 'auth-required';
    const parts: CompiledFilter[] = [];
    if (open.size > 0) parts.push({ ...filter, kinds: open, group });
    if (readers.size > 0) parts.push(...restrictedParts({ ...filter, kinds: closed, group }, readers));
    return single(parts, filter);
  }
  const notKinds = new Set([...(filter.notKinds ?? []), ...restricted]);
  const parts: CompiledFilter[] = [{ ...filter, notKinds, group }];
  if (readers.size > 0) parts.push(...restrictedParts({ ...filter, kinds: new Set(restricted), group }, readers));
  return single(parts, filter);
}

/** One part: no group needed (the limit applies to it alone). */
function single(parts: CompiledFilter[], original: CompiledFilter): CompiledFilter[] {
  if (parts.length !== 1 || original.group !== undefined) return parts;
  const { group: _, ...part } = parts[0]!;
  return [part];
}

/** `filter` (restricted kinds only) as readable by `readers`: written by one of them, or p-tagging one. */
function restrictedParts(filter: CompiledFilter, readers: ReadonlySet<string>): CompiledFilter[] {
  const parts: CompiledFilter[] = [];
  const authors = filter.authors ? intersect(filter.authors, readers) : new Set(readers);
  // Every author asked for is a reader: the whole filter is readable as it is.
  if (filter.authors && authors.size === filter.authors.size) return [filter];
  if (authors.size > 0) parts.push({ ...filter, authors });
  // Already limited to p tags of readers: readable as it is.
  if (filter.tags.some(([name, values]) => name === 'p' && [...values].every((value) => readers.has(value)))) return [filter];
  parts.push({ ...filter, tags: [...filter.tags, ['p', new Set(readers)]] });
  return parts;
}

function intersect<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): Set<T> {
  const out = new Set<T>();
  for (const value of a) if (b.has(value)) out.add(value);
  return out;
}

/**
 * Every filter of a REQ / COUNT / NEG-OPEN restricted; 'auth-required' when any filter asks only for
 * restricted kinds without AUTH (the client can authenticate and ask again).
 */
export function restrictFilters(
  filters: readonly CompiledFilter[],
  rules: ReadRules,
  readers: ReadonlySet<string>,
): CompiledFilter[] | 'auth-required' {
  const out: CompiledFilter[] = [];
  for (const filter of filters) {
    const parts = restrictFilter(filter, rules, readers);
    if (parts === 'auth-required') return parts;
    out.push(...parts);
  }
  return out;
}

/** Live delivery: whether a connection authenticated as `readers` may receive `event`. */
export function mayRead(event: NostrEvent, rules: ReadRules, readers: ReadonlySet<string>): boolean {
  if (!rules.restricted.has(event.kind)) return true;
  if (readers.has(event.pubkey)) return true;
  return event.tags.some((tag) => tag[0] === 'p' && tag[1] !== undefined && readers.has(tag[1]));
}
