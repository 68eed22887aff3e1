import { describe, expect, it } from 'vitest';
import { expirationOf, isExpired } from '../../src/nips/nip40.js';

describe('NIP-40 expirationOf', () => {
  it('reads the expiration tag as unix seconds', () => {
    expect(expirationOf([['expiration', '1700000000']])).toBe(1_700_000_000);
    expect(
      expirationOf([
        ['t', 'x'],
        ['expiration', '0'],
      ]),
    ).toBe(0);
  });

  it('is undefined without an expiration tag', () => {
    expect(expirationOf([])).toBeUndefined();
    expect(expirationOf([['e', 'a'.repeat(64)]])).toBeUndefined();
  });

  it.each([
    ['missing value', ['expiration']],
    ['empty', ['expiration', '']],
    ['negative', ['expiration', '-5']],
    ['fractional', ['expiration', '1700000000.5']],
    ['exponent', ['expiration', '1e9']],
    ['hex', ['expiration', '0x10']],
    ['spaces', ['expiration', ' 17']],
    ['plus sign', ['expiration', '+17']],
    ['too large', ['expiration', '9'.repeat(20)]],
    ['words', ['expiration', 'tomorrow']],
  ])('treats a malformed value (%s) as no expiration', (_name, tag) => {
    expect(expirationOf([tag as string[]])).toBeUndefined();
  });

  it('only the first expiration tag counts, even when it is malformed', () => {
    expect(
      expirationOf([
        ['expiration', '100'],
        ['expiration', '200'],
      ]),
    ).toBe(100);
    expect(
      expirationOf([
        ['expiration', 'bad'],
        ['expiration', '200'],
      ]),
    ).toBeUndefined();
  });
});

describe('NIP-40 isExpired', () => {
  it('is expired at and after the expiration, not before', () => {
    const event = { tags: [['expiration', '1000']] };
    expect(isExpired(event, 999)).toBe(false);
    expect(isExpired(event, 1000)).toBe(true);
    expect(isExpired(event, 1001)).toBe(true);
  });

  it('never expires without a valid tag', () => {
    expect(isExpired({ tags: [] }, Number.MAX_SAFE_INTEGER)).toBe(false);
    expect(isExpired({ tags: [['expiration', '-1']] }, 10)).toBe(false);
  });
});
