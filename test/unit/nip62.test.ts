/** NIP-62 pure module: whether a kind 62 names this relay, whose vanish blocks an event. */
import { describe, expect, it } from 'vitest';
import { VANISH_KIND, requestsVanish, thisRelay, vanishSubjects } from '../../src/nips/nip62.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const request = (...relays: string[]) => ({ kind: VANISH_KIND, tags: relays.map((url) => ['relay', url]) });

describe('thisRelay', () => {
  it('with relay.url: host, port and path must match, scheme-insensitively, ignoring case and trailing slashes', () => {
    const match = thisRelay('wss://Relay.Example.org/nostr', 'ignored:1234');
    expect(match('wss://relay.example.org/nostr')).toBe(true);
    expect(match('ws://RELAY.example.org:443/nostr/')).toBe(true);
    expect(match('wss://relay.example.org')).toBe(false);
    expect(match('wss://other.example.org/nostr')).toBe(false);
    expect(match('ignored:1234')).toBe(false);
    expect(match('not a url')).toBe(false);
  });

  it('without relay.url: the Host the connection used', () => {
    const match = thisRelay('', '127.0.0.1:7777');
    expect(match('ws://127.0.0.1:7777')).toBe(true);
    expect(match('wss://127.0.0.1:7777/')).toBe(true);
    expect(match('ws://127.0.0.1:7778')).toBe(false);
  });

  it('without relay.url and without a connection (import, sync): nothing matches', () => {
    const match = thisRelay('', '');
    expect(match('ws://127.0.0.1:7777')).toBe(false);
    expect(match('ws://localhost')).toBe(false);
  });
});

describe('requestsVanish', () => {
  const here = thisRelay('wss://relay.example.org', '');
  it('a kind 62 naming this relay, or ALL_RELAYS, is a request to vanish from here', () => {
    expect(requestsVanish(request('wss://relay.example.org/'), here)).toBe(true);
    expect(requestsVanish(request('wss://elsewhere.example', 'ALL_RELAYS'), here)).toBe(true);
    expect(requestsVanish(request('wss://elsewhere.example', 'wss://relay.example.org'), here)).toBe(true);
  });
  it('naming only other relays, no relay tag, a lower-case all_relays or another kind: not', () => {
    expect(requestsVanish(request('wss://elsewhere.example'), here)).toBe(false);
    expect(requestsVanish(request(), here)).toBe(false);
    expect(requestsVanish(request('all_relays'), here)).toBe(false);
    expect(requestsVanish({ kind: 1, tags: [['relay', 'ALL_RELAYS']] }, here)).toBe(false);
    expect(requestsVanish({ kind: 5, tags: [['relay', 'wss://relay.example.org']] }, here)).toBe(false);
  });
  it('reads every relay tag, past valueless ones; this relay named in another tag does not count', () => {
    expect(
      requestsVanish({ kind: VANISH_KIND, tags: [['relay'], ['p', A], ['relay', 'wss://b'], ['relay', 'wss://relay.example.org']] }, here),
    ).toBe(true);
    expect(requestsVanish({ kind: VANISH_KIND, tags: [['relay'], ['r', 'wss://relay.example.org'], ['r', 'ALL_RELAYS']] }, here)).toBe(
      false,
    );
  });
});

describe('vanishSubjects', () => {
  it('the author; for a gift wrap also each distinct valid p-tagged recipient', () => {
    expect(vanishSubjects({ pubkey: A, kind: 1, tags: [['p', B]] })).toEqual([A]);
    expect(
      vanishSubjects({
        pubkey: A,
        kind: 1059,
        tags: [
          ['p', B],
          ['p', B],
          ['p', 'xyz'],
          ['e', A],
        ],
      }),
    ).toEqual([A, B]);
  });
});
