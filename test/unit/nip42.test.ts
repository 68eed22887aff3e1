import { makeAuthEvent } from 'nostr-tools/nip42';
import { finalizeEvent } from 'nostr-tools/pure';
import { describe, expect, it } from 'vitest';
import { NobleVerifier } from '../../src/event/verify.js';
import { hostAddress, newChallenge, relayAddress, relayMatches, verifyAuthEvent, type AuthContext } from '../../src/nips/nip42.js';
import { parseClientMessage } from '../../src/protocol/parse.js';
import { newKeys, now } from '../helpers/events.js';

const keys = newKeys();
const RELAY = 'wss://relay.example.org';

function context(overrides: Partial<AuthContext> = {}): AuthContext {
  return { challenge: 'c0ffee', relayUrl: RELAY, host: '', now: now(), maxAgeSeconds: 600, ...overrides };
}

function authEvent(overrides: { kind?: number; created_at?: number; relay?: string; challenge?: string } = {}) {
  const template = makeAuthEvent(overrides.relay ?? RELAY, overrides.challenge ?? 'c0ffee');
  return finalizeEvent({ ...template, kind: overrides.kind ?? template.kind, created_at: overrides.created_at ?? now() }, keys.secret);
}

const verifier = new NobleVerifier();
const check = (input: unknown, ctx: AuthContext = context()) => verifyAuthEvent(input, ctx, verifier);

const reasonOf = (result: Awaited<ReturnType<typeof check>>): string =>
  result.ok ? 'ok' : `${result.rejection.prefix}: ${result.rejection.text}`;

describe('challenges', () => {
  it('are random per call, 32 hex characters', () => {
    const a = newChallenge();
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(Array.from({ length: 100 }, newChallenge)).size).toBe(100);
  });
});

describe('relay URL matching', () => {
  it('normalises scheme (ws/wss), host case, trailing slash and default ports', () => {
    for (const url of [
      'wss://relay.example.org',
      'wss://Relay.Example.ORG/',
      'ws://relay.example.org',
      'wss://relay.example.org:443',
      'ws://relay.example.org:80/',
    ]) {
      expect(relayMatches(url, RELAY, ''), url).toBe(true);
    }
  });

  it('refuses another host, port, path or a non-websocket URL', () => {
    for (const url of [
      'wss://other.example.org',
      'wss://relay.example.org:7777',
      'wss://relay.example.org/x',
      'https://relay.example.org',
      'relay.example.org',
      '',
    ]) {
      expect(relayMatches(url, RELAY, ''), url).toBe(false);
    }
  });

  it('compares the path of a configured URL with a path', () => {
    expect(relayMatches('wss://example.org/relay/', 'wss://example.org/relay', '')).toBe(true);
    expect(relayMatches('wss://example.org/', 'wss://example.org/relay', '')).toBe(false);
  });

  it('without a configured URL, matches the Host header of the connection', () => {
    expect(relayMatches('ws://127.0.0.1:7777/', '', '127.0.0.1:7777')).toBe(true);
    expect(relayMatches('wss://relay.example.org', '', 'Relay.example.org')).toBe(true);
    expect(relayMatches('wss://relay.example.org', '', 'relay.example.org:443')).toBe(true);
    expect(relayMatches('ws://[::1]:7777', '', '[::1]:7777')).toBe(true);
    expect(relayMatches('ws://127.0.0.1:7778', '', '127.0.0.1:7777')).toBe(false);
    expect(relayMatches('ws://127.0.0.1:7777', '', '')).toBe(false);
  });

  it('reduces addresses to host[:port] and path', () => {
    expect(relayAddress('wss://A.b:443/x/')).toEqual({ host: 'a.b', path: '/x' });
    expect(relayAddress('http://a.b')).toBeUndefined();
    expect(hostAddress('a.b:80')).toBe('a.b');
    expect(hostAddress('a b')).toBeUndefined();
  });
});

describe('AUTH event checks', () => {
  it('accepts a valid event built with nostr-tools nip42.makeAuthEvent', async () => {
    const result = await check(authEvent());
    expect(result.ok).toBe(true);
  });

  it.each([
    ['wrong kind', { kind: 1 }, /^invalid: wrong kind/],
    ['wrong relay', { relay: 'wss://elsewhere.example.org' }, /^invalid: wrong relay/],
    ['wrong challenge', { challenge: 'nope' }, /^invalid: wrong challenge/],
    ['30 minutes old', { created_at: now() - 1800 }, /^invalid: created_at is too old/],
    ['30 minutes ahead', { created_at: now() + 1800 }, /^invalid: created_at is too far in the future/],
  ])('refuses %s', async (_, overrides, expected) => {
    const event = authEvent(overrides);
    const result = await check(event);
    expect(reasonOf(result)).toMatch(expected);
    expect(result.ok ? undefined : result.id).toBe(event.id);
  });

  it('accepts created_at within the window either way', async () => {
    expect((await check(authEvent({ created_at: now() - 590 }))).ok).toBe(true);
    expect((await check(authEvent({ created_at: now() + 590 }))).ok).toBe(true);
    expect((await check(authEvent({ created_at: now() - 590 }), context({ maxAgeSeconds: 60 }))).ok).toBe(false);
  });

  it('refuses missing tags, a forged id and a bad signature', async () => {
    const base = authEvent();
    expect(reasonOf(await check({ ...base, tags: [['relay', RELAY]] }))).toMatch(/^invalid: missing challenge/);
    expect(reasonOf(await check({ ...base, tags: [['challenge', 'c0ffee']] }))).toMatch(/^invalid: missing relay/);
    expect(reasonOf(await check({ ...base, content: 'changed' }))).toMatch(/^invalid: id is not/);
    const badSig = { ...base, sig: (base.sig[0] === '0' ? '1' : '0') + base.sig.slice(1) };
    expect(reasonOf(await check(badSig))).toMatch(/^invalid: bad signature/);
  });

  it('refuses what is not an event, without an id when none is readable', async () => {
    const result = await check({ kind: 22242 });
    expect(result.ok).toBe(false);
    expect(result.ok ? 'x' : result.id).toBeUndefined();
  });
});

describe('parsing AUTH messages', () => {
  it('parses ["AUTH", event]', () => {
    expect(parseClientMessage('["AUTH",{"id":"x"}]')).toEqual({ type: 'AUTH', event: { id: 'x' } });
  });

  it('answers a malformed AUTH with invalid:', () => {
    for (const text of ['["AUTH"]', '["AUTH","challenge"]', '["AUTH",null]', '["AUTH",[]]']) {
      const message = parseClientMessage(text);
      expect(message.type).toBe('malformed');
      expect(message.type === 'malformed' && message.message).toMatch(/^invalid: AUTH/);
    }
  });
});
