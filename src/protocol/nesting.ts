/**
 * How deep a client message may nest arrays and objects. The deepest valid message is an EVENT (or
 * AUTH): frame → event → tags → tag, 4 levels; REQ, COUNT and NEG-OPEN filters reach 3. Anything
 * deeper is refused before JSON.parse, whose time grows with the depth (a 60,000-deep array costs
 * ~6 ms of event loop per frame, about 100 times a typical event).
 */
export const MAX_NESTING_DEPTH = 10;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * Does `text` open more than `max` arrays or objects at once? One pass that jumps over string
 * contents (where brackets are text) with indexOf; it stops at the first level too deep. Says nothing
 * about validity: malformed text is left to JSON.parse.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = closingQuote(text, i + 1);
      if (i < 0) return false; // unterminated string: JSON.parse says so
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    }
  }
  return false;
}

/** Index of the quote that ends the string whose contents start at `from`, or -1. */
function closingQuote(text: string, from: number): number {
  for (let at = text.indexOf('"', from); at >= 0; at = text.indexOf('"', at + 1)) {
    // Escaped when an odd number of backslashes stands right before it.
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
  return -1;
}
