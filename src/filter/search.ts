/**
 * NIP-50 search: a filter's `search` string parsed once into phrases, turned into an FTS5 MATCH
 * expression that user input can never break, and matched against live events the same way.
 *
 * - Whitespace separates tokens; tokens shaped `key:value` (`language:en`, `include:spam`, …) are
 *   extensions we do not implement and are dropped.
 * - Every other token becomes one phrase: its words (runs of letters, digits, private-use characters —
 *   what SQLite's unicode61 tokenizer keeps), so `don't` is the phrase `"don t"`. No FTS5 syntax
 *   survives: quotes, `*`, `^`, `-`, `NEAR(`, `:`, `(` are separators, and `AND`/`OR`/`NOT` are plain
 *   words inside quotes. Phrases are AND'ed.
 * - A query with no phrase left matches nothing.
 * - Case-insensitive, diacritics removed (`unicode61 remove_diacritics 2`), no stemming.
 */

/** A compiled `search` value. */
export interface Search {
  /** The FTS5 MATCH expression (phrases AND'ed); '' when nothing is left to search for. */
  fts: string;
  /** Normalised words of each phrase, for live matching. */
  phrases: readonly (readonly string[])[];
}

/**
 * Relevance is ranked among at most this many matching events, the newest stored (see
 * src/store/sql.ts): it bounds the cost of a query for a very common word.
 */
export const SEARCH_WINDOW = 10_000;

/** Longest `search` string accepted. */
export const MAX_QUERY_LENGTH = 1000;
/** At most this many phrases are used; the rest are ignored. */
const MAX_PHRASES = 32;

const EXTENSION = /^[a-z_]+:\S+$/i;
const WORD = /[\p{L}\p{N}\p{Co}]+/gu;

/** Lowercase, diacritics removed: what the FTS tokenizer does to both sides of a comparison. */
const normalise = (text: string): string => text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();

const words = (text: string): string[] => text.match(WORD) ?? [];

export function parseSearch(query: string): Search {
  const phrases: string[][] = [];
  for (const token of query.split(/\s+/)) {
    if (token === '' || EXTENSION.test(token)) continue;
    const tokenWords = words(normalise(token));
    if (tokenWords.length > 0) phrases.push(tokenWords);
    if (phrases.length === MAX_PHRASES) break;
  }
  // Words hold no '"', so quoting them needs no escaping.
  return { fts: phrases.map((phrase) => `"${phrase.join(' ')}"`).join(' '), phrases };
}

/**
 * Live (post-EOSE) matching: every phrase occurs in the content as consecutive words, compared
 * case-insensitively without diacritics — the rule the FTS index applies to stored events.
 */
export function matchesSearch(search: Search, content: string): boolean {
  if (search.phrases.length === 0) return false;
  const text = ` ${words(normalise(content)).join(' ')} `;
  return search.phrases.every((phrase) => text.includes(` ${phrase.join(' ')} `));
}
