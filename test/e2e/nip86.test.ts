/**
 * NIP-86 relay management end to end: real HTTP (fetch) with NIP-98 tokens from nostr-tools' `nip98.getToken`,
 * effects observed over real websockets. /work/shared/NIPS-CHECKLIST.md "NIP-86" items 1–4.
 */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino } from 'pino';
import { getToken } from 'nostr-tools/nip98';
import { finalizeEvent, type EventTemplate } from 'nostr-tools/pure';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startRelay } from '../../src/app.js';
import { RawClient } from '../helpers/client.js';
import { newKeys, now, signed, type Keys } from '../helpers/events.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { IMPLEMENTED_METHODS } from '../helpers/nip86.js';
import { WAIT_LIMIT_MS } from '../helpers/wait.js';

const admin = newKeys();
const stranger = newKeys();

let relay: TestRelay;
let off: TestRelay;

beforeAll(async () => {
  // Trusting 127.0.0.1 as a proxy: a client without X-Forwarded-For is still 127.0.0.1.
  [relay, off] = await Promise.all([
    startTestRelay({ management: { admins: [admin.pubkey] }, relay: { trusted_proxies: ['127.0.0.1'] } }),
    startTestRelay(),
  ]);
});
afterAll(async () => {
  await Promise.all([relay?.cleanup(), off?.cleanup()]);
});

const opened: RawClient[] = [];
afterEach(() => {
  for (const client of opened.splice(0)) client.socket.terminate();
});

async function connect(url = relay.url, headers?: Record<string, string>): Promise<RawClient> {
  const client = await RawClient.connect(url, headers);
  client.socket.on('error', () => {});
  opened.push(client);
  return client;
}

const httpUrl = (wsUrl: string): string => `${wsUrl.replace(/^ws/, 'http')}/`;

interface RpcAnswer {
  status: number;
  body: { result: unknown; error: string | null };
}

async function post(wsUrl: string, body: string, headers: Record<string, string>): Promise<RpcAnswer> {
  const response = await fetch(httpUrl(wsUrl), { method: 'POST', body, headers, signal: AbortSignal.timeout(WAIT_LIMIT_MS) });
  return { status: response.status, body: (await response.json()) as RpcAnswer['body'] };
}

/** A correctly authorised call (nostr-tools getToken with the payload), unless `alter` changes the template. */
async function call(
  method: string,
  params: unknown[] = [],
  { keys = admin, url = relay.url, alter }: { keys?: Keys; url?: string; alter?: (t: EventTemplate) => EventTemplate } = {},
): Promise<RpcAnswer> {
  const request = { method, params };
  const token = await getToken(httpUrl(url), 'POST', (t) => finalizeEvent(alter ? alter(t) : t, keys.secret), true, request);
  return post(url, JSON.stringify(request), { 'Content-Type': 'application/nostr+json+rpc', Authorization: token });
}

const ok = async (method: string, params: unknown[] = []): Promise<unknown> => {
  const answer = await call(method, params);
  expect(answer.status).toBe(200);
  expect(answer.body.error).toBeNull();
  return answer.body.result;
};

const info = async (url = relay.url): Promise<Record<string, unknown>> =>
  (await fetch(httpUrl(url), { headers: { Accept: 'application/nostr+json' } })).json() as Promise<Record<string, unknown>>;

describe('authorization (NIP-98) → 401', () => {
  const body = JSON.stringify({ method: 'supportedmethods', params: [] });

  it('missing header', async () => {
    const answer = await post(relay.url, body, { 'Content-Type': 'application/nostr+json+rpc' });
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ result: null, error: expect.stringMatching(/Authorization/) });
  });

  it('garbage header', async () => {
    const answer = await post(relay.url, body, { 'Content-Type': 'application/nostr+json+rpc', Authorization: 'Nostr !!!' });
    expect(answer.status).toBe(401);
  });

  it('wrong kind, expired, wrong u, wrong method', async () => {
    for (const alter of [
      (t: EventTemplate) => ({ ...t, kind: 27236 }),
      (t: EventTemplate) => ({ ...t, created_at: now() - 120 }),
      (t: EventTemplate) => ({ ...t, tags: t.tags.map((tag) => (tag[0] === 'u' ? ['u', 'https://elsewhere.example.org/'] : tag)) }),
      (t: EventTemplate) => ({ ...t, tags: t.tags.map((tag) => (tag[0] === 'method' ? ['method', 'GET'] : tag)) }),
    ]) {
      const answer = await call('supportedmethods', [], { alter });
      expect(answer.status).toBe(401);
      expect(answer.body.result).toBeNull();
    }
  });

  it('missing or wrong payload', async () => {
    const noPayload = await call('supportedmethods', [], { alter: (t) => ({ ...t, tags: t.tags.filter((tag) => tag[0] !== 'payload') }) });
    expect(noPayload.status).toBe(401);
    const token = await getToken(httpUrl(relay.url), 'POST', (t) => finalizeEvent(t, admin.secret), true, {
      method: 'listbannedpubkeys',
      params: [],
    });
    const wrong = await post(relay.url, body, { 'Content-Type': 'application/nostr+json+rpc', Authorization: token });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toMatch(/payload/);
  });

  it('bad signature', async () => {
    const request = { method: 'supportedmethods', params: [] };
    const token = await getToken(
      httpUrl(relay.url),
      'POST',
      (t) => ({ ...finalizeEvent(t, admin.secret), sig: 'ab'.repeat(64) }),
      true,
      request,
    );
    const answer = await post(relay.url, JSON.stringify(request), { 'Content-Type': 'application/nostr+json+rpc', Authorization: token });
    expect(answer.status).toBe(401);
  });

  it('a valid token from a pubkey that is not an admin', async () => {
    const answer = await call('supportedmethods', [], { keys: stranger });
    expect(answer.status).toBe(401);
    expect(answer.body.error).toMatch(/admin/);
  });

  it('the API is off without admins, and 86 is advertised only with them', async () => {
    const answer = await call('supportedmethods', [], { url: off.url });
    expect(answer.status).toBe(401);
    expect((await info(off.url)).supported_nips).not.toContain(86);
    expect((await info()).supported_nips).toContain(86);
  });

  it('a wrong content type is refused', async () => {
    const request = { method: 'supportedmethods', params: [] };
    const token = await getToken(httpUrl(relay.url), 'POST', (t) => finalizeEvent(t, admin.secret), true, request);
    const response = await fetch(httpUrl(relay.url), {
      method: 'POST',
      body: JSON.stringify(request),
      headers: { 'Content-Type': 'application/json', Authorization: token },
    });
    expect(response.status).toBe(415);
  });
});

describe('methods', () => {
  it('supportedmethods lists exactly the implemented methods; unknown methods are errors', async () => {
    expect(((await ok('supportedmethods')) as string[]).sort()).toEqual([...IMPLEMENTED_METHODS].sort());
    const unknown = await call('listeventsneedingmoderation');
    expect(unknown.status).toBe(200);
    expect(unknown.body).toEqual({ result: null, error: expect.stringMatching(/unsupported method/) });
    const bad = await call('banpubkey', ['not-a-key']);
    expect(bad.body.error).toMatch(/invalid params/);
  });

  it('banpubkey: later events from that key are refused blocked:', async () => {
    const user = newKeys();
    const client = await connect();
    expect((await client.publish(signed(user)))[2]).toBe(true);
    expect(await ok('banpubkey', [user.pubkey, 'spam'])).toBe(true);
    expect(await ok('listbannedpubkeys')).toContainEqual({ pubkey: user.pubkey, reason: 'spam' });
    const refused = await client.publish(signed(user, { content: 'again' }));
    expect(refused[2]).toBe(false);
    expect(refused[3]).toMatch(/^blocked: /);
    // allowpubkey lifts the ban and turns the allow list on: only allowed pubkeys may write.
    expect(await ok('allowpubkey', [user.pubkey])).toBe(true);
    expect(await ok('listallowedpubkeys')).toContainEqual({ pubkey: user.pubkey });
    expect(await ok('listbannedpubkeys')).not.toContainEqual(expect.objectContaining({ pubkey: user.pubkey }));
    expect((await client.publish(signed(user, { content: 'back' })))[2]).toBe(true);
    const other = await client.publish(signed(newKeys()));
    expect(other[2]).toBe(false);
    expect(other[3]).toMatch(/^blocked: only members/);
    // Ban again (removes the allowance, so the allow list is empty and everyone may write).
    expect(await ok('banpubkey', [user.pubkey])).toBe(true);
    expect(await ok('listallowedpubkeys')).toEqual([]);
    expect((await client.publish(signed(newKeys())))[2]).toBe(true);
  });

  it('banevent: the event is gone and re-publishing it is refused; allowevent lifts the ban', async () => {
    const user = newKeys();
    const event = signed(user, { content: 'ban me' });
    const client = await connect();
    expect((await client.publish(event))[2]).toBe(true);
    expect(await ok('banevent', [event.id, 'illegal'])).toBe(true);
    expect(await ok('listbannedevents')).toContainEqual({ id: event.id, reason: 'illegal' });
    expect((await client.req('gone', { ids: [event.id] })).events).toEqual([]);
    // A new connection each time: RawClient.publish would otherwise find the first OK for this id.
    const again = await (await connect()).publish(event);
    expect(again[2]).toBe(false);
    expect(again[3]).toMatch(/^blocked: /);
    expect(await ok('allowevent', [event.id])).toBe(true);
    expect(await ok('listbannedevents')).not.toContainEqual(expect.objectContaining({ id: event.id }));
    expect((await (await connect()).publish(event))[2]).toBe(true);
    expect((await client.req('back', { ids: [event.id] })).events).toHaveLength(1);
  });

  it('allowkind / disallowkind: a non-empty kind list accepts only its kinds', async () => {
    const user = newKeys();
    const client = await connect();
    expect(await ok('allowkind', [1])).toBe(true);
    expect(await ok('allowkind', [7])).toBe(true);
    expect(await ok('listallowedkinds')).toEqual([1, 7]);
    expect((await client.publish(signed(user, { kind: 1 })))[2]).toBe(true);
    const refused = await client.publish(signed(user, { kind: 1111 }));
    expect(refused[2]).toBe(false);
    expect(refused[3]).toBe('blocked: kind 1111 is not accepted here');
    expect(await ok('disallowkind', [1])).toBe(true);
    expect(await ok('listallowedkinds')).toEqual([7]);
    expect((await client.publish(signed(user, { kind: 1, content: 'now refused' })))[2]).toBe(false);
    expect(await ok('disallowkind', [7])).toBe(true);
    expect(await ok('listallowedkinds')).toEqual([]);
    expect((await client.publish(signed(user, { kind: 1111, content: 'accepted again' })))[2]).toBe(true);
  });

  it('blockip: open connections from it are closed and new ones refused; unblockip lets them in', async () => {
    const existing = await connect();
    expect(await ok('blockip', ['127.0.0.1', 'test'])).toBe(true);
    expect(await ok('listblockedips')).toEqual([{ ip: '127.0.0.1', reason: 'test' }]);
    expect(await existing.closed()).toBe(1008);
    const status = await new Promise<number | string>((resolve) => {
      const socket = new WebSocket(relay.url);
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.on('open', () => resolve('opened'));
      socket.on('error', () => {});
    });
    expect(status).toBe(403);
    // HTTP management still works from a blocked IP (the admin must be able to undo it).
    expect(await ok('unblockip', ['127.0.0.1'])).toBe(true);
    expect(await ok('listblockedips')).toEqual([]);
    const client = await connect();
    expect((await client.publish(signed(newKeys())))[2]).toBe(true);
  });

  it('blockip applies to the address a trusted proxy names in X-Forwarded-For', async () => {
    const via = (ip: string): Record<string, string> => ({ 'X-Forwarded-For': ip });
    const existing = await connect(relay.url, via('192.0.2.77'));
    const neighbour = await connect(relay.url, via('192.0.2.78'));
    expect(await ok('blockip', ['192.0.2.77', 'behind the proxy'])).toBe(true);
    expect(await existing.closed()).toBe(1008);
    const status = await new Promise<number | string>((resolve) => {
      const socket = new WebSocket(relay.url, { headers: via('192.0.2.77') });
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.on('open', () => resolve('opened'));
      socket.on('error', () => {});
    });
    expect(status).toBe(403);
    // The proxy's own address and the other client behind it are not blocked.
    expect((await neighbour.publish(signed(newKeys())))[2]).toBe(true);
    expect((await (await connect()).publish(signed(newKeys())))[2]).toBe(true);
    expect(await ok('unblockip', ['192.0.2.77'])).toBe(true);
  });

  it('changerelayname / description / icon show in NIP-11 and the page at once', async () => {
    expect(await ok('changerelayname', ['Renamed relay'])).toBe(true);
    expect(await ok('changerelaydescription', ['A new description'])).toBe(true);
    expect(await ok('changerelayicon', ['https://example.org/icon.png'])).toBe(true);
    expect(await info()).toMatchObject({ name: 'Renamed relay', description: 'A new description', icon: 'https://example.org/icon.png' });
    const page = await (await fetch(httpUrl(relay.url))).text();
    expect(page).toContain('Renamed relay');
    expect((await call('changerelayicon', ['ftp://nope'])).body.error).toMatch(/invalid params/);
  });
});

describe('NIP-11 follows the persisted lists', () => {
  it('restricted_writes turns on and off with allowkind / disallowkind and on with banpubkey', async () => {
    const fresh = await startTestRelay({ management: { admins: [admin.pubkey] } });
    const restricted = async (): Promise<unknown> => ((await info(fresh.url)).limitation as Record<string, unknown>).restricted_writes;
    const change = async (method: string, params: unknown[]): Promise<void> => {
      expect((await call(method, params, { url: fresh.url })).body.error).toBeNull();
    };
    try {
      expect(await restricted()).toBe(false);
      await change('allowkind', [1]);
      expect(await restricted()).toBe(true);
      await change('disallowkind', [1]);
      expect(await restricted()).toBe(false);
      await change('banpubkey', [stranger.pubkey, 'spam']);
      expect(await restricted()).toBe(true);
      // A ban survives a restart, and NIP-11 says so from the start.
      await fresh.stop();
      const again = await startRelay(fresh.config, { logger: pino({ level: 'silent' }) });
      try {
        expect(((await info(again.localUrl)).limitation as Record<string, unknown>).restricted_writes).toBe(true);
      } finally {
        await again.stop();
      }
    } finally {
      await fresh.stop();
      rmSync(dirname(fresh.dbPath), { recursive: true, force: true });
    }
  });
});

describe('persistence', () => {
  it('everything survives a restart on the same database file', async () => {
    const first = await startTestRelay({ management: { admins: [admin.pubkey] } });
    const banned = newKeys();
    const event = signed(newKeys());
    try {
      const c = await connect(first.url);
      expect((await c.publish(event))[2]).toBe(true);
      for (const [method, params] of [
        ['banpubkey', [banned.pubkey, 'r']],
        ['allowpubkey', [admin.pubkey]],
        ['banevent', [event.id]],
        ['allowkind', [1]],
        ['blockip', ['10.1.2.3']],
        ['changerelayname', ['Persisted']],
      ] as const) {
        const answer = await call(method, [...params], { url: first.url });
        expect(answer.body.error).toBeNull();
      }
    } finally {
      await first.stop();
    }
    const second = await startRelay(first.config, { logger: pino({ level: 'silent' }) });
    try {
      const url = second.localUrl;
      expect((await call('listbannedpubkeys', [], { url })).body.result).toEqual([{ pubkey: banned.pubkey, reason: 'r' }]);
      expect((await call('listallowedpubkeys', [], { url })).body.result).toEqual([{ pubkey: admin.pubkey }]);
      expect((await call('listbannedevents', [], { url })).body.result).toEqual([{ id: event.id }]);
      expect((await call('listallowedkinds', [], { url })).body.result).toEqual([1]);
      expect((await call('listblockedips', [], { url })).body.result).toEqual([{ ip: '10.1.2.3' }]);
      expect((await info(url)).name).toBe('Persisted');
      const c = await connect(url);
      expect((await c.publish(signed(banned)))[3]).toMatch(/^blocked: /);
      expect((await c.publish(event))[3]).toMatch(/^blocked: /);
      expect((await c.publish(signed(admin, { kind: 1 })))[2]).toBe(true);
    } finally {
      await second.stop();
      rmSync(dirname(first.dbPath), { recursive: true, force: true });
    }
  });
});
