/**
 * NIP-09 deletion requests (kind 5). Pure: reads the targets of a deletion and says who may delete
 * what; src/store/write.ts applies the effects in the one write transaction.
 */
import { kindClass } from '../event/kinds.js';
import type { NostrEvent } from '../event/types.js';
import { HEX64 } from '../event/validate.js';

export const DELETION_KIND = 5;
export const GIFT_WRAP_KIND = 1059;

/** An `a` target: every version of (kind, pubkey, d) with created_at ≤ the deletion's. */
export interface AddressTarget {
  kind: number;
  pubkey: string;
  /** '' for replaceable kinds. */
  d: string;
}

export interface DeletionTargets {
  /** Distinct event ids from `e` tags (64 lowercase hex). */
  ids: string[];
  /** Distinct addresses from `a` tags whose pubkey is the deletion's author. */
  addresses: AddressTarget[];
}

const KIND = /^\d{1,10}$/;

/**
 * The targets of a kind-5 event. `e` values that are not event ids are ignored; `a` values must read
 * `kind:pubkey:d` with a replaceable or addressable kind and the deleter's own pubkey (another
 * author's address can never be deleted, so it is dropped here). For replaceable kinds the d part is
 * ignored (`10001:<pk>:` and `10001:<pk>` both name the one version). `k` tags are not required.
 */
export function deletionTargets(deletion: Pick<NostrEvent, 'pubkey' | 'tags'>): DeletionTargets {
  const ids = new Set<string>();
  const addresses = new Map<string, AddressTarget>();
  for (const tag of deletion.tags) {
    const value = tag[1];
    if (value === undefined) continue;
    if (tag[0] === 'e') {
      if (HEX64.test(value)) ids.add(value);
    } else if (tag[0] === 'a') {
      const address = parseAddress(value);
      if (address && address.pubkey === deletion.pubkey) addresses.set(`${address.kind}:${address.d}`, address);
    }
  }
  return { ids: [...ids], addresses: [...addresses.values()] };
}

/** `kind:pubkey:d` (d may contain colons), or undefined when malformed or not an address kind. */
function parseAddress(value: string): AddressTarget | undefined {
  const first = value.indexOf(':');
  if (first === -1) return undefined;
  const second = value.indexOf(':', first + 1);
  const kindText = value.slice(0, first);
  const pubkey = second === -1 ? value.slice(first + 1) : value.slice(first + 1, second);
  const d = second === -1 ? '' : value.slice(second + 1);
  if (!KIND.test(kindText) || !HEX64.test(pubkey)) return undefined;
  const kind = Number(kindText);
  switch (kindClass(kind)) {
    case 'replaceable':
      return { kind, pubkey, d: '' };
    case 'addressable':
      return { kind, pubkey, d };
    default:
      return undefined;
  }
}

/**
 * May `deleter` delete `target`? Its author may; a gift wrap (1059) also by a p-tagged recipient.
 * A deletion request is never deleted by another one (NIP-09: "no effect").
 */
export function mayDelete(target: Pick<NostrEvent, 'pubkey' | 'kind' | 'tags'>, deleter: string): boolean {
  if (target.kind === DELETION_KIND) return false;
  if (target.pubkey === deleter) return true;
  return target.kind === GIFT_WRAP_KIND && target.tags.some((tag) => tag[0] === 'p' && tag[1] === deleter);
}
