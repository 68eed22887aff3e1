/**
 * Virtual relays by Host header (hosts:) end to end: one process, one port, two hosts with different
 * geohash scopes and databases plus the default (top-level) relay, reached by real ws clients that set
 * the Host header, and NIP-11 and NIP-86 over real HTTP with a Host header.
 */
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getToken } from 'nostr-tools/nip98';
import { finalizeEvent } from 'nostr-tools/pure';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { EventStore } from '../../src/store/store.js';
import { trackHostConnections } from '../helpers/connections.js';
import { newKeys, signed, type Keys } from '../helpers/events.js';

const alice = newKeys();
const admin = newKeys();
const dir = mkdtempSync(join(tmpdir(), 'commons-hosts-'));
const db = (name: string): string => join(dir, `${name}.sqlite`);
let relay: RunningRelay;

const YAML = `
relay: { host: 127.0.0.1, port: 0 }
info: { name: default place }
storage: { path: ${db('default')} }
scopes: { geohash: { require_for_kinds: [20000] } }
hosts:
  - names: [a.example]
    info: { name: Skagen }
    management: { admins: [${admin.pubkey}] }
    storage: { path: ${db('a')} }
    scopes: { geohash: { prefixes: [u4pru] } }
  - names: [B.Example, b2.example]
    info: { name: Vesterbro, description: the b place }
    storage: { path: ${db('b')} }
    scopes: { geohash: { prefixes: [u3but] } }
`;

beforeAll(async () => {
  relay = await startRelay(parseConfig(YAML, 'hosts.yaml'), { logger: pino({ level: 'silent' }) });
});
afterAll(async () => {
  await relay?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const connect = trackHostConnections(() => relay.localUrl);

const geo = (cell: string, content = 'hej') => signed(alice, { kind: 20000, content, tags: [['g', cell]] });
const note = (content: string) => signed(alice, { kind: 1, content });

/** GET / with a Host header (Node's fetch does not let a caller set Host). */
function get(host: string, accept: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: relay.port, path: '/', headers: { host, accept } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('two virtual hosts and the default on one port', () => {
  it('serves every site from one listener, each with its own database file', () => {
    expect(relay.sites.map((site) => [site.names, site.config.storage.path])).toEqual([
      [[], db('default')],
      [['a.example'], db('a')],
      [['b.example', 'b2.example'], db('b')],
    ]);
  });

  it("an event accepted via host A is served via A only: not via B, not via the default, and stored only in A's file", async () => {
    const event = note('only in Skagen');
    expect(await (await connect('a.example')).publish(event)).toEqual(['OK', event.id, true, '']);
    expect((await (await connect('a.example')).req('q', { ids: [event.id] })).events.map((e) => e.id)).toEqual([event.id]);
    expect((await (await connect('b.example')).req('q', { ids: [event.id] })).events).toEqual([]);
    expect((await (await connect()).req('q', { ids: [event.id] })).events).toEqual([]);
    expect((await (await connect('unknown.example')).req('q', { ids: [event.id] })).events).toEqual([]);
    const stores = relay.sites.map((site) => site.store.has(event.id));
    expect(stores).toEqual([false, true, false]);
  });

  it("live subscriptions are per host: a subscriber on B does not see A's events, one on A does", async () => {
    const onA = await connect('a.example');
    const onB = await connect('b.example');
    await onA.req('live', { kinds: [1] });
    await onB.req('live', { kinds: [1] });
    const seenOnB = onB.frames.length;
    const event = note('live in Skagen');
    expect((await (await connect('a.example')).publish(event))[2]).toBe(true);
    await onA.next((f) => f[0] === 'EVENT' && f[1] === 'live' && (f[2] as { id: string }).id === event.id);
    // B's own event arrives on B after A's would have: A's never came.
    const own = note('live in Vesterbro');
    expect((await (await connect('b.example')).publish(own))[2]).toBe(true);
    await onB.next((f) => f[0] === 'EVENT' && (f[2] as { id: string }).id === own.id);
    expect(
      onB
        .since(seenOnB)
        .filter((f) => f[0] === 'EVENT')
        .map((f) => (f[2] as { id: string }).id),
    ).toEqual([own.id]);
  });

  it('each host judges by its own scope', async () => {
    const skagen = geo('u4prux');
    const vesterbro = geo('u3butz');
    const a = await connect('a.example');
    const b = await connect('b.example');
    expect(await a.publish(skagen)).toEqual(['OK', skagen.id, true, '']);
    expect(await b.publish(vesterbro)).toEqual(['OK', vesterbro.id, true, '']);
    const refusedOnA = await a.publish(vesterbro);
    expect(refusedOnA[2]).toBe(false);
    expect(refusedOnA[3]).toMatch(/^blocked: this relay serves u4pru; .*u3butz/);
    const refusedOnB = await b.publish(skagen);
    expect(refusedOnB[2]).toBe(false);
    expect(refusedOnB[3]).toMatch(/^blocked: this relay serves u3but; .*u4prux/);
    // The default has no scope, but inherits require_for_kinds like both hosts: untagged geo-chat is refused everywhere.
    const untagged = signed(alice, { kind: 20000, content: 'where?' });
    for (const client of [a, b, await connect()]) expect((await client.publish(untagged))[3]).toMatch(/^blocked: /);
    expect((await (await connect()).publish(geo('u4xsu')))[2]).toBe(true);
  });

  it('Host names match case-insensitively, with the port ignored, and a second name reaches the same host', async () => {
    const event = note('via B with odd spelling');
    expect((await (await connect('B.EXAMPLE:7777')).publish(event))[2]).toBe(true);
    expect((await (await connect('b2.example')).req('q', { ids: [event.id] })).events).toHaveLength(1);
    expect((await (await connect('a.example')).req('q', { ids: [event.id] })).events).toHaveLength(0);
  });

  it('NIP-11 and the page answer per Host header', async () => {
    const info = async (host: string) =>
      JSON.parse((await get(host, 'application/nostr+json')).body) as { name: string; description: string };
    expect((await info('a.example')).name).toBe('Skagen');
    expect(await info('b.example:80')).toMatchObject({ name: 'Vesterbro', description: 'the b place' });
    expect((await info('127.0.0.1')).name).toBe('default place');
    expect((await info('nowhere.example')).name).toBe('default place');
    const page = await get('b2.example', 'text/html');
    expect(page.type).toContain('text/html');
    expect(page.body).toContain('Vesterbro');
    expect(page.body).not.toContain('Skagen');
  });

  /** A NIP-86 call POSTed with a Host header and a NIP-98 token for http://<host>/. */
  async function manage(host: string, keys: Keys, method: string, params: unknown[]): Promise<number> {
    const body = JSON.stringify({ method, params });
    const token = await getToken(`http://${host}/`, 'POST', (t) => finalizeEvent(t, keys.secret), true, { method, params });
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: relay.port,
          path: '/',
          method: 'POST',
          headers: { host, 'content-type': 'application/nostr+json+rpc', authorization: token },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  it('each host has its own admins and ban list: a ban on A does not touch B', async () => {
    const banned = newKeys();
    expect(await manage('b.example', admin, 'banpubkey', [banned.pubkey, 'spam'])).toBe(401);
    expect(await manage('a.example', admin, 'banpubkey', [banned.pubkey, 'spam'])).toBe(200);
    const onA = signed(banned, { kind: 1, content: 'on A' });
    const onB = signed(banned, { kind: 1, content: 'on B' });
    expect((await (await connect('a.example')).publish(onA))[2]).toBe(false);
    expect((await (await connect('b.example')).publish(onB))[2]).toBe(true);
  });

  it("stop drains and closes every site's database; each event is in its own host's file only", async () => {
    const event = note('durable in A');
    expect((await (await connect('a.example')).publish(event))[2]).toBe(true);
    await relay.stop();
    for (const name of ['default', 'a', 'b']) {
      const store = EventStore.open(db(name), { synchronous: 'full' });
      try {
        expect(store.has(event.id)).toBe(name === 'a');
      } finally {
        store.close();
      }
    }
  });
});
