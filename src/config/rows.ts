/**
 * How a config key is declared: one row per key, made by string(), integer(), boolean(), oneOf() or
 * parsed(). A row's type parameter is the value the config holds at its key, so a section (rows by
 * dotted key) gives its own type through `Nested`, and `Config` is inferred from the table
 * (types.ts): a key is written once. Domain modules that parse their section (policy/, retention/)
 * declare its rows with these helpers; this module imports nothing that imports the config.
 */
import type { Parser } from './values.js';

export type ValueType = 'string' | 'integer' | 'number' | 'boolean' | 'enum' | 'parsed';

/**
 * Checks (and normalisations) for string keys, beyond "is a string":
 * - host: non-empty, no whitespace
 * - path: non-empty
 * - ws-url: empty, or an absolute ws:// or wss:// URL
 * - http-url: empty, or an absolute http:// or https:// URL
 * - pubkey: empty, 64 lowercase hex characters, or an npub (converted to hex)
 */
export type StringFormat = 'host' | 'path' | 'ws-url' | 'http-url' | 'pubkey';

/** One row, widened for code that walks all rows. */
export interface RowSpec {
  readonly type: ValueType;
  readonly default: unknown;
  readonly description: string;
  /** true: a hot reload may change it on a running relay; false: takes effect on restart. */
  readonly reloadable: boolean;
  readonly nullable?: boolean;
  /** Inclusive bounds for integer and number keys. */
  readonly min?: number;
  readonly max?: number;
  /** Allowed values of an enum key. */
  readonly values?: readonly string[];
  readonly format?: StringFormat;
  /** The parser of a `parsed` key. */
  readonly parse?: Parser<unknown>;
  /** Environment variable that overrides the file's value (loadConfig only). */
  readonly env?: string;
}

/** A row whose key holds a `V`. */
export interface Row<V> extends RowSpec {
  readonly default: V;
}

/** Rows by dotted key ('limits.created_at.max_past_seconds'): one section's, or the whole table. */
export type Rows = Readonly<Record<string, Row<unknown>>>;

/** What every row says besides its type. */
interface About<V> {
  readonly default: V;
  readonly description: string;
  readonly reloadable: boolean;
  readonly env?: string;
}

interface Bounds {
  readonly min?: number;
  readonly max?: number;
}

interface Nullable {
  readonly nullable: true;
}

export function string(about: About<string> & { readonly format?: StringFormat }): Row<string> {
  return { type: 'string', ...about };
}

export function integer(about: About<number | null> & Bounds & Nullable): Row<number | null>;
export function integer(about: About<number> & Bounds): Row<number>;
export function integer(about: About<number | null> & Bounds & Partial<Nullable>): Row<number | null> {
  return { type: 'integer', ...about };
}

export function boolean(about: About<boolean>): Row<boolean> {
  return { type: 'boolean', ...about };
}

/** One of the words in `values`. */
export function oneOf<const T extends readonly string[]>(values: T, about: About<NoInfer<T[number]>>): Row<T[number]> {
  return { type: 'enum', values, ...about };
}

/** A value `parse` turns into what the config holds (a list, a rate, a duration in seconds); the default is given in that form. */
export function parsed<V>(parse: Parser<V>, about: About<NoInfer<Frozen<V>> | null> & Nullable): Row<Frozen<V> | null>;
export function parsed<V>(parse: Parser<V>, about: About<NoInfer<Frozen<V>>>): Row<Frozen<V>>;
export function parsed<V>(parse: Parser<V>, about: About<Frozen<V> | null> & Partial<Nullable>): Row<Frozen<V> | null> {
  return { type: 'parsed', parse, ...about };
}

/** The loader deep-freezes the config, so a list a parser returns is held read-only. */
type Frozen<V> = V extends readonly (infer E)[] ? readonly E[] : V;

/**
 * The nested object the loader builds from rows by dotted key: 'limits.created_at.max_past_seconds'
 * → `{ limits: { created_at: { max_past_seconds: number | null } } }`.
 */
export type Nested<T extends Rows> = Nest<{ [K in keyof T]: T[K]['default'] }>;

type Nest<V> = {
  [H in Head<keyof V & string>]: H extends keyof V
    ? V[H]
    : Nest<{ [K in keyof V & string as K extends `${H}.${infer R}` ? R : never]: V[K] }>;
};

type Head<K extends string> = K extends `${infer H}.${string}` ? H : K;
