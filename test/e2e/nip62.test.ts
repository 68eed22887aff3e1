/**
 * NIP-62 requests to vanish end to end: the real relay, real sockets, real SQLite.
 * One `it` per item 1–6 of /work/shared/NIPS-CHECKLIST.md ("NIP-62"), with our decision for item 3:
 * re-publishing a covered event → `OK false "blocked: its author asked this relay to forget them (NIP-62)"`,
 * later events from the key are accepted.
 */
import { makeAuthEvent } from 'nostr-tools/nip42';
import { finalizeEvent } from 'nostr-tools/pure';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import type { RawClient } from '../helpers/client.js';
import { newKeys, now, signed, type Keys } from '../helpers/events.js';
import { trackConnections } from '../helpers/connections.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

const BLOCKED = 'blocked: its author asked this relay to forget them (NIP-62)';
const PUBLIC_URL = 'wss://relay.example.org/nostr';

let relay: TestRelay;
/** The same relay code with relay.url set, as behind a TLS proxy. */
let proxied: TestRelay;
/** An allow-listed relay: only `member` may write. */
let members: TestRelay;
const member = newKeys();
beforeAll(async () => {
  [relay, proxied, members] = await Promise.all([
    startTestRelay(),
    startTestRelay({ relay: { url: PUBLIC_URL } }),
    startTestRelay({ write: { pubkeys: { allow: [member.pubkey] } } }),
  ]);
});
afterAll(async () => {
  await Promise.all([relay?.cleanup(), proxied?.cleanup(), members?.cleanup()]);
});

const connect = trackConnections(() => relay.url);

async function publish(client: RawClient, event: NostrEvent): Promise<[boolean, string]> {
  const ok = await client.publish(event);
  return [ok[2] as boolean, ok[3] as string];
}
/** NIP-42 AUTH as `keys` (gift wraps are readable only by their author or p-tagged recipient). */
async function authenticate(client: RawClient, keys: Keys, url = relay.url): Promise<void> {
  const challenge = (await client.next((f) => f[0] === 'AUTH'))[1] as string;
  const event = finalizeEvent(makeAuthEvent(url, challenge), keys.secret);
  client.send(['AUTH', event]);
  const ok = await client.next((f) => f[0] === 'OK' && f[1] === event.id);
  expect(ok[2]).toBe(true);
}
let sub = 0;
async function ids(client: RawClient, filter: Record<string, unknown>): Promise<string[]> {
  const { events, closed } = await client.req(`q${sub++}`, filter);
  expect(closed).toBeUndefined();
  return events.map((event: NostrEvent) => event.id).sort();
}
const vanish = (keys: Keys, relays: string[], created_at = now()): NostrEvent =>
  signed(keys, { kind: 62, created_at, tags: relays.map((url) => ['relay', url]), content: '' });
const wrapTo = (recipient: string, created_at: number): NostrEvent =>
  signed(newKeys(), { kind: 1059, created_at, tags: [['p', recipient]], content: 'sealed' });
/** Several kinds of the author's, all older than `now()`: a note, a profile, an article, a kind 5. */
function history(keys: Keys): NostrEvent[] {
  const t = now() - 100;
  return [
    signed(keys, { created_at: t }),
    signed(keys, { kind: 0, created_at: t + 1, content: '{}' }),
    signed(keys, { kind: 30023, created_at: t + 2, tags: [['d', 'post']], content: 'article' }),
    signed(keys, { kind: 5, created_at: t + 3, tags: [['e', '0'.repeat(64)]], content: '' }),
  ];
}

describe('NIP-62 requests to vanish', () => {
  it('1. a kind 62 naming this relay (Host, relay.url, or ALL_RELAYS) deletes every event of the key up to it, kind 5s included; {authors:[pk]} → only the 62', async () => {
    const cases: [url: string, relays: (url: string) => string[]][] = [
      [relay.url, (url) => [`${url.replace('ws://', 'wss://')}/`]], // no relay.url: the Host this connection used
      [proxied.url, () => ['wss://Relay.Example.org/nostr/']], // relay.url set
      [relay.url, () => ['wss://elsewhere.example', 'ALL_RELAYS']],
    ];
    for (const [url, relays] of cases) {
      const client = await connect(url);
      const alice = newKeys();
      const old = history(alice);
      for (const event of old) expect(await publish(client, event)).toEqual([true, '']);
      expect(await ids(client, { authors: [alice.pubkey] })).toEqual(old.map((e) => e.id).sort());
      const request = vanish(alice, relays(url));
      expect(await publish(client, request)).toEqual([true, '']);
      expect(await ids(client, { authors: [alice.pubkey] })).toEqual([request.id]);
      expect(await ids(client, { ids: old.map((e) => e.id) })).toEqual([]);
    }
    // Behind a proxy with relay.url set, the local address does not name the relay.
    const client = await connect(proxied.url);
    const bob = newKeys();
    const note = signed(bob, { created_at: now() - 10 });
    await publish(client, note);
    await publish(client, vanish(bob, [proxied.url]));
    expect((await ids(client, { authors: [bob.pubkey] })).includes(note.id)).toBe(true);
  });

  it('2. gift wraps (1059) p-tagging the key, up to the request, are deleted; later ones are kept', async () => {
    const client = await connect();
    const [alice, carol] = [newKeys(), newKeys()];
    await authenticate(client, alice);
    await authenticate(client, carol);
    const before = wrapTo(alice.pubkey, now() - 50);
    const toSomeoneElse = wrapTo(carol.pubkey, now() - 50);
    await publish(client, before);
    await publish(client, toSomeoneElse);
    await publish(client, vanish(alice, [relay.url], now() - 10));
    const after = wrapTo(alice.pubkey, now());
    expect(await publish(client, after)).toEqual([true, '']);
    expect(await ids(client, { kinds: [1059], '#p': [alice.pubkey] })).toEqual([after.id]);
    expect(await ids(client, { ids: [toSomeoneElse.id] })).toEqual([toSomeoneElse.id]);
  });

  it('3. re-publishing a deleted event → OK false blocked:; so is any older event of the key or gift wrap to it; newer events are accepted', async () => {
    const client = await connect();
    const alice = newKeys();
    const old = history(alice);
    const wrap = wrapTo(alice.pubkey, now() - 50);
    for (const event of [...old, wrap]) await publish(client, event);
    const request = vanish(alice, ['ALL_RELAYS'], now() - 5);
    await publish(client, request);
    for (const event of [...old, wrap]) expect(await publish(client, event)).toEqual([false, BLOCKED]);
    // Never seen before, but older than the request: refused too (NIP-62 lets no covered event back in).
    expect(await publish(client, signed(alice, { created_at: now() - 30 }))).toEqual([false, BLOCKED]);
    // Also from another connection.
    const other = await connect();
    expect(await publish(other, old[0]!)).toEqual([false, BLOCKED]);
    const later = signed(alice, { created_at: now() });
    expect(await publish(client, later)).toEqual([true, '']);
    expect(await ids(client, { authors: [alice.pubkey] })).toEqual([request.id, later.id].sort());
  });

  it('4. a kind 62 whose relay tags name only other relays is stored and deletes nothing', async () => {
    const client = await connect();
    const alice = newKeys();
    const old = history(alice);
    for (const event of old) await publish(client, event);
    const elsewhere = vanish(alice, ['wss://elsewhere.example', 'ws://127.0.0.1:1']);
    expect(await publish(client, elsewhere)).toEqual([true, '']);
    expect(await ids(client, { authors: [alice.pubkey] })).toEqual([...old.map((e) => e.id), elsewhere.id].sort());
    expect(await publish(client, signed(alice, { created_at: now() - 60 }))).toEqual([true, '']);
  });

  it('5. a kind 5 targeting the kind 62 has no effect', async () => {
    const client = await connect();
    const alice = newKeys();
    const request = vanish(alice, [relay.url], now() - 10);
    await publish(client, request);
    const del = signed(alice, {
      kind: 5,
      tags: [
        ['e', request.id],
        ['k', '62'],
      ],
      content: '',
    });
    expect((await publish(client, del))[0]).toBe(true);
    expect(await ids(client, { ids: [request.id] })).toEqual([request.id]);
    // Re-sending it is a duplicate, not a deleted event.
    expect((await publish(client, request))[0]).toBe(true);
  });

  it('6. applies to allow-listed members too: their events are deleted and cannot be re-published', async () => {
    const client = await connect(members.url);
    const old = history(member);
    for (const event of old) expect(await publish(client, event)).toEqual([true, '']);
    const request = vanish(member, [members.url]);
    expect(await publish(client, request)).toEqual([true, '']);
    expect(await ids(client, { authors: [member.pubkey] })).toEqual([request.id]);
    expect(await publish(client, old[0]!)).toEqual([false, BLOCKED]);
    // A non-member still cannot write (the allow list is not bypassed in the other direction either).
    expect((await publish(client, signed(newKeys())))[0]).toBe(false);
  });
});
