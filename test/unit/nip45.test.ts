/** NIP-45 hll (src/nips/nip45.ts) against nostr-tools' own helpers, and the COUNT frame. */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import * as nt from 'nostr-tools/nip45';
import { hllHex, hllOffset } from '../../src/nips/nip45.js';
import { countFrame } from '../../src/protocol/frames.js';

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

describe('hllOffset', () => {
  const id = hex(32);
  const pubkey = hex(32);

  it('gives the offset of the tag value for each canonical query of NIP-45 (nostr-tools getCountManyFilter)', () => {
    const directives: [nt.CountManyDirective, string][] = [
      ['reactions', id],
      ['reposts', id],
      ['quotes', id],
      ['replies', id],
      ['comments', id],
      ['followers', pubkey],
    ];
    for (const [directive, value] of directives) {
      expect(hllOffset([nt.getCountManyFilter(value, directive)]), directive).toBe(nt.computeOffset(value));
    }
  });

  it('reads the canonical shapes in any key order and kinds order; an address → its pubkey', () => {
    expect(hllOffset([{ kinds: [7], '#e': [id] }])).toBe(nt.computeOffset(id));
    expect(hllOffset([{ '#q': [id], kinds: [1111, 1] }])).toBe(nt.computeOffset(id));
    const address = `30023:${pubkey}:slug`;
    expect(hllOffset([{ '#q': [address], kinds: [1, 1111] }])).toBe(parseInt(pubkey[32]!, 16) + 8);
  });

  it('none for every other query: NDK would report distinct authors instead of the count', () => {
    const other: unknown[][] = [
      [{ authors: [pubkey], '#t': ['nostr'] }],
      [{ kinds: [1], authors: [pubkey] }],
      [{ '#t': ['nostr'], kinds: [1] }],
      [{ '#e': [id] }],
      [{ '#e': [id], kinds: [7, 6] }],
      [{ '#e': [id, hex(32)], kinds: [7] }],
      [{ '#e': [id], kinds: [7], since: 1 }],
      [{ '#e': [id], kinds: [7], limit: 10 }],
      [{ '#e': [id], kinds: [7], authors: [pubkey] }],
      [{ '#p': [pubkey], kinds: [7] }],
      [{ '#e': [id], '#p': [pubkey] }],
      [{ '#q': [id], kinds: [1] }],
      [
        { '#e': [id], kinds: [7] },
        { '#p': [pubkey], kinds: [3] },
      ],
      [],
      [undefined],
    ];
    for (const filters of other) expect(hllOffset(filters), JSON.stringify(filters)).toBeUndefined();
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
