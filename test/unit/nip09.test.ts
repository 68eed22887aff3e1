import { describe, expect, it } from 'vitest';
import { deletionTargets, mayDelete } from '../../src/nips/nip09.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const ID1 = '1'.repeat(64);
const ID2 = '2'.repeat(64);

/** The address an `a` tag names, when `deleter` may delete it. */
const aTarget = (value: string, deleter = A) => deletionTargets({ pubkey: deleter, tags: [['a', value]] }).addresses[0];

describe('NIP-09 `a` tags', () => {
  it('reads kind:pubkey:d for addressable kinds, d may contain colons', () => {
    expect(aTarget(`30023:${A}:my-post`)).toEqual({ kind: 30023, pubkey: A, d: 'my-post' });
    expect(aTarget(`30023:${A}:a:b:c`)).toEqual({ kind: 30023, pubkey: A, d: 'a:b:c' });
    expect(aTarget(`30023:${A}:`)).toEqual({ kind: 30023, pubkey: A, d: '' });
  });

  it('replaceable kinds: d ignored, trailing colon optional', () => {
    expect(aTarget(`10001:${A}:`)).toEqual({ kind: 10001, pubkey: A, d: '' });
    expect(aTarget(`10001:${A}`)).toEqual({ kind: 10001, pubkey: A, d: '' });
    expect(aTarget(`0:${A}:whatever`)).toEqual({ kind: 0, pubkey: A, d: '' });
  });

  it.each([
    ['regular kind', `1:${A}:x`, A],
    ['ephemeral kind', `20000:${A}:x`, A],
    ['bad kind', `x:${A}:d`, A],
    ['negative kind', `-1:${A}:d`, A],
    ['short pubkey', '30023:abcd:d', 'abcd'],
    ['uppercase pubkey', `30023:${A.toUpperCase()}:d`, A.toUpperCase()],
    ['no colon', '30023', A],
    ['empty', '', A],
  ])('rejects %s', (_name, value, deleter) => {
    expect(aTarget(value, deleter)).toBeUndefined();
  });
});

describe('NIP-09 deletionTargets', () => {
  it('collects distinct e ids and the deleter’s own addresses', () => {
    const targets = deletionTargets({
      pubkey: A,
      tags: [
        ['e', ID1],
        ['e', ID1],
        ['e', ID2],
        ['e', 'not-an-id'],
        ['e'],
        ['a', `30023:${A}:post`],
        ['a', `30023:${A}:post`],
        ['a', `30023:${B}:post`], // another author's address: never deletable
        ['a', `10001:${A}:`],
        ['k', '1'],
        ['p', B],
      ],
    });
    expect(targets.ids).toEqual([ID1, ID2]);
    expect(targets.addresses).toEqual([
      { kind: 30023, pubkey: A, d: 'post' },
      { kind: 10001, pubkey: A, d: '' },
    ]);
  });

  it('does not require k tags', () => {
    expect(deletionTargets({ pubkey: A, tags: [['e', ID1]] }).ids).toEqual([ID1]);
  });
});

describe('NIP-09 mayDelete', () => {
  it('the author may delete their own event, nobody else', () => {
    expect(mayDelete({ pubkey: A, kind: 1, tags: [] }, A)).toBe(true);
    expect(mayDelete({ pubkey: A, kind: 1, tags: [['p', B]] }, B)).toBe(false);
  });

  it('a gift wrap (1059) may also be deleted by its p-tagged recipient', () => {
    const wrap = { pubkey: A, kind: 1059, tags: [['p', B]] };
    expect(mayDelete(wrap, B)).toBe(true);
    expect(mayDelete(wrap, A)).toBe(true);
    expect(mayDelete(wrap, 'c'.repeat(64))).toBe(false);
  });

  it('a deletion request is never deleted (deleting a deletion has no effect)', () => {
    expect(mayDelete({ pubkey: A, kind: 5, tags: [] }, A)).toBe(false);
  });
});
