import { HEX64 } from '../event/validate.js';
import { reject, type Rejection } from '../protocol/prefixes.js';
import { MAX_QUERY_LENGTH, parseSearch, type Search } from './search.js';

/** A NIP-01 filter compiled once into sets, so matching and SQL building never re-read the JSON. */
export interface CompiledFilter {
  ids?: ReadonlySet<string>;
  authors?: ReadonlySet<string>;
  kinds?: ReadonlySet<number>;
  /** Single-letter tag conditions, e.g. ['e', {…ids}]; AND across entries, OR within one. */
  tags: ReadonlyArray<readonly [string, ReadonlySet<string>]>;
  since?: number;
  until?: number;
  /** Effective limit: clamped to max_limit, defaultLimit() when absent. */
  limit: number;
  /** NIP-50 full-text search (only when search is enabled); results ordered by relevance. */
  search?: Search;
  /** Read rules (src/policy/read.ts): kinds left out of a filter that names no kinds. Never from a client. */
  notKinds?: ReadonlySet<number>;
  /**
   * Read rules: the parts one client filter was split into share a group; the store applies their
   * (shared) limit to the union of the group. Never from a client.
   */
  group?: object;
}

/** What the running config enables beyond NIP-01. */
export interface FilterOptions {
  /** NIP-50: accept `search`; otherwise it is refused with `unsupported:`. */
  search?: boolean;
}

/** The `limits:` keys (config/relay.yaml) a filter is compiled under. */
export interface FilterLimits {
  max_filter_values: number;
  max_limit: number;
  /** Limit of a filter that sets none; null = max_limit. */
  default_limit: number | null;
}

const TAG_KEY = /^#[a-zA-Z]$/;
/** Tags whose values are event ids or pubkeys: only exact lowercase 64-hex values can ever match. */
const HEX_TAGS = new Set(['e', 'p']);

/** The limit of a filter that sets none: `default_limit`, or `max_limit` when that is null. */
export function defaultLimit(limits: Pick<FilterLimits, 'max_limit' | 'default_limit'>): number {
  return limits.default_limit ?? limits.max_limit;
}

export function compileFilter(input: unknown, limits: FilterLimits, options: FilterOptions = {}): CompiledFilter | Rejection {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return reject('invalid', 'a filter must be a JSON object');
  }
  const filter: {
    ids?: Set<string>;
    authors?: Set<string>;
    kinds?: Set<number>;
    tags: [string, Set<string>][];
    since?: number;
    until?: number;
    limit: number;
    search?: Search;
  } = { tags: [], limit: defaultLimit(limits) };

  for (const [key, value] of Object.entries(input as Record<string, unknown>)) {
    switch (key) {
      case 'ids':
      case 'authors': {
        const set = hexSet(key, value, limits);
        if (!(set instanceof Set)) return set;
        filter[key] = set;
        break;
      }
      case 'kinds': {
        const list = nonEmptyList(key, value, limits);
        if (!Array.isArray(list)) return list;
        const kinds = new Set<number>();
        for (const kind of list) {
          if (typeof kind !== 'number' || !Number.isInteger(kind) || kind < 0 || kind > 65535) {
            return reject('invalid', "'kinds' must hold integers from 0 to 65535");
          }
          kinds.add(kind);
        }
        filter.kinds = kinds;
        break;
      }
      case 'since':
      case 'until':
      case 'limit': {
        if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
          return reject('invalid', `'${key}' must be a non-negative integer`);
        }
        if (key === 'limit') filter.limit = Math.min(value, limits.max_limit);
        else filter[key] = value;
        break;
      }
      case 'search':
        if (!options.search) return reject('unsupported', "'search' (NIP-50) is not supported by this relay");
        if (typeof value !== 'string') return reject('invalid', "'search' must be a string");
        if (value.length > MAX_QUERY_LENGTH) return reject('invalid', `'search' is longer than ${MAX_QUERY_LENGTH} characters`);
        filter.search = parseSearch(value);
        break;
      default: {
        if (!key.startsWith('#')) return reject('unsupported', `unknown filter key '${key}'`);
        if (!TAG_KEY.test(key)) return reject('unsupported', `tag filter '${key}' must be '#' and one letter`);
        const name = key.slice(1);
        const set = HEX_TAGS.has(name) ? hexSet(key, value, limits) : stringSet(key, value, limits);
        if (!(set instanceof Set)) return set;
        filter.tags.push([name, set]);
      }
    }
  }
  return filter;
}

/** All filters of one REQ or COUNT. */
export function compileFilters(inputs: unknown[], limits: FilterLimits, options: FilterOptions = {}): CompiledFilter[] | Rejection {
  const filters: CompiledFilter[] = [];
  for (const input of inputs) {
    const compiled = compileFilter(input, limits, options);
    if ('prefix' in compiled) return compiled;
    filters.push(compiled);
  }
  return filters;
}

function nonEmptyList(key: string, value: unknown, limits: FilterLimits): unknown[] | Rejection {
  if (!Array.isArray(value)) return reject('invalid', `'${key}' must be an array`);
  if (value.length === 0) return reject('invalid', `'${key}' must not be empty`);
  if (value.length > limits.max_filter_values) {
    return reject('invalid', `'${key}' has ${value.length} values; at most ${limits.max_filter_values} are allowed`);
  }
  return value;
}

function hexSet(key: string, value: unknown, limits: FilterLimits): Set<string> | Rejection {
  const list = nonEmptyList(key, value, limits);
  if (!Array.isArray(list)) return list;
  for (const item of list) {
    if (typeof item !== 'string' || !HEX64.test(item)) {
      return reject('invalid', `'${key}' values must be 64 lowercase hex characters (no prefixes)`);
    }
  }
  return new Set(list as string[]);
}

function stringSet(key: string, value: unknown, limits: FilterLimits): Set<string> | Rejection {
  const list = nonEmptyList(key, value, limits);
  if (!Array.isArray(list)) return list;
  for (const item of list) if (typeof item !== 'string') return reject('invalid', `'${key}' values must be strings`);
  return new Set(list as string[]);
}
