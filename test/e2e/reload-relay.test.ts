/**
 * Relay.reconfigure / RunningRelay.reload in process: the real relay on port 0 with a real SQLite file
 * and real WebSocket connections that stay open across the reload. The keys that follow connections
 * (auth.enabled, relay.url) and NIP-86 admins are checked with real AUTH events and NIP-98 HTTP requests.
 */
import { makeAuthEvent } from 'nostr-tools/nip42';
import { getToken } from 'nostr-tools/nip98';
import { finalizeEvent } from 'nostr-tools/pure';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/types.js';
import type { Frame, RawClient } from '../helpers/client.js';
import { trackConnections } from '../helpers/connections.js';
import { newKeys, signed, type Keys } from '../helpers/events.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { WAIT_LIMIT_MS } from '../helpers/wait.js';

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.cleanup();
  relay = undefined;
});
const connect = trackConnections(() => relay!.url);

/** The running config with one section replaced. */
function withSection<K extends keyof Config>(config: Config, key: K, value: Partial<Config[K]>): Config {
  return { ...config, [key]: { ...(config[key] as object), ...value } };
}

async function nip11(url: string): Promise<{ name: string; supported_nips: number[] }> {
  const response = await fetch(url.replace('ws://', 'http://'), { headers: { Accept: 'application/nostr+json' } });
  return (await response.json()) as { name: string; supported_nips: number[] };
}

describe('RunningRelay.reload', () => {
  it('logging.level: a logger passed in keeps its level; logLevelFromConfig makes it follow the reload', async () => {
    const passedIn = pino({ level: 'silent' });
    relay = await startTestRelay({}, { logger: passedIn });
    const plan = relay.reload(withSection(relay.relay.config, 'logging', { level: 'debug' }));
    expect(plan.applied).toContain('logging.level');
    await relay.reloaded();
    expect(passedIn.level).toBe('silent');
    await relay.cleanup();

    const following = pino({ level: 'silent' });
    relay = await startTestRelay({}, { logger: following, logLevelFromConfig: true });
    relay.reload(withSection(relay.relay.config, 'logging', { level: 'error' }));
    await relay.reloaded();
    expect(following.level).toBe('error');
  });

  it('a new member list is used by a connection opened before the reload', async () => {
    const member = newKeys();
    const outsider = newKeys();
    relay = await startTestRelay({ members: { enabled: true, pubkeys: [member.pubkey] } });
    const client = await connect();
    expect((await client.publish(signed(outsider)))[3]).toMatch(/^blocked: only members of commons/);
    const oldMembers = relay.relay.members;

    const plan = relay.reload(withSection(relay.relay.config, 'members', { pubkeys: [member.pubkey, outsider.pubkey] }));
    expect(plan.applied).toEqual(['members.pubkeys']);
    expect(relay.relay.members).not.toBe(oldMembers);
    expect((await client.publish(signed(outsider)))[2]).toBe(true);

    // An unrelated change keeps the member set (and its watcher).
    const current = relay.relay.members;
    relay.reload(withSection(relay.relay.config, 'info', { name: 'renamed' }));
    expect(relay.relay.members).toBe(current);
    expect((await client.publish(signed(newKeys())))[3]).toMatch(/^blocked: only members of renamed/);
    expect(client.closeCode).toBeUndefined();
  });

  it('read rules, NIP-77 and NIP-11 follow the reload', async () => {
    relay = await startTestRelay();
    const client = await connect();
    expect((await client.req('dm', { kinds: [4] })).closed?.[2]).toMatch(/^auth-required: /);
    expect((await nip11(relay.url)).supported_nips).toContain(77);

    const config = relay.relay.config;
    const plan = relay.reload({
      ...withSection(config, 'read', { auth_required_kinds: [] }),
      negentropy: { ...config.negentropy, enabled: false },
    });
    expect(plan.applied).toEqual(['read.auth_required_kinds', 'negentropy.enabled']);
    expect((await client.req('dm2', { kinds: [4] })).closed).toBeUndefined();
    client.send(['NEG-OPEN', 'n', {}, '6100000200']);
    const refused = await client.next((f) => f[0] === 'NEG-ERR' && f[1] === 'n');
    expect(refused[2]).toMatch(/^unsupported: /);
    expect((await nip11(relay.url)).supported_nips).not.toContain(77);
  });

  it('restart-only keys keep their running value; AUTH and private reading can be turned on in one reload', async () => {
    relay = await startTestRelay({ auth: { enabled: false } });
    const before = relay.relay.config;
    const restartOnly = relay.reload(withSection(before, 'limits', { max_message_bytes: 2048, max_limit: 200 }));
    expect(restartOnly.applied).toEqual(['limits.max_limit']);
    expect(restartOnly.restartRequired).toEqual(['limits.max_message_bytes']);
    expect(relay.relay.config.limits).toMatchObject({ max_message_bytes: before.limits.max_message_bytes, max_limit: 200 });

    // read.private needs auth.enabled; both are reloadable, so one reload turns both on (no conflict).
    const client = await connect();
    expect((await client.req('open', { kinds: [1] })).closed).toBeUndefined();
    const running = relay.relay.config;
    const next = {
      ...running,
      auth: { ...running.auth, enabled: true },
      members: { ...running.members, enabled: true },
      read: { ...running.read, private: true },
    };
    const plan = relay.reload(next);
    expect(plan.conflicts).toEqual([]);
    expect(plan.applied).toEqual(['auth.enabled', 'read.private', 'members.enabled']);
    // With server.threads, the other threads apply the reload when its message reaches them.
    await relay.reloaded();
    expect((await client.req('private', { kinds: [1] })).closed?.[2]).toMatch(/^auth-required: commons is private/);
    await client.next((f) => f[0] === 'AUTH');
  });
});

/** Reads the connection's challenge, signs an AUTH for `relayUrl` and returns the relay's OK. */
async function authenticate(client: RawClient, keys: Keys, relayUrl: string): Promise<Frame> {
  const challenge = (await client.next((f) => f[0] === 'AUTH'))[1] as string;
  const event = finalizeEvent(makeAuthEvent(relayUrl, challenge), keys.secret);
  client.send(['AUTH', event]);
  return client.next((f) => f[0] === 'OK' && f[1] === event.id);
}

/** A NIP-98-authorised management call; `tokenUrl` is the URL the token names (u tag). */
async function manage(
  url: string,
  keys: Keys,
  tokenUrl = `${url.replace(/^ws/, 'http')}/`,
): Promise<{ status: number; error: string | null }> {
  const request = { method: 'supportedmethods', params: [] };
  const token = await getToken(tokenUrl, 'POST', (t) => finalizeEvent(t, keys.secret), true, request);
  const response = await fetch(`${url.replace(/^ws/, 'http')}/`, {
    method: 'POST',
    body: JSON.stringify(request),
    headers: { 'Content-Type': 'application/nostr+json+rpc', Authorization: token },
    signal: AbortSignal.timeout(WAIT_LIMIT_MS),
  });
  return { status: response.status, error: ((await response.json()) as { error: string | null }).error };
}

describe('RunningRelay.reload of relay.url, auth.enabled and management.admins', () => {
  it('auth.enabled off: a connection that authenticated keeps its pubkey; new AUTHs are refused; NIP-11 drops 42 and 70', async () => {
    const alice = newKeys();
    const bob = newKeys();
    relay = await startTestRelay();
    const authed = await connect();
    expect((await authenticate(authed, alice, relay.url))[2]).toBe(true);
    const waiting = await connect();
    const challenge = (await waiting.next((f) => f[0] === 'AUTH'))[1] as string;
    const dm = signed(bob, { kind: 4, content: 'hej', tags: [['p', alice.pubkey]] });
    expect((await waiting.publish(dm))[2]).toBe(true);

    const plan = relay.reload(withSection(relay.relay.config, 'auth', { enabled: false }));
    expect(plan.applied).toEqual(['auth.enabled']);

    // Alice's connection still reads her DMs and may publish her protected events.
    expect((await authed.req('dms', { kinds: [4] })).events.map((e: { id: string }) => e.id)).toEqual([dm.id]);
    const own = signed(alice, { kind: 1, tags: [['-']] });
    expect(await authed.publish(own)).toEqual(['OK', own.id, true, '']);
    // The other connection can no longer authenticate, reads no DMs, and protected events are refused.
    const late = finalizeEvent(makeAuthEvent(relay.url, challenge), bob.secret);
    waiting.send(['AUTH', late]);
    expect(await waiting.next((f) => f[0] === 'OK' && f[1] === late.id)).toEqual([
      'OK',
      late.id,
      false,
      'restricted: authentication is disabled',
    ]);
    expect((await waiting.req('dms', { kinds: [4] })).closed?.[2]).toMatch(
      /^restricted: kinds 4, .* after AUTH, which this relay does not offer$/,
    );
    expect((await waiting.publish(signed(bob, { kind: 1, tags: [['-']] })))[3]).toBe(
      'blocked: protected events (NIP-70) need authentication, which is disabled on this relay',
    );
    // A new connection gets no challenge.
    const fresh = await connect();
    await fresh.req('x', { kinds: [1], limit: 1 });
    expect(fresh.frames.some((f) => f[0] === 'AUTH')).toBe(false);
    const nips = (await nip11(relay.url)).supported_nips;
    expect(nips).not.toContain(42);
    expect(nips).not.toContain(70);
    expect([authed.closeCode, waiting.closeCode]).toEqual([undefined, undefined]);
  });

  it('auth.enabled on: new connections are challenged on connect, open ones with their first auth-required answer', async () => {
    const alice = newKeys();
    relay = await startTestRelay({ auth: { enabled: false } });
    const open = await connect();
    const eager = await connect();
    expect((await open.req('dms', { kinds: [4] })).closed?.[2]).toMatch(/^restricted: /);

    expect(relay.reload(withSection(relay.relay.config, 'auth', { enabled: true })).applied).toEqual(['auth.enabled']);
    expect((await nip11(relay.url)).supported_nips).toEqual(expect.arrayContaining([42, 70]));
    const refused = await open.req('dms', { kinds: [4] });
    expect(refused.closed?.[2]).toMatch(/^auth-required: /);
    expect((await authenticate(open, alice, relay.url))[2]).toBe(true);
    expect((await open.req('mine', { kinds: [4], '#p': [alice.pubkey] })).closed).toBeUndefined();
    // A client that sends AUTH before it was sent any challenge is told so, and then gets one.
    const guess = finalizeEvent(makeAuthEvent(relay.url, 'guess'), alice.secret);
    eager.send(['AUTH', guess]);
    expect((await eager.next((f) => f[0] === 'OK' && f[1] === guess.id))[3]).toMatch(
      /^auth-required: no challenge was sent on this connection yet/,
    );
    expect((await authenticate(eager, alice, relay.url))[2]).toBe(true);
    const fresh = await connect();
    await fresh.next((f) => f[0] === 'AUTH');
  });

  it('relay.url: the next AUTH (on an open connection too) and NIP-98 token are checked against the new URL; the page shows it', async () => {
    const alice = newKeys();
    relay = await startTestRelay({ relay: { url: 'wss://old.example.org' }, management: { admins: [alice.pubkey] } });
    const client = await connect();
    const challenge = (await client.next((f) => f[0] === 'AUTH'))[1] as string;
    expect((await manage(relay.url, alice, 'https://old.example.org/')).status).toBe(200);

    expect(relay.reload(withSection(relay.relay.config, 'relay', { url: 'wss://new.example.org' })).applied).toEqual(['relay.url']);
    const old = finalizeEvent(makeAuthEvent('wss://old.example.org', challenge), alice.secret);
    client.send(['AUTH', old]);
    expect((await client.next((f) => f[0] === 'OK' && f[1] === old.id))[3]).toBe(
      "invalid: wrong relay: wss://old.example.org is not this relay's URL",
    );
    expect((await authenticate(client, alice, 'wss://new.example.org'))[2]).toBe(true);
    expect(await manage(relay.url, alice, 'https://old.example.org/')).toEqual({
      status: 401,
      error: 'unauthorized: Authorization event u tag "https://old.example.org/" is not this relay\'s URL',
    });
    expect((await manage(relay.url, alice, 'https://new.example.org/')).status).toBe(200);
    const page = await (await fetch(relay.url.replace('ws://', 'http://'))).text();
    expect(page).toContain('wss://new.example.org');
    expect(page).not.toContain('wss://old.example.org');
  });

  it('management.admins: the next request is checked against the new list; NIP-11 advertises 86 only while it is non-empty', async () => {
    const admin = newKeys();
    const other = newKeys();
    relay = await startTestRelay();
    expect(await manage(relay.url, admin)).toEqual({
      status: 401,
      error: 'unauthorized: the management API is off on this relay (management.admins is empty)',
    });
    expect((await nip11(relay.url)).supported_nips).not.toContain(86);

    expect(relay.reload(withSection(relay.relay.config, 'management', { admins: [admin.pubkey] })).applied).toEqual(['management.admins']);
    expect(await manage(relay.url, admin)).toEqual({ status: 200, error: null });
    expect((await nip11(relay.url)).supported_nips).toContain(86);

    relay.reload(withSection(relay.relay.config, 'management', { admins: [other.pubkey] }));
    expect(await manage(relay.url, admin)).toEqual({ status: 401, error: 'unauthorized: this pubkey is not an admin of this relay' });
    expect((await manage(relay.url, other)).status).toBe(200);
  });
});
