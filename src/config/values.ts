/**
 * What the parsers of config values share: the result shape, the parser type, and helpers for readable
 * problem messages. Domain modules that parse their own config sections (policy/, retention/, net/, nips/)
 * import these from here; this module imports nothing that imports the config.
 */
import * as nip19 from 'nostr-tools/nip19';
import { HEX64 } from '../event/validate.js';

export type Checked = { ok: true; value: unknown } | { ok: false; reason: string; at?: string };

/**
 * For `parsed` keys (lists, durations, rules): turns the YAML value into the plain data `Config` holds,
 * or says why it cannot. The default is given in that parsed form.
 */
export type Parser<V> = (value: unknown, context?: ParseContext) => { ok: true; value: V } | { ok: false; reason: string; at?: string };
// `at`: where inside the value the problem is, appended to the key in the message (e.g. `[0].kinds`).

/** Where a value was written, for parsers that read files named in it (scopes.geohash.areas). */
export interface ParseContext {
  /** The config file that holds the value, as given (for messages). */
  readonly file: string;
  /** Its directory: relative paths in the value are taken from here. */
  readonly directory: string;
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

/** `the string "abc"`, `the number 1.5`, `a list`, … — for "got …" in messages. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `the ${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Uint8Array) return 'binary data';
  return 'a mapping';
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
