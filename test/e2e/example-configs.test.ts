/**
 * The example configs (config/community.yaml, config/private.yaml, config/public.yaml,
 * config/geohash-multi.yaml) loaded with
 * loadConfig, port and databases overridden, the member list replaced by test keys, and their promises
 * checked with real clients: raw sockets (with a Host header for the virtual hosts) and nostr-tools'
 * Relay answering AUTH through `onauth`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeAuthEvent } from 'nostr-tools/nip42';
import { finalizeEvent, type EventTemplate, type NostrEvent as ToolsEvent, type VerifiedEvent } from 'nostr-tools/pure';
import type { Filter } from 'nostr-tools/filter';
import type { Relay } from 'nostr-tools/relay';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { RawClient } from '../helpers/client.js';
import { newKeys, signed, type Keys } from '../helpers/events.js';
import { negSync } from '../helpers/negentropy.js';
import { connectTools } from '../helpers/tools.js';

const configFile = (name: string): string => fileURLToPath(new URL(`../../config/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'commons-examples-'));
const [member, friend, outsider] = [newKeys(), newKeys(), newKeys()];

/** The example as an operator would run it, on port 0 with a fresh database and our test members. */
async function start(name: string, nowMs?: () => number): Promise<RunningRelay & { url: string; config: Config }> {
  const loaded = loadConfig(configFile(name), { port: 0, db: join(dir, `${name}.sqlite`), host: '127.0.0.1' }, {});
  const config: Config = { ...loaded, members: { ...loaded.members, pubkeys: [member.pubkey, friend.pubkey] } };
  const running = await startRelay(config, { logger: pino({ level: 'silent' }), nowMs });
  return { ...running, url: running.localUrl, config };
}

let community: Awaited<ReturnType<typeof start>>;
let privateRelay: Awaited<ReturnType<typeof start>>;

beforeAll(async () => {
  [community, privateRelay] = await Promise.all([start('community.yaml'), start('private.yaml')]);
});
afterAll(async () => {
  await Promise.all([community?.stop(), privateRelay?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const opened: RawClient[] = [];
const tools: Relay[] = [];
afterEach(() => {
  for (const client of opened.splice(0)) client.socket.terminate();
  for (const r of tools.splice(0)) r.close();
});

async function connect(url: string, headers?: Record<string, string>): Promise<RawClient> {
  const client = await RawClient.connect(url, headers);
  opened.push(client);
  return client;
}

async function authenticate(client: RawClient, url: string, keys: Keys): Promise<void> {
  const challenge = (await client.next((f) => f[0] === 'AUTH'))[1] as string;
  const event = finalizeEvent(makeAuthEvent(url, challenge), keys.secret);
  client.send(['AUTH', event]);
  expect((await client.next((f) => f[0] === 'OK' && f[1] === event.id))[2]).toBe(true);
}

/** nostr-tools Relay answering AUTH as `keys`; collects a subscription's events until EOSE, re-subscribing after auth-required. */
async function toolsQuery(url: string, keys: Keys, filter: Filter): Promise<string[]> {
  const r = await connectTools(url);
  tools.push(r);
  const signer = async (template: EventTemplate): Promise<VerifiedEvent> => finalizeEvent(template, keys.secret);
  r.onauth = signer;
  return new Promise((resolve, reject) => {
    const open = (): void => {
      const received: string[] = [];
      r.subscribe([filter], {
        onevent: (event: ToolsEvent) => received.push(event.id),
        oneose: () => resolve(received.sort()),
        onclose: (reason: string) => (reason.startsWith('auth-required:') ? r.auth(signer).then(open, reject) : undefined),
      });
    };
    open();
  });
}

describe('config/community.yaml', () => {
  it('is named and says restricted_writes in NIP-11', async () => {
    const response = await fetch(community.url.replace('ws', 'http'), { headers: { Accept: 'application/nostr+json' } });
    const info = (await response.json()) as { name: string; limitation: Record<string, unknown> };
    expect(info.name).toBe('Example Community');
    expect(info.limitation).toMatchObject({ restricted_writes: true, auth_required: false });
  });

  it('members write; outsiders are blocked with the join hint but may send relay lists and DMs to members', async () => {
    const client = await connect(community.url);
    expect((await client.publish(signed(member, { kind: 1, content: 'member note' })))[2]).toBe(true);
    const refused = await client.publish(signed(outsider, { kind: 1 }));
    expect(refused[3]).toBe(
      'blocked: only members of Example Community can post here — ask a member for an invite at https://example.org/join',
    );
    expect((await client.publish(signed(outsider, { kind: 10002, tags: [['r', 'wss://x.example']] })))[2]).toBe(true);
    const dm = signed(outsider, { kind: 4, tags: [['p', member.pubkey]], content: 'hello member' });
    expect((await client.publish(dm))[2]).toBe(true);
    expect((await client.publish(signed(outsider, { kind: 4, tags: [['p', newKeys().pubkey]] })))[2]).toBe(false);
  });

  it('DMs are readable only by their parties; everything else by anyone', async () => {
    const anonymous = await connect(community.url);
    const all = await anonymous.req('all', {});
    expect(all.events.some((e) => e.kind === 4)).toBe(false);
    expect(all.events.some((e) => e.kind === 1)).toBe(true);
    expect((await anonymous.req('dms', { kinds: [4] })).closed?.[2]).toMatch(/^auth-required: /);

    // The recipient, through nostr-tools with onauth; the sender; a third member sees none.
    const asMember = await toolsQuery(community.url, member, { kinds: [4] });
    expect(asMember).toHaveLength(1);
    expect(await toolsQuery(community.url, outsider, { kinds: [4] })).toEqual(asMember);
    expect(await toolsQuery(community.url, friend, { kinds: [4] })).toEqual([]);
  });
});

describe('config/private.yaml', () => {
  it('NIP-11: auth_required and restricted_writes', async () => {
    const response = await fetch(privateRelay.url.replace('ws', 'http'), { headers: { Accept: 'application/nostr+json' } });
    const info = (await response.json()) as { limitation: Record<string, unknown> };
    expect(info.limitation).toMatchObject({ restricted_writes: true, auth_required: true });
  });

  it('members write without AUTH; outsiders are blocked', async () => {
    const client = await connect(privateRelay.url);
    expect((await client.publish(signed(member, { kind: 1, content: 'private note' })))[2]).toBe(true);
    expect((await client.publish(signed(friend, { kind: 4, tags: [['p', member.pubkey]], content: 'psst' })))[2]).toBe(true);
    expect((await client.publish(signed(outsider, { kind: 1 })))[3]).toBe(
      'blocked: only members of Example Private Relay can post here — this relay is private',
    );
  });

  it('reading needs AUTH as a member: REQ, COUNT and NEG-OPEN refused before, restricted: for outsiders', async () => {
    const client = await connect(privateRelay.url);
    expect((await client.req('s', { kinds: [1] })).closed?.[2]).toMatch(/^auth-required: /);
    client.send(['COUNT', 'c', { kinds: [1] }]);
    expect((await client.next((f) => f[0] === 'CLOSED' && f[1] === 'c'))[2]).toMatch(/^auth-required: /);
    await expect(negSync(client, 'n', {}, [])).rejects.toThrow(/auth-required: /);

    const stranger = await connect(privateRelay.url);
    await authenticate(stranger, privateRelay.url, outsider);
    expect((await stranger.req('s', {})).closed?.[2]).toMatch(/^restricted: /);
  });

  it('a member reads through nostr-tools with onauth; DMs stay between their parties', async () => {
    const notes = await toolsQuery(privateRelay.url, member, { kinds: [1] });
    expect(notes).toHaveLength(1);
    expect(await toolsQuery(privateRelay.url, member, { kinds: [4] })).toHaveLength(1);

    const asFriend = await connect(privateRelay.url);
    await authenticate(asFriend, privateRelay.url, friend);
    const all = await asFriend.req('all', {});
    expect(all.events.map((e) => e.kind).sort()).toEqual([1, 4]);
    asFriend.send(['COUNT', 'c', {}]);
    expect((await asFriend.next((f) => f[0] === 'COUNT' && f[1] === 'c'))[2]).toEqual({ count: 2 });
  });
});

describe('config/geohash-multi.yaml', () => {
  let multi: RunningRelay;
  beforeAll(async () => {
    const loaded = loadConfig(configFile('geohash-multi.yaml'), { port: 0, db: join(dir, 'multi-default.sqlite'), host: '127.0.0.1' }, {});
    // Each host's own database in the test directory instead of ./data.
    const hosts = loaded.hosts.map((host) => ({
      ...host,
      config: { ...host.config, storage: { ...host.config.storage, path: join(dir, `multi-${host.names[0]}.sqlite`) } },
    }));
    multi = await startRelay({ ...loaded, hosts }, { logger: pino({ level: 'silent' }) });
  });
  afterAll(() => multi?.stop());

  const VESTERBRO = { host: 'u3but.relay.example' };
  const SKAGEN = { host: 'u4pru.relay.example' };
  const geoChat = (cell: string) =>
    signed(member, {
      kind: 20000,
      content: 'hej',
      tags: [
        ['g', cell],
        ['n', 'member'],
      ],
    });

  it('each place accepts geo-chat inside its own cell only and says which cell it serves', async () => {
    const vesterbro = await connect(multi.localUrl, VESTERBRO);
    const skagen = await connect(multi.localUrl, SKAGEN);
    const inVesterbro = geoChat('u3butz');
    const inSkagen = geoChat('u4prux');
    expect(await vesterbro.publish(inVesterbro)).toEqual(['OK', inVesterbro.id, true, '']);
    expect(await skagen.publish(inSkagen)).toEqual(['OK', inSkagen.id, true, '']);
    expect((await vesterbro.publish(inSkagen))[3]).toMatch(
      /^blocked: this relay serves u3but; the event's location \(g tags u4prux\) is outside it$/,
    );
    expect((await skagen.publish(inVesterbro))[3]).toMatch(
      /^blocked: this relay serves u4pru; the event's location \(g tags u3butz\) is outside it$/,
    );
  });

  it("BitChat's probe on one place is not seen by the other; Skagen's second name is the same relay", async () => {
    const cell = 'u4pruz';
    const skagenReader = await connect(multi.localUrl, { host: 'skagen.relay.example' });
    const vesterbroReader = await connect(multi.localUrl, VESTERBRO);
    await skagenReader.req('probe', { kinds: [20000], '#g': [cell] });
    await vesterbroReader.req('probe', { kinds: [20000] });
    const probe = geoChat(cell);
    expect((await (await connect(multi.localUrl, SKAGEN)).publish(probe))[2]).toBe(true);
    await skagenReader.next((f) => f[0] === 'EVENT' && (f[2] as { id: string }).id === probe.id);
    // Stored for late joiners in Skagen (retention keep: 1h), never in Vesterbro or the default.
    expect((await (await connect(multi.localUrl, SKAGEN)).req('late', { ids: [probe.id] })).events).toHaveLength(1);
    expect((await vesterbroReader.req('late', { ids: [probe.id] })).events).toHaveLength(0);
    expect((await (await connect(multi.localUrl)).req('late', { ids: [probe.id] })).events).toHaveLength(0);
    expect(vesterbroReader.frames.filter((f) => f[0] === 'EVENT' && (f[2] as { id: string }).id === probe.id)).toEqual([]);
  });

  it('NIP-11 per Host header: each place its own name; unknown hosts get the top level', async () => {
    const nameAt = async (host: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port: multi.port, path: '/', headers: { host, accept: 'application/nostr+json' } },
          (res) => {
            let body = '';
            res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
            res.on('end', () => resolve((JSON.parse(body) as { name: string }).name));
          },
        );
        req.on('error', reject);
        req.end();
      });
    expect(await nameAt('u3but.relay.example')).toBe('Vesterbro');
    expect(await nameAt('Skagen.Relay.Example:443')).toBe('Skagen');
    expect(await nameAt('127.0.0.1')).toBe('commons places');
  });

  it('the top level has no scope but refuses untagged geo-chat, like both places (inherited require_for_kinds)', async () => {
    const untagged = signed(member, { kind: 20000, content: 'where?' });
    for (const headers of [undefined, VESTERBRO, SKAGEN]) {
      expect((await (await connect(multi.localUrl, headers)).publish(untagged))[3]).toMatch(/^blocked: /);
    }
    const berlin = geoChat('u33db');
    expect((await (await connect(multi.localUrl)).publish(berlin))[2]).toBe(true);
  });
});

describe('config/public.yaml', () => {
  // Started here rather than with the others: fewer verifier pools starting at once on a busy machine.
  let publicRelay: Awaited<ReturnType<typeof start>>;
  /** The public relay's rate-limit clock: still unless a test moves it. */
  let publicClock = 1_700_000_000_000;
  beforeAll(async () => {
    publicRelay = await start('public.yaml', () => publicClock);
  });
  afterAll(() => publicRelay?.stop());
  it('NIP-11: open for reading and writing', async () => {
    const response = await fetch(publicRelay.url.replace('ws', 'http'), { headers: { Accept: 'application/nostr+json' } });
    const info = (await response.json()) as { name: string; limitation: Record<string, unknown> };
    expect(info.name).toBe('Example Public Relay');
    expect(info.limitation).toMatchObject({ restricted_writes: false, auth_required: false });
  });

  it('anyone posts, up to 20 notes per 10 s per author; other authors and kind classes are unaffected', async () => {
    const client = await connect(publicRelay.url);
    const author = newKeys();
    for (let i = 0; i < 20; i++) expect((await client.publish(signed(author, { content: `note ${i}` })))[2]).toBe(true);
    const extra = signed(author, { content: 'one too many' });
    expect((await client.publish(extra))[3]).toBe('rate-limited: slow down: at most 20 regular events per 10 s from one pubkey');
    expect((await client.publish(signed(author, { kind: 20000, tags: [['g', 'u3but']], content: 'chat' })))[2]).toBe(true);
    expect((await client.publish(signed(outsider, { content: 'someone else' })))[2]).toBe(true);
    publicClock += 500; // 2 notes a second come back
    expect((await client.publish(extra))[2]).toBe(true);
  });

  it('a burst over 50 events per 10 s from one IP is refused; the connection stays open', async () => {
    publicClock += 10_000;
    const client = await connect(publicRelay.url);
    const answers: string[] = [];
    for (let i = 0; i < 51; i++) answers.push(String((await client.publish(signed(newKeys(), { content: `burst ${i}` })))[3]));
    expect(answers.filter((message) => message === '')).toHaveLength(50);
    expect(answers[50]).toBe('rate-limited: slow down: at most 50 events per 10 s from one IP');
    expect((await client.req('open', { kinds: [1], limit: 1 })).events).toHaveLength(1);
    publicClock += 10_000;
  });

  it('DMs are readable only by their parties', async () => {
    const client = await connect(publicRelay.url);
    const dm = signed(outsider, { kind: 4, tags: [['p', member.pubkey]], content: 'hello' });
    expect((await client.publish(dm))[2]).toBe(true);
    expect((await client.req('all', { authors: [outsider.pubkey] })).events.some((e) => e.kind === 4)).toBe(false);
    expect((await client.req('dms', { kinds: [4] })).closed?.[2]).toMatch(/^auth-required: /);
    expect(await toolsQuery(publicRelay.url, member, { kinds: [4] })).toEqual([dm.id]);
    expect(await toolsQuery(publicRelay.url, outsider, { kinds: [4] })).toEqual([dm.id]);
    expect(await toolsQuery(publicRelay.url, friend, { kinds: [4] })).toEqual([]);
  });
});
