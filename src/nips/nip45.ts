/**
 * NIP-45 COUNT: the optional HyperLogLog (`hll`) field, computed with nostr-tools' own helpers so our
 * registers merge with those of other relays and clients (256 registers, offset from the filter's
 * first tag value, nostr-tools' 7-byte window for the leading-zero count).
 */
import { computeOffset, feedPubkey, getFilterFirstTagValue, hllEncode, newHll } from 'nostr-tools/nip45';

/**
 * The hll offset for a COUNT, from its first filter as sent (JSON key order kept): the first value of
 * its first `#x` key; undefined when that filter has no tag attribute (then no hll is sent).
 */
export function hllOffset(firstFilter: unknown): number | undefined {
  if (typeof firstFilter !== 'object' || firstFilter === null) return undefined;
  const value = getFilterFirstTagValue(firstFilter as Parameters<typeof getFilterFirstTagValue>[0]);
  return value === undefined ? undefined : computeOffset(value);
}

/** 512 hex characters: the registers fed with every pubkey (64 lowercase hex) once. */
export function hllHex(pubkeys: Iterable<string>, offset: number): string {
  let registers = newHll();
  for (const pubkey of pubkeys) registers = feedPubkey(registers, pubkey, offset);
  return hllEncode(registers);
}
