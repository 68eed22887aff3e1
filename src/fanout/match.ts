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

/** Where a filter is filed: a field ('ids', 'authors', 'kinds' or a tag letter) and its values. */
interface Key {
  field: string;
  values: Iterable<string | number>;
}

/**
 * Inverted index from ids, authors, tag values and kinds to the filters that name them, so a new
 * event is matched only against filters that could match it. Each filter is filed under one field,
 * its most selective condition; filters with none of those sit in `unindexed`. Lookups are
 * field → value → entries (no key strings are built per event).
 */
export class SubscriptionIndex<S extends Indexable> {
  private readonly byKey = new Map<string, Map<string | number, Set<Entry<S>>>>();
  private readonly unindexed = new Set<Entry<S>>();
  private readonly entries = new Map<S, { entry: Entry<S>; key: Key | undefined }[]>();

  get size(): number {
    return this.entries.size;
  }

  add(subscription: S): void {
    const filed: { entry: Entry<S>; key: Key | undefined }[] = [];
    for (const filter of subscription.filters) {
      const entry: Entry<S> = { subscription, filter };
      const key = indexKey(filter);
      filed.push({ entry, key });
      if (key === undefined) {
        this.unindexed.add(entry);
        continue;
      }
      let byValue = this.byKey.get(key.field);
      if (!byValue) this.byKey.set(key.field, (byValue = new Map()));
      for (const value of key.values) {
        let set = byValue.get(value);
        if (!set) byValue.set(value, (set = new Set()));
        set.add(entry);
      }
    }
    this.entries.set(subscription, filed);
  }

  remove(subscription: S): void {
    const filed = this.entries.get(subscription);
    if (!filed) return;
    this.entries.delete(subscription);
    for (const { entry, key } of filed) {
      if (key === undefined) {
        this.unindexed.delete(entry);
        continue;
      }
      const byValue = this.byKey.get(key.field);
      if (!byValue) continue;
      for (const value of key.values) {
        const set = byValue.get(value);
        if (!set) continue;
        set.delete(entry);
        if (set.size === 0) byValue.delete(value);
      }
      if (byValue.size === 0) this.byKey.delete(key.field);
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
    consider(this.byKey.get('ids')?.get(event.id));
    consider(this.byKey.get('authors')?.get(event.pubkey));
    consider(this.byKey.get('kinds')?.get(event.kind));
    for (const tag of event.tags) {
      const name = tag[0];
      if (name !== undefined && name.length === 1 && tag[1] !== undefined) consider(this.byKey.get(name)?.get(tag[1]));
    }
    consider(this.unindexed);
    return result;
  }
}

function indexKey(filter: CompiledFilter): Key | undefined {
  if (filter.ids) return { field: 'ids', values: filter.ids };
  if (filter.authors) return { field: 'authors', values: filter.authors };
  const firstTag = filter.tags[0];
  if (firstTag) return { field: firstTag[0], values: firstTag[1] };
  if (filter.kinds) return { field: 'kinds', values: filter.kinds };
  return undefined;
}
