/**
 * Read rules end to end: DMs (4) and gift wraps (1059) readable only after NIP-42
 * AUTH as the author or a p-tagged recipient, on REQ, COUNT, live delivery and NEG-OPEN; `{}` does
 * not leak them. Also private mode. NIPS-CHECKLIST "NIP-42" items 6–8 and 10.
 */
import { makeAuthEvent } from 'nostr-tools/nip42';
import { finalizeEvent, type EventTemplate, type VerifiedEvent } from 'nostr-tools/pure';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, type Frame } from '../helpers/client.js';
import { newKeys, signed, type Keys } from '../helpers/events.js';
import { negSync } from '../helpers/negentropy.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { barrier } from '../helpers/sync.js';
import { connectTools } from '../helpers/tools.js';

let relay: TestRelay;
let privateRelay: TestRelay;
const [alice, bob, carol] = [newKeys(), newKeys(), newKeys()];
const dm = signed(alice, { kind: 4, tags: [['p', bob.pubkey]], content: 'ciphertext' });
const wrap = signed(newKeys(), { kind: 1059, tags: [['p', bob.pubkey]], content: 'sealed' });
const note = signed(alice, { kind: 1, content: 'public' });

const opened: RawClient[] = [];
afterEach(() => {
  for (const client of opened.splice(0)) client.socket.terminate();
});

async function connect(url = relay.url): Promise<RawClient> {
  const client = await RawClient.connect(url);
  client.socket.on('error', () => {});
  opened.push(client);
  return client;
}

/** Answers the connection's (latest) challenge as `keys`; resolves with the OK frame. */
async function auth(client: RawClient, keys: Keys, url = relay.url): Promise<Frame> {
  const challenge = (await client.next((f) => f[0] === 'AUTH'))[1] as string;
  const event = finalizeEvent(makeAuthEvent(url, challenge), keys.secret);
  client.send(['AUTH', event]);
  return client.next((f) => f[0] === 'OK' && f[1] === event.id);
}

const ids = (events: { id: string }[]): string[] => events.map((e) => e.id).sort();

beforeAll(async () => {
  [relay, privateRelay] = await Promise.all([
    startTestRelay(),
    startTestRelay({ members: { enabled: true, pubkeys: [alice.pubkey] }, read: { private: true } }),
  ]);
  const writer = await RawClient.connect(relay.url);
  for (const event of [dm, wrap, note]) expect((await writer.publish(event))[2]).toBe(true);
  writer.socket.terminate();
});

afterAll(async () => {
  await Promise.all([relay?.cleanup(), privateRelay?.cleanup()]);
});

describe('REQ', () => {
  it('NIP-42 flow: REQ {kinds:[4]} → CLOSED auth-required + AUTH → AUTH → same REQ → EVENTs', async () => {
    const client = await connect();
    const first = await client.req('dms', { kinds: [4] });
    expect(first.events).toEqual([]);
    expect(first.closed?.[2]).toMatch(/^auth-required: /);
    // The challenge follows the CLOSED (a second AUTH frame after the one sent on connect).
    const closedAt = client.frames.indexOf(first.closed!);
    expect(client.frames[closedAt + 1]?.[0]).toBe('AUTH');
    expect((await auth(client, bob))[2]).toBe(true);
    const again = await client.req('dms', { kinds: [4] });
    expect(again.closed).toBeUndefined();
    expect(ids(again.events)).toEqual([dm.id]);
  });

  it('{} and {ids} do not leak DMs or gift wraps to an unauthenticated connection', async () => {
    const client = await connect();
    const all = await client.req('all', {});
    expect(all.closed).toBeUndefined();
    expect(ids(all.events)).toEqual([note.id]);
    const byId = await client.req('ids', { ids: [dm.id, wrap.id, note.id] });
    expect(ids(byId.events)).toEqual([note.id]);
    // A mixed filter drops the restricted kinds silently.
    const mixed = await client.req('mixed', { kinds: [1, 4, 1059] });
    expect(mixed.closed).toBeUndefined();
    expect(ids(mixed.events)).toEqual([note.id]);
  });

  it('the recipient reads the DM and the gift wrap; the author reads the DM; a third party reads neither', async () => {
    const asBob = await connect();
    await auth(asBob, bob);
    expect(ids((await asBob.req('a', {})).events)).toEqual(ids([dm, wrap, note]));
    expect(ids((await asBob.req('b', { kinds: [4, 1059], authors: [alice.pubkey] })).events)).toEqual([dm.id]);

    const asAlice = await connect();
    await auth(asAlice, alice);
    expect(ids((await asAlice.req('a', { kinds: [4, 1059] })).events)).toEqual([dm.id]);

    const asCarol = await connect();
    await auth(asCarol, carol);
    const third = await asCarol.req('a', { kinds: [4, 1059], '#p': [bob.pubkey] });
    expect(third.closed).toBeUndefined();
    expect(third.events).toEqual([]);
    expect(ids((await asCarol.req('b', {})).events)).toEqual([note.id]);
  });

  it('nostr-tools Relay with onauth re-sends the subscription after AUTH and gets the DM', async () => {
    const r = await connectTools(relay.url);
    const signer = async (template: EventTemplate): Promise<VerifiedEvent> => finalizeEvent(template, bob.secret);
    r.onauth = signer;
    const received: string[] = [];
    try {
      // Refused with auth-required: before the AUTH is through, the subscription is opened again once it is.
      await new Promise<void>((resolve, reject) => {
        const open = (): void => {
          r.subscribe([{ kinds: [4] }], {
            onevent: (event) => received.push(event.id),
            oneose: () => (received.length > 0 ? resolve() : reject(new Error('EOSE without the DM'))),
            onclose: (reason) => (reason.startsWith('auth-required:') ? r.auth(signer).then(open, reject) : reject(new Error(reason))),
          });
        };
        open();
      });
    } finally {
      r.close();
    }
    expect(received).toEqual([dm.id]);
  });
});

describe('COUNT', () => {
  it('counts only what the connection may read', async () => {
    const client = await connect();
    client.send(['COUNT', 'c1', {}]);
    expect((await client.next((f) => f[1] === 'c1'))[2]).toEqual({ count: 1 });
    client.send(['COUNT', 'c2', { kinds: [4] }]);
    const refused = await client.next((f) => f[1] === 'c2');
    expect(refused[0]).toBe('CLOSED');
    expect(refused[2]).toMatch(/^auth-required: /);
    await auth(client, bob);
    client.send(['COUNT', 'c3', {}]);
    expect((await client.next((f) => f[1] === 'c3'))[2]).toEqual({ count: 3 });
    client.send(['COUNT', 'c4', { kinds: [4, 1059] }]);
    expect((await client.next((f) => f[1] === 'c4'))[2]).toEqual({ count: 2 });
  });
});

describe('live delivery', () => {
  it('a new DM goes only to connections authenticated as its author or recipient', async () => {
    const [anonymous, asBob, asCarol, asAlice] = await Promise.all([connect(), connect(), connect(), connect()]);
    await Promise.all([auth(asBob, bob), auth(asCarol, carol), auth(asAlice, alice)]);
    // Every subscription is open (no CLOSED): `{}` for all, plus DM filters for the authenticated ones.
    expect((await anonymous.req('live', {}, { kinds: [1, 4] })).closed).toBeUndefined();
    for (const client of [asBob, asCarol, asAlice]) expect((await client.req('live', {}, { kinds: [4] })).closed).toBeUndefined();
    expect((await asCarol.req('p', { kinds: [4], '#p': [bob.pubkey] })).closed).toBeUndefined();
    const fresh = signed(alice, { kind: 4, tags: [['p', bob.pubkey]], content: 'new' });
    const publisher = await connect();
    expect((await publisher.publish(fresh))[2]).toBe(true);
    await asBob.next((f) => f[0] === 'EVENT' && (f[2] as { id: string }).id === fresh.id);
    await asAlice.next((f) => f[0] === 'EVENT' && (f[2] as { id: string }).id === fresh.id);
    await Promise.all([barrier(anonymous, publisher), barrier(asCarol, publisher)]);
    const got = (client: RawClient) => client.frames.some((f) => f[0] === 'EVENT' && (f[2] as { id: string }).id === fresh.id);
    expect(got(anonymous)).toBe(false);
    expect(got(asCarol)).toBe(false);
  });
});

describe('NEG-OPEN', () => {
  it('restricted-only unauthenticated → NEG-ERR auth-required:; mixed → only readable ids; after AUTH the DM too', async () => {
    const client = await connect();
    await expect(negSync(client, 'n1', { kinds: [4] }, [])).rejects.toThrow(/NEG-ERR auth-required: /);
    const anonymous = await negSync(client, 'n2', {}, []);
    expect([...anonymous.need]).toEqual([note.id]);
    const mixed = await negSync(client, 'n3', { kinds: [1, 4] }, []);
    expect([...mixed.need]).toEqual([note.id]);
    await auth(client, bob);
    const asBob = await negSync(client, 'n4', {}, []);
    expect([...asBob.need]).toEqual(expect.arrayContaining([dm.id, wrap.id, note.id]));
    // Exactly what REQ {} returns to the same connection (later tests' events included).
    expect([...asBob.need].sort()).toEqual(ids((await client.req('r', {})).events));
  });
});

describe('private mode (read.private)', () => {
  it('no AUTH → auth-required and a challenge; a non-member → restricted:; a member reads', async () => {
    const client = await connect(privateRelay.url);
    const first = await client.req('s', { kinds: [1] });
    expect(first.closed?.[2]).toMatch(/^auth-required: /);
    client.send(['COUNT', 'c', {}]);
    expect((await client.next((f) => f[0] === 'CLOSED' && f[1] === 'c'))[2]).toMatch(/^auth-required: /);
    await expect(negSync(client, 'n', {}, [])).rejects.toThrow(/NEG-ERR auth-required: /);

    await auth(client, carol, privateRelay.url);
    expect((await client.req('s', { kinds: [1] })).closed?.[2]).toMatch(/^restricted: /);

    const member = await connect(privateRelay.url);
    await auth(member, alice, privateRelay.url);
    const ok = await member.req('s', { kinds: [1] });
    expect(ok.closed).toBeUndefined();
  });

  it('NIP-11 says auth_required', async () => {
    const response = await fetch(privateRelay.url.replace('ws', 'http'), { headers: { Accept: 'application/nostr+json' } });
    const info = (await response.json()) as { limitation: Record<string, unknown> };
    expect(info.limitation.auth_required).toBe(true);
    expect(info.limitation.restricted_writes).toBe(true);
  });
});
