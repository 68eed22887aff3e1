/** Checks one value against its schema row; small helpers for readable problem messages. */
import * as nip19 from 'nostr-tools/nip19';
import { HEX64 } from '../event/validate.js';
import type { KeySpec, ParseContext, StringFormat } from './schema.js';

export type Checked = { ok: true; value: unknown } | { ok: false; reason: string; at?: string };

/**
 * Validates `value` for `spec` and returns the value to store (an npub becomes hex). `context`: the
 * config file the value comes from (for parsers that read files it names).
 */
export function checkValue(spec: KeySpec, value: unknown, context?: ParseContext): Checked {
  if (value === null) {
    return spec.nullable ? { ok: true, value: null } : fail(`expected ${expected(spec)}, got null`);
  }
  switch (spec.type) {
    case 'integer':
    case 'number': {
      if (typeof value !== 'number' || Number.isNaN(value) || (spec.type === 'integer' && !Number.isInteger(value))) {
        return fail(`expected ${expected(spec)}, got ${describeValue(value)}`);
      }
      const min = spec.min ?? -Number.MAX_SAFE_INTEGER;
      const max = spec.max ?? Number.MAX_SAFE_INTEGER;
      if (value < min || value > max) {
        const range =
          spec.max === undefined ? `at least ${min}` : spec.min === undefined ? `at most ${max}` : `from ${min} to ${max}`;
        return fail(`must be ${range}, got ${value}`);
      }
      return { ok: true, value };
    }
    case 'boolean':
      return typeof value === 'boolean' ? { ok: true, value } : fail(`expected true or false, got ${describeValue(value)}`);
    case 'enum': {
      const values = spec.values ?? [];
      if (typeof value === 'string' && values.includes(value)) return { ok: true, value };
      const hint = typeof value === 'string' ? didYouMean(value, values) : '';
      return fail(`expected ${expected(spec)}, got ${describeValue(value)}${hint}`);
    }
    case 'parsed':
      return spec.parse!(value, context);
    case 'string': {
      if (typeof value !== 'string') {
        const quote = typeof value === 'number' || typeof value === 'boolean' ? ' (put it in quotes)' : '';
        return fail(`expected a string, got ${describeValue(value)}${quote}`);
      }
      return spec.format === undefined ? { ok: true, value } : checkFormat(spec.format, value);
    }
  }
}

function checkFormat(format: StringFormat, value: string): Checked {
  switch (format) {
    case 'host':
      if (value === '') return fail('must not be empty');
      return /\s/.test(value) ? fail(`must not contain spaces, got ${describeValue(value)}`) : { ok: true, value };
    case 'path':
      return value === '' ? fail('must not be empty') : { ok: true, value };
    case 'ws-url':
      return checkUrl(value, ['ws:', 'wss:'], 'a ws:// or wss:// URL');
    case 'http-url':
      return checkUrl(value, ['http:', 'https:'], 'an http:// or https:// URL');
    case 'pubkey':
      return checkPubkey(value);
  }
}

function checkUrl(value: string, protocols: readonly string[], what: string): Checked {
  if (value === '') return { ok: true, value };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail(`expected ${what}, got ${describeValue(value)}`);
  }
  return protocols.includes(url.protocol) ? { ok: true, value } : fail(`expected ${what}, got ${describeValue(value)}`);
}

/** '' , 64 lowercase hex characters, or an npub (returned as hex). */
export function checkPubkey(value: string): Checked {
  if (value === '' || HEX64.test(value)) return { ok: true, value };
  const what = 'expected 64 lowercase hex characters or an npub';
  // Never echo what looks like a secret key back into logs.
  if (value.startsWith('nsec1')) return fail(`${what}, got an nsec: this is a SECRET key, remove it and rotate it`);
  if (value.startsWith('npub1')) {
    try {
      const decoded = nip19.decode(value);
      if (decoded.type === 'npub') return { ok: true, value: decoded.data };
    } catch {
      // reported below
    }
    return fail(`not a valid npub (bad checksum or length): ${describeValue(value)}`);
  }
  if (HEX64.test(value.toLowerCase())) return fail(`${what}, got upper-case hex: write it in lower case`);
  return fail(`${what}, got ${describeValue(value)}`);
}

function expected(spec: KeySpec): string {
  const base =
    spec.type === 'integer'
      ? 'an integer'
      : spec.type === 'number'
        ? 'a number'
        : spec.type === 'boolean'
          ? 'true or false'
          : spec.type === 'enum'
            ? `one of ${(spec.values ?? []).join(', ')}`
            : spec.type === 'parsed'
              ? 'a value this key accepts'
              : 'a string';
  return spec.nullable ? `${base} or null` : base;
}

/** `the string "abc"`, `the number 1.5`, `a list`, … — for "got …" in messages. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `the ${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Uint8Array) return 'binary data';
  return 'a mapping';
}

/** ` (did you mean "x"?)` when some candidate is close to `word`, else ''. */
function didYouMean(word: string, candidates: readonly string[]): string {
  const best = closest(word, candidates);
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

/** The candidate nearest to `word` by edit distance (transpositions count once), if near enough. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  const allowed = w.length <= 4 ? 1 : w.length <= 9 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = allowed + 1;
  for (const candidate of candidates) {
    const c = candidate.toLowerCase();
    // A shortened or lengthened name ("warning" for "warn") counts as near.
    const prefix = Math.min(w.length, c.length) >= 3 && (w.startsWith(c) || c.startsWith(w));
    const d = prefix ? Math.min(1, distance(w, c)) : distance(w, c);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
function distance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      row.push(d);
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}

function fail(reason: string): Checked {
  return { ok: false, reason };
}
