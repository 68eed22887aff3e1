/**
 * NIP-45 COUNT: the optional HyperLogLog (`hll`) field, only for the canonical queries NIP-45 lists, and
 * computed with nostr-tools' own helpers so our registers merge with those of other relays and clients
 * (256 registers, offset from the filter's tag value, nostr-tools' 7-byte window for the leading-zero count).
 */
import { computeOffset, feedPubkey, hllEncode, newHll } from 'nostr-tools/nip45';

/**
 * NIP-45's "common filters": one tag attribute holding one value, and exactly these kinds. Clients
 * read an hll as the number of distinct authors (NDK's `count()` reports its estimate instead of the
 * count), which is the answer only for these: one reaction, repost, quote, reply, comment or follow
 * per person.
 */
const CANONICAL: readonly { tag: string; kinds: readonly number[] }[] = [
  { tag: '#e', kinds: [7] }, // reactions
  { tag: '#e', kinds: [6] }, // reposts
  { tag: '#q', kinds: [1, 1111] }, // quotes
  { tag: '#e', kinds: [1] }, // replies
  { tag: '#E', kinds: [1111] }, // comments
  { tag: '#p', kinds: [3] }, // followers
];

/**
 * The hll offset for a COUNT whose filters (as sent, already accepted) are one canonical query —
 * exactly the keys `kinds` and one `#x` with one value, kinds in any order — else undefined (no hll).
 */
export function hllOffset(filters: readonly unknown[]): number | undefined {
  if (filters.length !== 1) return undefined;
  const filter = filters[0];
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) return undefined;
  const keys = Object.keys(filter);
  if (keys.length !== 2 || !keys.includes('kinds')) return undefined;
  const tag = keys.find((key) => key !== 'kinds')!;
  const { kinds, [tag]: values } = filter as Record<string, unknown>;
  if (!Array.isArray(kinds) || !Array.isArray(values) || values.length !== 1 || typeof values[0] !== 'string') return undefined;
  const wanted = new Set(kinds);
  const canonical = CANONICAL.some(
    (shape) => shape.tag === tag && shape.kinds.length === wanted.size && shape.kinds.every((kind) => wanted.has(kind)),
  );
  return canonical ? computeOffset(values[0]) : undefined;
}

/** 512 hex characters: the registers fed with every pubkey (64 lowercase hex) once. */
export function hllHex(pubkeys: Iterable<string>, offset: number): string {
  let registers = newHll();
  for (const pubkey of pubkeys) registers = feedPubkey(registers, pubkey, offset);
  return hllEncode(registers);
}
