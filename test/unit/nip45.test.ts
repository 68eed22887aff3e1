/** NIP-45 hll (src/nips/nip45.ts) against nostr-tools' own helpers, and the COUNT frame. */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import * as nt from 'nostr-tools/nip45';
import { hllHex, hllOffset } from '../../src/nips/nip45.js';
import { countFrame } from '../../src/protocol/frames.js';

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

describe('hllOffset', () => {
  it('follows the first #tag of the filter as sent; none without a tag attribute', () => {
    const id = hex(32);
    expect(hllOffset({ '#e': [id], kinds: [7] })).toBe(nt.computeOffset(id));
    expect(hllOffset({ kinds: [3], '#p': [id], '#e': [hex(32)] })).toBe(nt.computeOffset(id));
    expect(hllOffset({ '#t': ['nostr'] })).toBe(nt.computeOffset('nostr')); // sha256 of the value
    const address = `30023:${id}:slug`;
    expect(hllOffset({ '#a': [address] })).toBe(parseInt(id[32]!, 16) + 8); // address → its pubkey
    expect(hllOffset({ kinds: [1], authors: [id] })).toBeUndefined();
    expect(hllOffset(undefined)).toBeUndefined();
    for (const value of [id, 'x', address]) {
      const offset = hllOffset({ '#q': [value] })!;
      expect(offset).toBeGreaterThanOrEqual(8);
      expect(offset).toBeLessThanOrEqual(23);
    }
  });
});

describe('hllHex', () => {
  it('equals nostr-tools feedPubkey/hllEncode, merges with its registers, estimates the count', () => {
    // Deterministic keys: with random ones the estimate's error is itself random (a 0.25 miss was seen).
    const pubkeys = Array.from({ length: 3000 }, (_, i) => createHash('sha256').update(`pubkey ${i}`).digest('hex'));
    const offset = nt.computeOffset(createHash('sha256').update('filter tag value').digest('hex'));
    const ours = hllHex(pubkeys, offset);
    expect(ours).toMatch(/^[0-9a-f]{512}$/);
    let theirs = nt.newHll();
    for (const pubkey of pubkeys) theirs = nt.feedPubkey(theirs, pubkey, offset);
    expect(ours).toBe(nt.hllEncode(theirs));

    // Two relays holding overlapping halves: merged registers equal those of the union.
    const left = nt.hllDecode(hllHex(pubkeys.slice(0, 2000), offset))!;
    let right = nt.newHll();
    for (const pubkey of pubkeys.slice(1000)) right = nt.feedPubkey(right, pubkey, offset);
    expect(nt.hllEncode(nt.mergeHll(left, right))).toBe(ours);
    const estimate = nt.estimateCount(nt.hllDecode(ours)!);
    expect(Math.abs(estimate - 3000) / 3000).toBeLessThan(0.2);
  });

  it('no pubkeys: 256 zero registers', () => {
    expect(hllHex([], 8)).toBe('0'.repeat(512));
  });
});

describe('countFrame', () => {
  it('adds hll only when given', () => {
    expect(JSON.parse(countFrame('q', 5))).toEqual(['COUNT', 'q', { count: 5 }]);
    expect(JSON.parse(countFrame('q', 5, 'ab'.repeat(256)))).toEqual(['COUNT', 'q', { count: 5, hll: 'ab'.repeat(256) }]);
  });
});
