import { createHash } from 'node:crypto';
import { finalizeEvent, type EventTemplate } from 'nostr-tools/pure';
import { describe, expect, it } from 'vitest';
import { NobleVerifier } from '../../src/event/verify.js';
import { verifyHttpAuth, type HttpAuthContext } from '../../src/nips/nip98.js';
import { newKeys } from '../helpers/events.js';

const keys = newKeys();
const NOW = 1_800_000_000;
const body = new TextEncoder().encode('{"method":"supportedmethods","params":[]}');
const ctx: HttpAuthContext = { relayUrl: '', host: '127.0.0.1:7777', path: '/', method: 'POST', body, now: NOW };
const verifier = new NobleVerifier();
const check = (value: string, context: HttpAuthContext = ctx) => verifyHttpAuth(value, context, verifier);
const sha256Hex = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

function header(change: (t: EventTemplate) => EventTemplate = (t) => t, scheme = 'Nostr '): string {
  const template: EventTemplate = {
    kind: 27235,
    created_at: NOW,
    content: '',
    tags: [
      ['u', 'http://127.0.0.1:7777/'],
      ['method', 'POST'],
      ['payload', sha256Hex(body)],
    ],
  };
  return scheme + Buffer.from(JSON.stringify(finalizeEvent(change(template), keys.secret))).toString('base64');
}
const withTag =
  (name: string, value: string | undefined) =>
  (t: EventTemplate): EventTemplate => ({
    ...t,
    tags: value === undefined ? t.tags.filter((tag) => tag[0] !== name) : t.tags.map((tag) => (tag[0] === name ? [name, value] : tag)),
  });

describe('NIP-98 checks', () => {
  it('accepts a correct header and verifies the signature', async () => {
    expect(await check(header())).toMatchObject({ ok: true, event: { pubkey: keys.pubkey } });
  });

  it.each([
    ['missing header', ''],
    ['wrong scheme', header(undefined, 'Bearer ')],
    ['not base64 JSON', 'Nostr %%%'],
  ])('refuses: %s', async (_, value) => {
    expect((await check(value)).ok).toBe(false);
  });

  it.each([
    ['wrong kind', (t: EventTemplate) => ({ ...t, kind: 22242 })],
    ['too old', (t: EventTemplate) => ({ ...t, created_at: NOW - 61 })],
    ['too far ahead', (t: EventTemplate) => ({ ...t, created_at: NOW + 61 })],
    ['no u tag', withTag('u', undefined)],
    ['u of another host', withTag('u', 'http://example.org/')],
    ['u with another path', withTag('u', 'http://127.0.0.1:7777/admin')],
    ['wrong method', withTag('method', 'GET')],
    ['no payload', withTag('payload', undefined)],
    ['wrong payload', withTag('payload', sha256Hex(new Uint8Array([1])))],
  ])('refuses: %s', async (_, change) => {
    expect((await check(header(change))).ok).toBe(false);
  });

  it('refuses a tampered id and a bad signature', async () => {
    const event = JSON.parse(Buffer.from(header().slice(6), 'base64').toString());
    const tampered = `Nostr ${Buffer.from(JSON.stringify({ ...event, content: 'x' })).toString('base64')}`;
    expect(await check(tampered)).toMatchObject({ ok: false, error: expect.stringMatching(/id/) });
    const badSig = `Nostr ${Buffer.from(JSON.stringify({ ...event, sig: 'ab'.repeat(64) })).toString('base64')}`;
    expect(await check(badSig)).toMatchObject({ ok: false, error: expect.stringMatching(/signature/) });
  });

  it('60 s either way is inside the window', async () => {
    expect((await check(header((t) => ({ ...t, created_at: NOW - 60 })))).ok).toBe(true);
    expect((await check(header((t) => ({ ...t, created_at: NOW + 60 })))).ok).toBe(true);
  });
});

describe('u tag matching', () => {
  /** Whether a header whose u tag is `u` passes on a relay at `own`. */
  const urlMatches = async (u: string, own: Pick<HttpAuthContext, 'relayUrl' | 'host' | 'path'>): Promise<boolean> =>
    (await check(header(withTag('u', u)), { ...ctx, ...own })).ok;

  it('with relay.url: ws↔http and wss↔https are the same address; host, port and path must match', async () => {
    const own = { relayUrl: 'wss://relay.example.org', host: 'ignored:1', path: '/' };
    expect(await urlMatches('https://relay.example.org/', own)).toBe(true);
    expect(await urlMatches('https://Relay.Example.org', own)).toBe(true);
    expect(await urlMatches('wss://relay.example.org:443/', own)).toBe(true);
    expect(await urlMatches('http://relay.example.org', own)).toBe(true);
    expect(await urlMatches('https://relay.example.org:8443/', own)).toBe(false);
    expect(await urlMatches('https://relay.example.org/x', own)).toBe(false);
    expect(await urlMatches('https://other.example.org/', own)).toBe(false);
    expect(await urlMatches('ftp://relay.example.org/', own)).toBe(false);
    expect(await urlMatches('not a url', own)).toBe(false);
  });

  it('without relay.url: the Host header', async () => {
    const own = { relayUrl: '', host: 'localhost:7777', path: '/' };
    expect(await urlMatches('http://localhost:7777/', own)).toBe(true);
    expect(await urlMatches('ws://localhost:7777', own)).toBe(true);
    expect(await urlMatches('http://localhost:7778/', own)).toBe(false);
    expect(await urlMatches('http://localhost:7777/', { ...own, host: '' })).toBe(false);
  });
});
