/**
 * NIP-70: protected events. An event carrying a `["-"]` tag may be published only by its author, proven
 * by NIP-42 AUTH on the connection that sends it. Pure: the relay passes who the sender is.
 */
import type { NostrEvent } from '../event/types.js';
import { MAX_NESTING_DEPTH, nestsDeeperThan } from '../protocol/nesting.js';
import { reject, type Rejection } from '../protocol/prefixes.js';

/** Who is publishing, as far as protected events are concerned. */
export type ProtectedPolicy =
  /** A client connection: protected events only from the pubkeys it authenticated as. */
  | { mode: 'author'; authenticated: ReadonlySet<string> }
  /** A client connection on a relay with AUTH disabled: nobody can prove authorship. */
  | { mode: 'refuse' }
  /** No connection (the import CLI): the operator loading their own data; protected events are accepted. */
  | { mode: 'accept' };

export const ACCEPT_PROTECTED: ProtectedPolicy = Object.freeze({ mode: 'accept' });

/** Kinds whose content may embed another event (NIP-18 reposts and generic reposts). */
const REPOST_KINDS = new Set([6, 16]);

const isProtected = (event: Pick<NostrEvent, 'tags'>): boolean => event.tags.some((tag) => tag[0] === '-');

/** A repost whose content is an event carrying `["-"]`: re-publishing a protected event under another key. */
function embedsProtected(event: NostrEvent): boolean {
  if (!REPOST_KINDS.has(event.kind) || !event.content.includes('"-"')) return false;
  // Deeper than any event: not parsed (its cost grows with the depth) and taken as embedding one, since
  // a client reading the repost ignores the fields an event does not have.
  if (nestsDeeperThan(event.content, MAX_NESTING_DEPTH)) return true;
  let embedded: unknown;
  try {
    embedded = JSON.parse(event.content);
  } catch {
    return false;
  }
  const tags = (embedded as { tags?: unknown } | null)?.tags;
  return Array.isArray(tags) && tags.some((tag) => Array.isArray(tag) && tag[0] === '-');
}

/** The refusal for `event` from a sender under `policy`, or undefined when it may be published. */
export function checkProtected(event: NostrEvent, policy: ProtectedPolicy): Rejection | undefined {
  if (embedsProtected(event)) return reject('blocked', 'this repost embeds a protected event (NIP-70); only its author may publish it');
  if (!isProtected(event)) return undefined;
  switch (policy.mode) {
    case 'accept':
      return undefined;
    case 'refuse':
      return reject('blocked', 'protected events (NIP-70) need authentication, which is disabled on this relay');
    case 'author':
      if (policy.authenticated.has(event.pubkey)) return undefined;
      if (policy.authenticated.size === 0) return reject('auth-required', 'this event is protected; authenticate as its author');
      return reject('restricted', 'this event is protected; only its author may publish it, and you are authenticated as someone else');
  }
}
