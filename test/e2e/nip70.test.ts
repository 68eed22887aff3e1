/**
 * NIP-70 protected events end to end: an event with a `["-"]` tag is accepted only from a connection
 * authenticated (NIP-42) as its author. Cases follow /work/shared/NIPS-CHECKLIST.md "NIP-70" and the
 * Jumble flow from "What real clients taught us".
 */
import { makeAuthEvent } from 'nostr-tools/nip42';
import { finalizeEvent, type EventTemplate, type VerifiedEvent } from 'nostr-tools/pure';
import type { Relay } from 'nostr-tools/relay';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/client.js';
import { newKeys, now, signed, type Keys } from '../helpers/events.js';
import { indexOf, okFrameProblem } from '../helpers/frames.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { challengeReceived, connectTools } from '../helpers/tools.js';

let relay: TestRelay;

beforeAll(async () => {
  relay = await startTestRelay();
});

afterAll(async () => {
  await relay?.cleanup();
});

const opened: RawClient[] = [];
const tools: Relay[] = [];

afterEach(() => {
  const problems = opened.flatMap((client) => client.frames.map(okFrameProblem).filter((p): p is string => p !== undefined));
  for (const client of opened.splice(0)) client.socket.terminate();
  for (const r of tools.splice(0)) r.close();
  expect(problems).toEqual([]);
});

async function connect(): Promise<RawClient> {
  const client = await RawClient.connect(relay.url);
  client.socket.on('error', () => {});
  opened.push(client);
  return client;
}

async function challengeOf(client: RawClient): Promise<string> {
  return (await client.next((f) => f[0] === 'AUTH'))[1] as string;
}

/** Authenticates the connection as `keys` and checks the OK true. */
async function authenticate(client: RawClient, keys: Keys): Promise<void> {
  const event = finalizeEvent(makeAuthEvent(relay.url, await challengeOf(client)), keys.secret);
  client.send(['AUTH', event]);
  expect(await client.next((f) => f[0] === 'OK' && f[1] === event.id)).toEqual(['OK', event.id, true, '']);
}

const protectedNote = (keys: Keys, content = 'protected note') => signed(keys, { tags: [['-']], content });

async function storedIds(filter: Record<string, unknown>): Promise<string[]> {
  const reader = await connect();
  return (await reader.req('check', filter)).events.map((e: { id: string }) => e.id);
}

describe('NIP-70 protected events', () => {
  it('unauthenticated → OK false auth-required:, then the AUTH challenge again; not stored', async () => {
    const client = await connect();
    const challenge = await challengeOf(client);
    const note = protectedNote(newKeys());
    const ok = await client.publish(note);
    expect(ok).toEqual(['OK', note.id, false, 'auth-required: this event is protected; authenticate as its author']);
    const auth = await client.next((f, i = indexOf(client, f)) => i > indexOf(client, ok) && f[0] === 'AUTH');
    expect(auth).toEqual(['AUTH', challenge]);
    expect(await storedIds({ ids: [note.id] })).toEqual([]);
  });

  it('authenticated as another pubkey → OK false restricted:; not stored', async () => {
    const client = await connect();
    await authenticate(client, newKeys());
    const note = protectedNote(newKeys());
    const ok = await client.publish(note);
    expect(ok[2]).toBe(false);
    expect(ok[3]).toMatch(/^restricted: /);
    expect(await storedIds({ ids: [note.id] })).toEqual([]);
  });

  it('authenticated as the author → OK true, stored, readable by anyone, delivered live', async () => {
    const author = newKeys();
    const listener = await connect();
    await listener.req('live', { authors: [author.pubkey] });
    const client = await connect();
    await authenticate(client, author);
    const note = protectedNote(author);
    expect(await client.publish(note)).toEqual(['OK', note.id, true, '']);
    expect(await storedIds({ ids: [note.id] })).toEqual([note.id]);
    const live = await listener.next((f) => f[0] === 'EVENT' && f[1] === 'live');
    expect((live[2] as { id: string }).id).toBe(note.id);
  });

  it('the flow from the NIP: refused → AUTH → the same event again → OK true', async () => {
    const author = newKeys();
    const client = await connect();
    const note = protectedNote(author);
    expect((await client.publish(note))[3]).toMatch(/^auth-required: /);
    await authenticate(client, author);
    const from = client.frames.length;
    client.send(['EVENT', note]);
    const ok = await client.next((f) => indexOf(client, f) >= from && f[0] === 'OK' && f[1] === note.id);
    expect(ok).toEqual(['OK', note.id, true, '']);
  });

  it('a repost (kind 6 and 16) embedding a protected event → OK false blocked:', async () => {
    const author = newKeys();
    const reposter = newKeys();
    const client = await connect();
    await authenticate(client, reposter);
    const original = protectedNote(author);
    for (const kind of [6, 16]) {
      const repost = signed(reposter, {
        kind,
        content: JSON.stringify(original),
        tags: [
          ['e', original.id],
          ['p', author.pubkey],
          ['k', '1'],
        ],
      });
      const ok = await client.publish(repost);
      expect(ok[2]).toBe(false);
      expect(ok[3]).toMatch(/^blocked: /);
    }
    // A repost of an unprotected event is fine.
    const plain = signed(author);
    const repost = signed(reposter, { kind: 6, content: JSON.stringify(plain), tags: [['e', plain.id]] });
    expect(await client.publish(repost)).toEqual(['OK', repost.id, true, '']);
  });

  it("Jumble's flow: nostr-tools Relay answers AUTH (relay.auth(signer)), then relay.publish of a protected note succeeds", async () => {
    const keys = newKeys();
    const signer = async (template: EventTemplate): Promise<VerifiedEvent> => finalizeEvent(template, keys.secret);
    const r = await connectTools(relay.url);
    tools.push(r);
    await challengeReceived(r);
    await expect(r.auth(signer)).resolves.toBe('');
    const note = finalizeEvent({ kind: 1, created_at: now(), tags: [['-']], content: 'posted from a relay feed' }, keys.secret);
    await expect(r.publish(note)).resolves.toBe('');
    expect(await storedIds({ ids: [note.id] })).toEqual([note.id]);
  });

  it('without answering AUTH (as Primal publishes), nostr-tools publish is refused with auth-required:', async () => {
    const keys = newKeys();
    const r = await connectTools(relay.url);
    tools.push(r);
    const note = finalizeEvent({ kind: 1, created_at: now(), tags: [['-']], content: 'no auth' }, keys.secret);
    await expect(r.publish(note)).rejects.toThrow(/^auth-required: /);
  });
});
