/**
 * NIP-42 AUTH end to end: the real relay over real sockets, AUTH events built with nostr-tools'
 * `nip42.makeAuthEvent`, and nostr-tools' `Relay` answering the challenge the way clients do.
 * Cases follow /work/shared/NIPS-CHECKLIST.md "NIP-42" items 1–5 and 9.
 */
import { makeAuthEvent } from 'nostr-tools/nip42';
import { finalizeEvent, type EventTemplate, type VerifiedEvent } from 'nostr-tools/pure';
import type { Relay } from 'nostr-tools/relay';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, type Frame } from '../helpers/client.js';
import { newKeys, now, signed, type Keys } from '../helpers/events.js';
import { nextAfter, okFrameProblem } from '../helpers/frames.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { barrier } from '../helpers/sync.js';
import { challengeReceived, toolsRelay } from '../helpers/tools.js';

const PUBLIC_URL = 'wss://relay.example.org';

let relay: TestRelay;
/** Configured with a public URL, as behind a TLS proxy. */
let proxied: TestRelay;
/** auth.enabled: false. */
let disabled: TestRelay;

beforeAll(async () => {
  [relay, proxied, disabled] = await Promise.all([
    startTestRelay(),
    startTestRelay({ relay: { url: PUBLIC_URL } }),
    startTestRelay({ auth: { enabled: false } }),
  ]);
});

afterAll(async () => {
  await Promise.all([relay?.cleanup(), proxied?.cleanup(), disabled?.cleanup()]);
});

const opened: RawClient[] = [];
const tools: Relay[] = [];

afterEach(() => {
  const problems = opened.flatMap((client) => client.frames.map(okFrameProblem).filter((p): p is string => p !== undefined));
  for (const client of opened.splice(0)) client.socket.terminate();
  for (const r of tools.splice(0)) r.close();
  expect(problems).toEqual([]);
});

async function connect(url = relay.url): Promise<RawClient> {
  const client = await RawClient.connect(url);
  client.socket.on('error', () => {});
  opened.push(client);
  return client;
}

async function challengeOf(client: RawClient): Promise<string> {
  const frame = await client.next((f) => f[0] === 'AUTH');
  return frame[1] as string;
}

/** A signed AUTH event from nostr-tools' makeAuthEvent, optionally altered before signing. */
function authEvent(keys: Keys, relayUrl: string, challenge: string, alter: Partial<EventTemplate> = {}): VerifiedEvent {
  return finalizeEvent({ ...makeAuthEvent(relayUrl, challenge), ...alter }, keys.secret);
}

async function sendAuth(client: RawClient, event: { id: string }): Promise<Frame> {
  client.send(['AUTH', event]);
  return client.next((f) => f[0] === 'OK' && f[1] === event.id);
}

describe('NIP-42 AUTH', () => {
  it('1: sends ["AUTH", challenge] on connect, a different random challenge per connection', async () => {
    const [a, b] = await Promise.all([connect(), connect()]);
    const [ca, cb] = await Promise.all([challengeOf(a), challengeOf(b)]);
    expect(a.frames[0]).toEqual(['AUTH', ca]);
    expect(ca).toMatch(/^[0-9a-f]{32}$/);
    expect(cb).not.toBe(ca);
  });

  it('2, 3: a valid AUTH event is answered OK true', async () => {
    const client = await connect();
    const event = authEvent(newKeys(), relay.url, await challengeOf(client));
    expect(await sendAuth(client, event)).toEqual(['OK', event.id, true, '']);
  });

  it('3: the relay tag matches scheme-insensitively, with or without a trailing slash, host case-insensitively', async () => {
    const client = await connect();
    const challenge = await challengeOf(client);
    const url = new URL(relay.url);
    for (const tag of [`${relay.url}/`, `wss://${url.host}`, `ws://${url.host.toUpperCase()}/`]) {
      const event = authEvent(newKeys(), tag, challenge);
      expect(await sendAuth(client, event), tag).toEqual(['OK', event.id, true, '']);
    }
  });

  describe('4: refusals answered OK false with a prefix', () => {
    const cases: [string, (challenge: string, keys: Keys) => VerifiedEvent | Record<string, unknown>, RegExp][] = [
      ['wrong kind (1)', (c, k) => authEvent(k, relay.url, c, { kind: 1 }), /^invalid: wrong kind/],
      ['wrong relay tag', (c, k) => authEvent(k, 'wss://some.other.relay', c), /^invalid: wrong relay/],
      ['wrong challenge', (_, k) => authEvent(k, relay.url, 'not-the-challenge'), /^invalid: wrong challenge/],
      ['created_at 30 minutes old', (c, k) => authEvent(k, relay.url, c, { created_at: now() - 1800 }), /^invalid: created_at is too old/],
      ['created_at 700 s old', (c, k) => authEvent(k, relay.url, c, { created_at: now() - 700 }), /^invalid: created_at is too old/],
      [
        'bad signature',
        (c, k) => {
          const event = authEvent(k, relay.url, c);
          return { ...event, sig: (event.sig[0] === 'f' ? '0' : 'f') + event.sig.slice(1) };
        },
        /^invalid: bad signature/,
      ],
    ];
    for (const [name, build, expected] of cases) {
      it(name, async () => {
        const client = await connect();
        const keys = newKeys();
        const event = build(await challengeOf(client), keys) as { id: string };
        const ok = await sendAuth(client, event);
        expect(ok[2]).toBe(false);
        expect(ok[3]).toMatch(expected);
        // Not authenticated: a protected event of that key is still refused with auth-required.
        const note = signed(keys, { tags: [['-']] });
        expect((await client.publish(note))[3]).toMatch(/^auth-required: /);
      });
    }

    it('a malformed AUTH gets a NOTICE invalid: and the connection stays usable', async () => {
      const client = await connect();
      await challengeOf(client);
      client.send('["AUTH","just a string"]');
      expect((await client.next((f) => f[0] === 'NOTICE'))[1]).toMatch(/^invalid: AUTH/);
      const from = client.frames.length;
      client.send(['AUTH', { id: 'x' }]);
      expect((await nextAfter(client, from, (f) => f[0] === 'NOTICE'))[1]).toMatch(/^invalid: /);
      const note = signed(newKeys());
      expect(await client.publish(note)).toEqual(['OK', note.id, true, '']);
    });
  });

  it('5: several pubkeys on one connection are all authenticated (each publishes a protected event)', async () => {
    const client = await connect();
    const challenge = await challengeOf(client);
    const alice = newKeys();
    const bob = newKeys();
    for (const keys of [alice, bob]) {
      const event = authEvent(keys, relay.url, challenge);
      expect(await sendAuth(client, event)).toEqual(['OK', event.id, true, '']);
    }
    for (const keys of [alice, bob]) {
      const note = signed(keys, { tags: [['-']], content: 'protected, from an authenticated key' });
      expect(await client.publish(note)).toEqual(['OK', note.id, true, '']);
    }
  });

  it('AUTH may come at any time, and an EVENT pipelined right after it sees the authentication', async () => {
    const client = await connect();
    const challenge = await challengeOf(client);
    const keys = newKeys();
    const first = signed(newKeys());
    expect((await client.publish(first))[2]).toBe(true);
    const auth = authEvent(keys, relay.url, challenge);
    const note = signed(keys, { tags: [['-']] });
    client.send(['AUTH', auth]);
    client.send(['EVENT', note]);
    expect(await client.next((f) => f[0] === 'OK' && f[1] === auth.id)).toEqual(['OK', auth.id, true, '']);
    expect(await client.next((f) => f[0] === 'OK' && f[1] === note.id)).toEqual(['OK', note.id, true, '']);
  });

  it("an AUTH event for another connection's challenge is refused", async () => {
    const [a, b] = await Promise.all([connect(), connect()]);
    const event = authEvent(newKeys(), relay.url, await challengeOf(a));
    await challengeOf(b);
    expect((await sendAuth(b, event))[3]).toMatch(/^invalid: wrong challenge/);
  });

  it('9: kind 22242 sent via EVENT is refused, neither stored nor broadcast', async () => {
    const [sender, listener] = await Promise.all([connect(), connect()]);
    const keys = newKeys();
    await listener.req('live', { authors: [keys.pubkey] });
    const event = authEvent(keys, relay.url, await challengeOf(sender));
    const ok = await sender.publish(event);
    expect(ok[2]).toBe(false);
    expect(ok[3]).toMatch(/^invalid: /);
    await barrier(listener, sender);
    expect(listener.frames.filter((f) => f[0] === 'EVENT' && f[1] === 'live')).toEqual([]);
    expect((await listener.req('stored', { ids: [event.id] })).events).toEqual([]);
  });

  it("nostr-tools' Relay authenticates with onauth / auth() and nip42.makeAuthEvent", async () => {
    const keys = newKeys();
    const r = toolsRelay(relay.url);
    tools.push(r);
    const signer = async (template: EventTemplate): Promise<VerifiedEvent> => finalizeEvent(template, keys.secret);
    r.onauth = signer;
    await r.connect();
    // onauth fires on the relay's challenge; auth() returns the same promise, resolved by our OK true.
    await challengeReceived(r);
    await expect(r.auth(signer)).resolves.toBe('');
    const note = finalizeEvent({ kind: 1, created_at: now(), tags: [['-']], content: 'via nostr-tools' }, keys.secret);
    await expect(r.publish(note)).resolves.toBe('');
  });

  describe('relay URL from config (behind a TLS proxy)', () => {
    it('accepts the configured public URL, refuses the local address', async () => {
      const client = await connect(proxied.url);
      const challenge = await challengeOf(client);
      const good = authEvent(newKeys(), `${PUBLIC_URL}/`, challenge);
      expect(await sendAuth(client, good)).toEqual(['OK', good.id, true, '']);
      const local = authEvent(newKeys(), proxied.url, challenge);
      expect((await sendAuth(client, local))[3]).toMatch(/^invalid: wrong relay/);
    });
  });

  describe('auth.enabled: false', () => {
    it('sends no challenge, answers AUTH restricted:, refuses protected events blocked:, does not advertise 42/70', async () => {
      const client = await connect(disabled.url);
      const keys = newKeys();
      const event = authEvent(keys, disabled.url, 'anything');
      expect(await sendAuth(client, event)).toEqual(['OK', event.id, false, 'restricted: authentication is disabled']);
      expect(client.frames.filter((f) => f[0] === 'AUTH')).toEqual([]);
      const note = signed(keys, { tags: [['-']] });
      expect((await client.publish(note))[3]).toMatch(/^blocked: /);
      expect(client.frames.filter((f) => f[0] === 'AUTH')).toEqual([]);

      const info = (await (
        await fetch(disabled.url.replace('ws:', 'http:'), { headers: { Accept: 'application/nostr+json' } })
      ).json()) as {
        supported_nips: number[];
      };
      expect(info.supported_nips).not.toContain(42);
      expect(info.supported_nips).not.toContain(70);
    });
  });

  it('NIP-11 advertises 42 and 70 by default, with auth_required false', async () => {
    const info = (await (await fetch(relay.url.replace('ws:', 'http:'), { headers: { Accept: 'application/nostr+json' } })).json()) as {
      supported_nips: number[];
      limitation: { auth_required: boolean };
    };
    expect(info.supported_nips).toEqual(expect.arrayContaining([42, 70]));
    expect(info.limitation.auth_required).toBe(false);
  });
});
