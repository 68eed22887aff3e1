import type { NostrEvent } from '../event/types.js';
import type { CompiledFilter } from './compile.js';
import { matchesSearch } from './search.js';

/** NIP-01 filter semantics: every condition present must hold (limit plays no part); NIP-50 `search` too. */
export function matchFilter(filter: CompiledFilter, event: NostrEvent): boolean {
  if (filter.ids && !filter.ids.has(event.id)) return false;
  if (filter.authors && !filter.authors.has(event.pubkey)) return false;
  if (filter.kinds && !filter.kinds.has(event.kind)) return false;
  if (filter.notKinds?.has(event.kind)) return false;
  if (filter.since !== undefined && event.created_at < filter.since) return false;
  if (filter.until !== undefined && event.created_at > filter.until) return false;
  for (const [name, values] of filter.tags) {
    if (!event.tags.some((tag) => tag[0] === name && tag[1] !== undefined && values.has(tag[1]))) return false;
  }
  // NIP-50 live matching: every search phrase in the content (see nips/50.md).
  if (filter.search && !matchesSearch(filter.search, event.content)) return false;
  return true;
}
