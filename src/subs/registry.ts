import type { NostrEvent } from '../event/types.js';
import type { CompiledFilter } from '../filter/compile.js';
import { matchFilter } from '../filter/match.js';

/** Anything filed in the index: a live subscription with its filters. */
export interface Indexable {
  readonly filters: readonly CompiledFilter[];
}

interface Entry<S> {
  subscription: S;
  filter: CompiledFilter;
}

/**
 * Inverted index from ids, authors, tag values and kinds to the filters that name them, so a new
 * event is matched only against filters that could match it. Each filter is filed under one key,
 * its most selective condition; filters with none of those sit in `unindexed`.
 */
export class SubscriptionIndex<S extends Indexable> {
  private readonly byKey = new Map<string, Set<Entry<S>>>();
  private readonly unindexed = new Set<Entry<S>>();
  private readonly entries = new Map<S, { keys: string[]; entries: Entry<S>[] }>();

  get size(): number {
    return this.entries.size;
  }

  add(subscription: S): void {
    const keys: string[] = [];
    const entries: Entry<S>[] = [];
    for (const filter of subscription.filters) {
      const entry: Entry<S> = { subscription, filter };
      entries.push(entry);
      const filterKeys = indexKeys(filter);
      if (filterKeys === undefined) {
        this.unindexed.add(entry);
        continue;
      }
      for (const key of filterKeys) {
        let set = this.byKey.get(key);
        if (!set) this.byKey.set(key, (set = new Set()));
        set.add(entry);
        keys.push(key);
      }
    }
    this.entries.set(subscription, { keys, entries });
  }

  remove(subscription: S): void {
    const record = this.entries.get(subscription);
    if (!record) return;
    this.entries.delete(subscription);
    for (const entry of record.entries) this.unindexed.delete(entry);
    for (const key of record.keys) {
      const set = this.byKey.get(key);
      if (!set) continue;
      for (const entry of record.entries) set.delete(entry);
      if (set.size === 0) this.byKey.delete(key);
    }
  }

  /** Every subscription with at least one filter matching the event, each once. */
  matching(event: NostrEvent): Set<S> {
    const result = new Set<S>();
    const consider = (entries: Set<Entry<S>> | undefined): void => {
      if (!entries) return;
      for (const entry of entries) {
        if (!result.has(entry.subscription) && matchFilter(entry.filter, event)) result.add(entry.subscription);
      }
    };
    consider(this.byKey.get(`i:${event.id}`));
    consider(this.byKey.get(`a:${event.pubkey}`));
    consider(this.byKey.get(`k:${event.kind}`));
    for (const tag of event.tags) {
      if (tag[0] !== undefined && tag[0].length === 1 && tag[1] !== undefined) consider(this.byKey.get(`t:${tag[0]}:${tag[1]}`));
    }
    consider(this.unindexed);
    return result;
  }
}

function indexKeys(filter: CompiledFilter): string[] | undefined {
  if (filter.ids) return [...filter.ids].map((id) => `i:${id}`);
  if (filter.authors) return [...filter.authors].map((pubkey) => `a:${pubkey}`);
  const firstTag = filter.tags[0];
  if (firstTag) return [...firstTag[1]].map((value) => `t:${firstTag[0]}:${value}`);
  if (filter.kinds) return [...filter.kinds].map((kind) => `k:${kind}`);
  return undefined;
}
