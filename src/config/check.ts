/** Checks one value against its schema row (the helpers for readable messages are in values.ts). */
import type { RowSpec, StringFormat } from './rows.js';
import { checkPubkey, closest, describeValue, type Checked, type ParseContext } from './values.js';

/**
 * Validates `value` for `spec` and returns the value to store (an npub becomes hex). `context`: the
 * config file the value comes from (for parsers that read files it names).
 */
export function checkValue(spec: RowSpec, value: unknown, context?: ParseContext): Checked {
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
        const range = spec.max === undefined ? `at least ${min}` : spec.min === undefined ? `at most ${max}` : `from ${min} to ${max}`;
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

function expected(spec: RowSpec): string {
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

/** ` (did you mean "x"?)` when some candidate is close to `word`, else ''. */
function didYouMean(word: string, candidates: readonly string[]): string {
  const best = closest(word, candidates);
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

function fail(reason: string): Checked {
  return { ok: false, reason };
}
