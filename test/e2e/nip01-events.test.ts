/**
 * NIP-01 event handling end to end: the real relay, real sockets, real SQLite.
 * One `it` per item 1–22 of /work/shared/NIPS-CHECKLIST.md ("NIP-01"), plus the message-level
 * cases from "Our decisions" (bad frames, limits, kind 22242).
 */
import { createHash } from 'node:crypto';
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { finalizeEvent, getEventHash, verifyEvent, type Event } from 'nostr-tools/pure';
import type { Relay } from 'nostr-tools/relay';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { NostrEvent } from '../../src/event/types.js';
import { RawClient, type Frame } from '../helpers/client.js';
import { newKeys, now, signed, type Keys } from '../helpers/events.js';
import { nextAfter, okFrameProblem, recordRaw } from '../helpers/frames.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { connectTools } from '../helpers/tools.js';
import { WAIT_LIMIT_MS, within } from '../helpers/wait.js';

const SMALL_LIMITS = { max_message_bytes: 4096, max_content_length: 100, max_event_tags: 5 };

let relay: TestRelay;
/** A second relay with small limits (message size, content length, tag count). */
let small: TestRelay;

beforeAll(async () => {
  relay = await startTestRelay();
  small = await startTestRelay({ limits: SMALL_LIMITS });
});

afterAll(async () => {
  await relay?.cleanup();
  await small?.cleanup();
});

/** Every RawClient a test opens; afterEach checks every OK frame they got (item 5) and closes them. */
const opened: RawClient[] = [];
const nostrTools: Relay[] = [];

async function connect(url = relay.url): Promise<RawClient> {
  const client = await RawClient.connect(url);
  client.socket.on('error', () => {}); // a close by the relay is checked explicitly where expected
  opened.push(client);
  return client;
}

afterEach(() => {
  const problems = opened.flatMap((client) => client.frames.map(okFrameProblem).filter((p): p is string => p !== undefined));
  for (const client of opened.splice(0)) client.socket.terminate();
  for (const r of nostrTools.splice(0)) r.close();
  // Item 5 holds for every OK the relay sends, in every test.
  expect(problems).toEqual([]);
});

// --- helpers ---------------------------------------------------------------------------------------

/** A fresh event built with nostr-tools' finalizeEvent (the object nostr-tools clients send). */
function finalized(keys: Keys, template: Partial<{ kind: number; created_at: number; tags: string[][]; content: string }> = {}): Event {
  return finalizeEvent({ kind: 1, created_at: now(), tags: [], content: 'hello', ...template }, keys.secret);
}

/** The seven NIP-01 fields, for comparisons. */
function fields(event: NostrEvent | Event): NostrEvent {
  return {
    id: event.id,
    pubkey: event.pubkey,
    created_at: event.created_at,
    kind: event.kind,
    tags: event.tags,
    content: event.content,
    sig: event.sig,
  };
}

/**
 * Sends an EVENT and waits for the OK that answers THIS send (RawClient.publish would return an
 * earlier OK for the same id when an event is sent twice).
 */
function publish(client: RawClient, event: { id: string }): Promise<Frame> {
  const from = client.frames.length;
  client.send(['EVENT', event]);
  return nextAfter(client, from, (f) => f[0] === 'OK' && f[1] === event.id);
}

async function expectOk(client: RawClient, event: { id: string }, message?: string | RegExp): Promise<Frame> {
  const frame = await publish(client, event);
  expect(frame.slice(0, 3), `OK for ${event.id}: ${JSON.stringify(frame)}`).toEqual(['OK', event.id, true]);
  if (typeof message === 'string') expect(frame[3]).toBe(message);
  else if (message) expect(frame[3]).toMatch(message);
  return frame;
}

async function expectRefused(client: RawClient, event: { id: string }, prefix: string, detail?: RegExp): Promise<Frame> {
  const frame = await publish(client, event);
  expect(frame.slice(0, 3), `OK for ${event.id}: ${JSON.stringify(frame)}`).toEqual(['OK', event.id, false]);
  expect(frame[3]).toMatch(new RegExp(`^${prefix}: `));
  if (detail) expect(frame[3]).toMatch(detail);
  return frame;
}

/** Events (parsed) returned before EOSE; fails on CLOSED. */
async function query(client: RawClient, ...filters: unknown[]): Promise<NostrEvent[]> {
  const subId = `q${Math.random().toString(36).slice(2, 10)}`;
  const result = await client.req(subId, ...filters);
  expect(result.closed, `REQ ${JSON.stringify(filters)} was refused`).toBeUndefined();
  return result.events as NostrEvent[];
}

async function storedIds(client: RawClient, ...filters: unknown[]): Promise<string[]> {
  return (await query(client, ...filters)).map((e) => e.id);
}

/** A valid kind-1 event still gets OK true on this connection, and the socket is open. */
async function expectUsable(client: RawClient): Promise<void> {
  expect(client.socket.readyState).toBe(WebSocket.OPEN);
  await expectOk(client, signed(newKeys(), { content: 'still usable' }), '');
}

/**
 * Sends raw text (or an EVENT with a bad event) and waits for the answer: an OK for `readableId`
 * with false/invalid:, or — when no id is readable — a NOTICE (an OK false invalid: is fine too).
 */
async function expectBadInput(client: RawClient, text: string, readableId: string | undefined): Promise<Frame> {
  const from = client.frames.length;
  client.send(text);
  const frame = await nextAfter(client, from, (f) => f[0] === 'OK' || f[0] === 'NOTICE');
  const what = `${text.slice(0, 200)} → ${JSON.stringify(frame)}`;
  if (readableId !== undefined) {
    expect(frame.slice(0, 3), what).toEqual(['OK', readableId, false]);
    expect(frame[3], what).toMatch(/^invalid: /);
  } else if (frame[0] === 'OK') {
    expect(frame[2], what).toBe(false);
    expect(frame[3], what).toMatch(/^invalid: /);
  } else {
    expect(frame, what).toHaveLength(2);
    expect(typeof frame[1], what).toBe('string');
  }
  return frame;
}

/** Waits until `client` has seen EVENT frames for every id, then returns all EVENTs for `subId`. */
async function liveEvents(client: RawClient, subId: string, untilId: string): Promise<NostrEvent[]> {
  await client.next((f) => f[0] === 'EVENT' && f[1] === subId && (f[2] as NostrEvent).id === untilId);
  return client.frames.filter((f) => f[0] === 'EVENT' && f[1] === subId).map((f) => f[2] as NostrEvent);
}

/** Opens a live subscription and waits for its EOSE. */
async function subscribe(client: RawClient, subId: string, ...filters: unknown[]): Promise<void> {
  const result = await client.req(subId, ...filters);
  expect(result.closed, `REQ ${JSON.stringify(filters)} was refused`).toBeUndefined();
}

/**
 * An event whose id IS the sha256 of `[0,pubkey,created_at,kind,tags,content]` over the given
 * (possibly invalid) values, with a valid signature over that id: only a shape check rejects it.
 */
function forge(keys: Keys, overrides: Record<string, unknown>): Record<string, unknown> {
  const e: Record<string, unknown> = { pubkey: keys.pubkey, created_at: now(), kind: 1, tags: [], content: 'forged', ...overrides };
  const id = createHash('sha256')
    .update(JSON.stringify([0, e.pubkey, e.created_at, e.kind, e.tags, e.content]))
    .digest('hex');
  return { id, ...e, sig: signId(keys, id) };
}

/** Signs an arbitrary 32-byte id (which is not the event hash) with the key. */
function signId(keys: Keys, id: string): string {
  return bytesToHex(schnorr.sign(hexToBytes(id), keys.secret));
}

/** Two versions with the same created_at; returned as [lowerId, higherId]. */
function tiedVersions(keys: Keys, kind: number, createdAt: number, tags: string[][] = []): [NostrEvent, NostrEvent] {
  const a = signed(keys, { kind, created_at: createdAt, tags, content: 'version a' });
  const b = signed(keys, { kind, created_at: createdAt, tags, content: 'version b' });
  return a.id < b.id ? [a, b] : [b, a];
}

// --- NIP-01 items 1–22 -----------------------------------------------------------------------------

describe('NIP-01 event validation', () => {
  it('item 1: a valid kind-1 event gets OK true, then REQ by id returns it exactly, then EOSE', async () => {
    const client = await connect();
    const raw = recordRaw(client);
    const event = signed(newKeys(), { content: 'item 1', tags: [['t', 'nostr']] });
    const ok = await publish(client, event);
    expect(ok).toEqual(['OK', event.id, true, expect.any(String)]);

    const from = client.frames.length;
    const rawFrom = raw.length;
    client.send(['REQ', 'item1', { ids: [event.id] }]);
    await nextAfter(client, from, (f) => f[0] === 'EOSE' || f[0] === 'CLOSED');
    // Exactly the stored event, then exactly one EOSE, nothing in between.
    expect(client.frames.slice(from)).toEqual([
      ['EVENT', 'item1', fields(event)],
      ['EOSE', 'item1'],
    ]);
    // The event travels back in the same canonical JSON a client serialises it in.
    expect(raw.slice(rawFrom)[0]).toBe(`["EVENT","item1",${JSON.stringify(fields(event))}]`);
  });

  it('item 1 (nostr-tools Relay): publish resolves, subscribe delivers the verified event and EOSE', async () => {
    const keys = newKeys();
    const event = finalized(keys, { content: 'item 1 via nostr-tools' });
    const publisher = await connectTools(relay.url);
    nostrTools.push(publisher);
    const reason = await publisher.publish(event);
    expect(reason).toBe('');

    const reader = await connectTools(relay.url);
    nostrTools.push(reader);
    const received: Event[] = [];
    await new Promise<void>((resolve, reject) => {
      reader.subscribe([{ ids: [event.id] }], {
        onevent: (e) => received.push(e),
        oneose: () => resolve(),
        onclose: (why) => reject(new Error(`subscription closed: ${why}`)),
      });
    });
    expect(received.map(fields)).toEqual([fields(event)]);
    expect(verifyEvent(received[0]!)).toBe(true);
  });

  it('item 2: an id that is not the hash of the event is refused with invalid:', async () => {
    const client = await connect();
    const keys = newKeys();
    // (a) valid event whose content was changed afterwards: id and sig no longer match the data.
    const tampered = { ...signed(keys, { content: 'original' }), content: 'tampered' };
    await expectRefused(client, tampered, 'invalid');
    // (b) id cafebabe… with a VALID signature over that id: only hashing the event catches it.
    const base = signed(keys, { content: 'item 2' });
    const fakeId = 'cafebabe'.repeat(8);
    const resigned = { ...base, id: fakeId, sig: signId(keys, fakeId) };
    expect(schnorr.verify(hexToBytes(resigned.sig), hexToBytes(fakeId), hexToBytes(keys.pubkey))).toBe(true);
    await expectRefused(client, resigned, 'invalid');
    expect(await storedIds(client, { ids: [tampered.id, fakeId] })).toEqual([]);
    expect(await storedIds(client, { authors: [keys.pubkey] })).toEqual([]);
  });

  it('item 3: a bad signature (zeros, f×128, another event’s sig) is refused with invalid:', async () => {
    const client = await connect();
    const keys = newKeys();
    const zeros = { ...signed(keys, { content: 'zeros' }), sig: '0'.repeat(128) };
    const effs = { ...signed(keys, { content: 'effs' }), sig: 'f'.repeat(128) };
    const other = signed(keys, { content: 'other' });
    const borrowed = { ...signed(keys, { content: 'borrowed' }), sig: other.sig };
    const wrongKey = { ...signed(keys, { content: 'wrong key' }) };
    wrongKey.sig = signId(newKeys(), wrongKey.id);
    for (const event of [zeros, effs, borrowed, wrongKey]) await expectRefused(client, event, 'invalid');
    expect(await storedIds(client, { authors: [keys.pubkey] })).toEqual([]);
  });

  it('item 4: the same event twice → second OK true "duplicate: …", one stored copy, one live delivery', async () => {
    const keys = newKeys();
    const listener = await connect();
    await subscribe(listener, 'dup', { authors: [keys.pubkey] });
    const client = await connect();
    const event = signed(keys, { content: 'item 4' });
    await expectOk(client, event, '');
    await expectOk(client, event, /^duplicate: /);
    // From another connection too.
    const other = await connect();
    await expectOk(other, event, /^duplicate: /);
    expect(await storedIds(client, { ids: [event.id] })).toEqual([event.id]);

    // Back to back (both in flight at once, likely in one write batch).
    const twin = signed(keys, { content: 'item 4, sent twice at once' });
    const from = client.frames.length;
    client.send(['EVENT', twin]);
    client.send(['EVENT', twin]);
    const first = await nextAfter(client, from, (f) => f[0] === 'OK' && f[1] === twin.id);
    await nextAfter(client, client.frames.indexOf(first) + 1, (f) => f[0] === 'OK' && f[1] === twin.id);
    const oks = client.frames.slice(from).filter((f) => f[0] === 'OK' && f[1] === twin.id);
    expect(oks).toHaveLength(2);
    expect(
      oks.every((f) => f[2] === true),
      JSON.stringify(oks),
    ).toBe(true);
    expect(
      oks.filter((f) => /^duplicate: /.test(f[3] as string)),
      JSON.stringify(oks),
    ).toHaveLength(1);
    expect(await storedIds(client, { ids: [twin.id] })).toEqual([twin.id]);

    // A marker published last: once it is delivered, every earlier delivery has arrived too.
    const marker = signed(keys, { content: 'marker' });
    await expectOk(client, marker, '');
    const delivered = await liveEvents(listener, 'dup', marker.id);
    expect(delivered.map((e) => e.id)).toEqual([event.id, twin.id, marker.id]);
  });

  it('item 5: every OK has 4 elements; every OK false message is "<NIP-01 prefix>: <text>"', async () => {
    const client = await connect();
    const keys = newKeys();
    const accepted = signed(keys, { content: 'item 5' });
    const refusals: { id: string }[] = [
      { ...signed(keys, { content: 'x' }), content: 'y' }, // bad id
      { ...signed(keys, { content: 'z' }), sig: '0'.repeat(128) }, // bad sig
      signed(keys, { created_at: now() + 3600 }), // too far in the future
      signed(keys, {
        kind: 22242,
        tags: [
          ['relay', relay.url],
          ['challenge', 'x'],
        ],
      }), // AUTH event via EVENT
      { ...signed(keys), kind: 70000 }, // kind out of range
    ];
    const newer = signed(keys, { kind: 0, created_at: 2000, content: '{}' });
    const older = signed(keys, { kind: 0, created_at: 1000, content: '{}' });
    await expectOk(client, accepted);
    await expectOk(client, newer);
    const duplicate = await publish(client, accepted);
    expect(duplicate).toEqual(['OK', accepted.id, true, expect.stringMatching(/^duplicate: /)]);
    const refused: Frame[] = [];
    for (const event of [...refusals, older]) refused.push(await publish(client, event));
    for (const frame of [duplicate, ...refused]) expect(okFrameProblem(frame)).toBeUndefined();
    expect(refused.map((f) => f[2])).toEqual(refused.map(() => false));
    // No strfry-style replaced:/deleted:, no "ERROR: invalid: …" wrapping.
    for (const frame of refused)
      expect(frame[3]).toMatch(/^(duplicate|pow|blocked|rate-limited|invalid|restricted|mute|error|auth-required): \S/);
    // An accepted fresh event: 4th element present (a string, "" here).
    expect(client.frames.find((f) => f[0] === 'OK' && f[1] === accepted.id)).toEqual(['OK', accepted.id, true, '']);
  });

  it('item 6: malformed events → OK false invalid: (id readable) else NOTICE; the connection stays usable', async () => {
    const client = await connect();
    const keys = newKeys();
    const base = signed(keys, { content: 'item 6' });
    const send = (event: unknown): string => JSON.stringify(['EVENT', event]);
    const without = (key: keyof NostrEvent): Record<string, unknown> => {
      const copy: Record<string, unknown> = { ...base };
      delete copy[key];
      return copy;
    };
    const id = base.id;

    // The id is readable (64 lowercase hex): the answer must be an OK false invalid: for that id.
    // Most are "forged": id = sha256 of the canonical array over the bad values, signed with the key,
    // so only the shape rule (not the id or signature check) can catch them.
    const withReadableId: [string, Record<string, unknown>][] = [
      ['uppercase pubkey', forge(keys, { pubkey: keys.pubkey.toUpperCase() })],
      ['uppercase sig', { ...base, sig: base.sig.toUpperCase() }],
      ['short pubkey', { ...base, pubkey: base.pubkey.slice(2) }],
      ['long pubkey', { ...base, pubkey: `${base.pubkey}00` }],
      ['short sig', { ...base, sig: base.sig.slice(2) }],
      ['long sig', { ...base, sig: `${base.sig}00` }],
      ['kind 70000', forge(keys, { kind: 70000 })],
      ['kind 65536', forge(keys, { kind: 65536 })],
      ['kind -1', forge(keys, { kind: -1 })],
      ['kind 1.5', forge(keys, { kind: 1.5 })],
      ['kind "1"', forge(keys, { kind: '1' })],
      ['created_at 1.5', forge(keys, { created_at: 1.5 })],
      ['created_at string', forge(keys, { created_at: String(now()) })],
      ['tags [["e",null]]', forge(keys, { tags: [['e', null]] })],
      ['tags [["e",1]]', forge(keys, { tags: [['e', 1]] })],
      ['tags ["e"]', forge(keys, { tags: ['e'] })],
      ['tags {}', forge(keys, { tags: {} })],
      ['tags null', forge(keys, { tags: null })],
      ['content number', forge(keys, { content: 1 })],
      ['content null', forge(keys, { content: null })],
      ['pubkey number', { ...base, pubkey: 1 }],
      ['missing pubkey', without('pubkey')],
      ['missing sig', without('sig')],
      ['missing kind', without('kind')],
      ['missing created_at', without('created_at')],
      ['missing tags', without('tags')],
      ['missing content', without('content')],
    ];
    for (const [, event] of withReadableId) await expectBadInput(client, send(event), event.id as string);

    // The id itself is unreadable: NOTICE (or an OK false invalid:).
    const withoutReadableId: unknown[] = [
      { ...base, id: base.id.toUpperCase() },
      { ...base, id: base.id.slice(2) },
      { ...base, id: `${base.id}00` },
      { ...base, id: 12 },
      without('id'),
      'not an object',
      null,
      [base],
    ];
    for (const event of withoutReadableId) await expectBadInput(client, send(event), undefined);
    await expectBadInput(client, JSON.stringify(['EVENT']), undefined);

    // Nothing was stored, and the socket is still open and working.
    expect(await storedIds(client, { ids: [id] })).toEqual([]);
    await expectUsable(client);
    // The untouched event is still accepted afterwards (nothing was cached as "seen").
    await expectOk(client, base, '');
  });

  it('item 7: content with \\n \\" \\\\ \\r \\t \\b \\f escapes is accepted and returned identical', async () => {
    const client = await connect();
    const raw = recordRaw(client);
    const content = 'line1\nline2 "quoted" back\\slash\r\ttab \b backspace \f formfeed \\n literal';
    const event = finalized(newKeys(), { content });
    const text = JSON.stringify(['EVENT', event]);
    for (const sequence of ['\\n', '\\"', '\\\\', '\\r', '\\t', '\\b', '\\f']) expect(text).toContain(sequence);
    await expectOk(client, event, '');

    const [got] = await query(client, { ids: [event.id] });
    expect(got).toBeDefined();
    expect(fields(got!)).toEqual(fields(event));
    expect(Buffer.from(got!.content, 'utf8').equals(Buffer.from(content, 'utf8'))).toBe(true);
    expect(getEventHash(got!)).toBe(event.id);
    expect(verifyEvent({ ...got! })).toBe(true);
    // On the wire, the content comes back with the same escapes, byte for byte.
    const frame = raw.find((r) => r.includes(event.id) && r.startsWith('["EVENT"'));
    expect(frame).toContain(`"content":${JSON.stringify(content)}`);
  });

  it('item 8: Unicode non-characters U+FDD1 / U+10FFF2 (and \\u0000, \\/) are accepted and returned identical', async () => {
    const client = await connect();
    const raw = recordRaw(client);
    const keys = newKeys();
    const content = 'non-characters: \uFDD1 and \u{10FFF2} and emoji \u{1F600}';
    const event = finalized(keys, { content });
    await expectOk(client, event, '');
    const [got] = await query(client, { ids: [event.id] });
    expect(fields(got!)).toEqual(fields(event));
    expect(Buffer.from(got!.content, 'utf8').equals(Buffer.from(content, 'utf8'))).toBe(true);
    expect(getEventHash(got!)).toBe(event.id);
    const frame = raw.find((r) => r.includes(event.id) && r.startsWith('["EVENT"'));
    expect(Buffer.from(frame!, 'utf8').includes(Buffer.from(JSON.stringify(content), 'utf8'))).toBe(true);

    // Optional cases: a NUL escape, and `\/` on the wire (the id is over the parsed string "a/b").
    const nul = finalized(keys, { content: 'nul:\u0000:end' });
    expect(JSON.stringify(nul)).toContain('\\u0000');
    await expectOk(client, nul, '');
    const slash = finalized(keys, { content: 'a/b' });
    const slashText = JSON.stringify(['EVENT', slash]).replace('"a/b"', '"a\\/b"');
    expect(slashText).toContain('a\\/b');
    const from = client.frames.length;
    client.send(slashText);
    const ok = await nextAfter(client, from, (f) => f[0] === 'OK' && f[1] === slash.id);
    expect(ok).toEqual(['OK', slash.id, true, '']);
    const back = await query(client, { ids: [nul.id, slash.id] });
    expect(back.map(fields).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [fields(nul), fields(slash)].sort((a, b) => a.id.localeCompare(b.id)),
    );
    for (const e of back) expect(getEventHash(e)).toBe(e.id);
  });

  it('item 9: "tags":[[],[]] is accepted (and returned as is) or refused with invalid:', async () => {
    const client = await connect();
    const event = finalized(newKeys(), { tags: [[], []], content: 'item 9' });
    const ok = await publish(client, event);
    if (ok[2] === true) {
      const [got] = await query(client, { ids: [event.id] });
      expect(got && fields(got)).toEqual(fields(event));
    } else {
      expect(ok[3]).toMatch(/^invalid: /);
    }
    await expectUsable(client);
  });

  it('item 10: created_at a week old is accepted; > 900 s ahead is refused invalid: and advertised in NIP-11', async () => {
    const client = await connect();
    const keys = newKeys();
    const weekOld = signed(keys, { created_at: now() - 7 * 24 * 3600, content: 'a week old' });
    await expectOk(client, weekOld, '');
    const yearOld = signed(keys, { created_at: now() - 365 * 24 * 3600, content: 'a year old' });
    await expectOk(client, yearOld, ''); // default: no lower limit
    const soon = signed(keys, { created_at: now() + 60, content: 'a minute ahead' });
    await expectOk(client, soon, '');
    const hourAhead = signed(keys, { created_at: now() + 3600, content: 'an hour ahead' });
    await expectRefused(client, hourAhead, 'invalid', /created_at/);
    const farAhead = signed(keys, { created_at: now() + 901 + 60, content: 'just past the limit' });
    await expectRefused(client, farAhead, 'invalid', /created_at/);
    expect((await storedIds(client, { authors: [keys.pubkey] })).sort()).toEqual([weekOld.id, yearOld.id, soon.id].sort());

    const response = await fetch(relay.url.replace(/^ws/, 'http'), {
      headers: { Accept: 'application/nostr+json' },
      signal: AbortSignal.timeout(WAIT_LIMIT_MS),
    });
    expect(response.status).toBe(200);
    const info = (await response.json()) as { limitation?: Record<string, unknown> };
    expect(info.limitation?.created_at_upper_limit).toBe(900);
    expect(info.limitation?.created_at_lower_limit).toBeUndefined();
  });

  it('item 11: unknown top-level fields are ignored (event accepted, NIP-01 fields returned intact)', async () => {
    const client = await connect();
    const event = signed(newKeys(), { content: 'item 11' });
    const withExtras = { ...event, extra: 'x', seen_on: ['wss://elsewhere'], relays: null, number: 7 };
    await expectOk(client, withExtras, '');
    const [got] = await query(client, { ids: [event.id] });
    expect(got).toBeDefined();
    expect(fields(got!)).toEqual(fields(event));
    expect(getEventHash(got!)).toBe(event.id);
  });
});

describe('NIP-01 kinds and storage', () => {
  it('item 12: regular kinds (and unclassified ones) are all stored: two kind-1 both returned', async () => {
    const client = await connect();
    const keys = newKeys();
    const t = now() - 100;
    const kinds = [1, 1, 2, 7, 40, 44, 45, 999, 1000, 9999, 40000, 65535];
    const events = kinds.map((kind, i) => signed(keys, { kind, created_at: t + i, content: `kind ${kind} #${i}` }));
    for (const event of events) await expectOk(client, event, '');
    const got = await query(client, { authors: [keys.pubkey] });
    expect(got.map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort());
    expect((await query(client, { authors: [keys.pubkey], kinds: [1] })).length).toBe(2);
  });

  it('item 13: replaceable kinds (0, 3, 10000–19999) keep only the latest version', async () => {
    const client = await connect();
    for (const kind of [0, 3, 10000, 10002, 19999]) {
      const keys = newKeys();
      const first = signed(keys, { kind, created_at: 1000, content: kind === 0 ? '{"name":"old"}' : '' });
      const second = signed(keys, { kind, created_at: 2000, content: kind === 0 ? '{"name":"new"}' : '' });
      await expectOk(client, first, '');
      await expectOk(client, second, '');
      expect(await storedIds(client, { kinds: [kind], authors: [keys.pubkey] }), `kind ${kind}`).toEqual([second.id]);
      expect(await storedIds(client, { ids: [first.id] }), `kind ${kind}: replaced version`).toEqual([]);
    }
  });

  it('item 14: an older replaceable version → OK false "duplicate: …", not stored, not broadcast', async () => {
    const client = await connect();
    const keys = newKeys();
    const listener = await connect();
    await subscribe(listener, 'rep', { authors: [keys.pubkey] });
    const t1000 = signed(keys, { kind: 0, created_at: 1000, content: '{}' });
    const t2000 = signed(keys, { kind: 0, created_at: 2000, content: '{}' });
    const t1500 = signed(keys, { kind: 0, created_at: 1500, content: '{}' });
    await expectOk(client, t1000, '');
    await expectOk(client, t2000, '');
    await expectRefused(client, t1500, 'duplicate');
    // The exact version that was replaced, re-sent: refused the same way.
    await expectRefused(client, t1000, 'duplicate');
    expect(await storedIds(client, { kinds: [0], authors: [keys.pubkey] })).toEqual([t2000.id]);
    const t3000 = signed(keys, { kind: 0, created_at: 3000, content: '{}' });
    await expectOk(client, t3000, '');
    const delivered = await liveEvents(listener, 'rep', t3000.id);
    expect(delivered.map((e) => e.created_at)).toEqual([1000, 2000, 3000]);
  });

  it('item 15: created_at tie → the lowest id is kept, whichever order they arrive in', async () => {
    const client = await connect();
    for (const kind of [0, 10000, 30000]) {
      const tags = kind === 30000 ? [['d', 'tie']] : [];
      // Lower id first, higher id second → the second is refused.
      const keysA = newKeys();
      const [lowA, highA] = tiedVersions(keysA, kind, 5000, tags);
      await expectOk(client, lowA, '');
      await expectRefused(client, highA, 'duplicate');
      expect(await storedIds(client, { kinds: [kind], authors: [keysA.pubkey] }), `kind ${kind}, low first`).toEqual([lowA.id]);
      // Higher id first, lower id second → the second replaces the first.
      const keysB = newKeys();
      const [lowB, highB] = tiedVersions(keysB, kind, 5000, tags);
      await expectOk(client, highB, '');
      await expectOk(client, lowB, '');
      expect(await storedIds(client, { kinds: [kind], authors: [keysB.pubkey] }), `kind ${kind}, high first`).toEqual([lowB.id]);
    }
  });

  it('item 16: a different author or a different kind never replaces', async () => {
    const client = await connect();
    const alice = newKeys();
    const bob = newKeys();
    const a10000 = signed(alice, { kind: 10000, created_at: 1000 });
    const a10001 = signed(alice, { kind: 10001, created_at: 2000 });
    const b10000 = signed(bob, { kind: 10000, created_at: 3000 });
    const a0 = signed(alice, { kind: 0, created_at: 4000, content: '{}' });
    const a3 = signed(alice, { kind: 3, created_at: 5000 });
    for (const event of [a10000, a10001, b10000, a0, a3]) await expectOk(client, event, '');
    expect((await storedIds(client, { authors: [alice.pubkey, bob.pubkey] })).sort()).toEqual(
      [a10000.id, a10001.id, b10000.id, a0.id, a3.id].sort(),
    );
  });

  it('item 17: the d tag is ignored for 10000–19999 (10003 with and without d replace each other)', async () => {
    const client = await connect();
    const keys = newKeys();
    const plain = signed(keys, { kind: 10003, created_at: 1000 });
    const withD = signed(keys, { kind: 10003, created_at: 2000, tags: [['d', 'x']] });
    const withOtherD = signed(keys, { kind: 10003, created_at: 3000, tags: [['d', 'y']] });
    await expectOk(client, plain, '');
    await expectOk(client, withD, '');
    expect(await storedIds(client, { kinds: [10003], authors: [keys.pubkey] })).toEqual([withD.id]);
    await expectOk(client, withOtherD, '');
    expect(await storedIds(client, { kinds: [10003], authors: [keys.pubkey] })).toEqual([withOtherD.id]);
    // And an older one without d is refused even though the stored one has a different d.
    await expectRefused(client, signed(keys, { kind: 10003, created_at: 2500 }), 'duplicate');
  });

  it('item 18: addressable (30000–39999) keep the latest per d; an older version → OK false duplicate:', async () => {
    const client = await connect();
    for (const kind of [30000, 30023, 39999]) {
      const keys = newKeys();
      const t1000 = signed(keys, { kind, created_at: 1000, tags: [['d', 'x']], content: 'v1' });
      const t2000 = signed(keys, { kind, created_at: 2000, tags: [['d', 'x']], content: 'v2' });
      await expectOk(client, t1000, '');
      await expectOk(client, t2000, '');
      expect(await storedIds(client, { kinds: [kind], authors: [keys.pubkey] }), `kind ${kind}`).toEqual([t2000.id]);
      await expectRefused(client, t1000, 'duplicate');
      await expectRefused(client, signed(keys, { kind, created_at: 1500, tags: [['d', 'x']], content: 'v1.5' }), 'duplicate');
      expect(await storedIds(client, { kinds: [kind], authors: [keys.pubkey], '#d': ['x'] }), `kind ${kind}`).toEqual([t2000.id]);
    }
  });

  it('item 19: missing d, ["d"] and ["d",""] are one address; [["d","a"],["d","b"]] is address a', async () => {
    const client = await connect();
    const keys = newKeys();
    const kind = 30001;
    const missing = signed(keys, { kind, created_at: 1000 });
    const bare = signed(keys, { kind, created_at: 2000, tags: [['d']] });
    const empty = signed(keys, { kind, created_at: 3000, tags: [['d', '']] });
    for (const event of [missing, bare, empty]) await expectOk(client, event, '');
    expect(await storedIds(client, { kinds: [kind], authors: [keys.pubkey] })).toEqual([empty.id]);
    await expectRefused(client, signed(keys, { kind, created_at: 2500 }), 'duplicate');

    const other = newKeys();
    const ab = signed(other, {
      kind,
      created_at: 1000,
      tags: [
        ['d', 'a'],
        ['d', 'b'],
      ],
    });
    const b = signed(other, { kind, created_at: 1500, tags: [['d', 'b']] });
    const a = signed(other, { kind, created_at: 2000, tags: [['d', 'a']] });
    await expectOk(client, ab, '');
    await expectOk(client, b, ''); // address b is independent of ab (address a)
    expect((await storedIds(client, { kinds: [kind], authors: [other.pubkey] })).sort()).toEqual([ab.id, b.id].sort());
    await expectOk(client, a, ''); // replaces ab
    expect((await storedIds(client, { kinds: [kind], authors: [other.pubkey] })).sort()).toEqual([a.id, b.id].sort());
    await expectRefused(
      client,
      signed(other, {
        kind,
        created_at: 1800,
        tags: [
          ['d', 'a'],
          ['d', 'z'],
        ],
      }),
      'duplicate',
    );
  });

  it('item 20: different d / kind / pubkey are independent; d on a regular kind has no effect', async () => {
    const client = await connect();
    const alice = newKeys();
    const bob = newKeys();
    const events = [
      signed(alice, { kind: 30000, created_at: 1000, tags: [['d', 'x']] }),
      signed(alice, { kind: 30000, created_at: 1001, tags: [['d', 'y']] }),
      signed(alice, { kind: 30001, created_at: 1002, tags: [['d', 'x']] }),
      signed(bob, { kind: 30000, created_at: 1003, tags: [['d', 'x']] }),
      signed(alice, { kind: 1, created_at: 1004, tags: [['d', 'x']], content: 'one' }),
      signed(alice, { kind: 1, created_at: 1005, tags: [['d', 'x']], content: 'two' }),
    ];
    for (const event of events) await expectOk(client, event, '');
    expect((await storedIds(client, { authors: [alice.pubkey, bob.pubkey] })).sort()).toEqual(events.map((e) => e.id).sort());
  });

  it('item 21: {kinds:[0],authors:[pk]} returns just the latest, whatever the arrival order', async () => {
    const client = await connect();
    const keys = newKeys();
    const versions = [1000, 2000, 3000].map((t) => signed(keys, { kind: 0, created_at: t, content: `{"v":${t}}` }));
    for (const event of versions) await expectOk(client, event, '');
    expect(await storedIds(client, { kinds: [0], authors: [keys.pubkey] })).toEqual([versions[2]!.id]);
    expect(await storedIds(client, { kinds: [0], authors: [keys.pubkey], limit: 10 })).toEqual([versions[2]!.id]);

    const reverse = newKeys();
    const newestFirst = [3000, 1000, 2000].map((t) => signed(reverse, { kind: 0, created_at: t, content: `{"v":${t}}` }));
    await expectOk(client, newestFirst[0]!, '');
    await expectRefused(client, newestFirst[1]!, 'duplicate');
    await expectRefused(client, newestFirst[2]!, 'duplicate');
    expect(await storedIds(client, { kinds: [0], authors: [reverse.pubkey] })).toEqual([newestFirst[0]!.id]);
  });

  it('item 22: ephemeral events are delivered live, not stored; OK true "" even when nobody listens', async () => {
    const keys = newKeys();
    const listener = await connect();
    await subscribe(listener, 'eph', { kinds: [25000], authors: [keys.pubkey] });
    const publisher = await connect();
    const event = signed(keys, { kind: 25000, content: 'ephemeral' });
    await expectOk(publisher, event, '');
    const [delivered] = await liveEvents(listener, 'eph', event.id);
    expect(delivered).toEqual(fields(event));
    // Not stored: a later REQ gets nothing but EOSE.
    const later = await connect();
    expect(await query(later, { kinds: [25000], authors: [keys.pubkey] })).toEqual([]);
    expect(await query(later, { ids: [event.id] })).toEqual([]);

    // Nobody listening: still OK true with an empty message (our decision), and not stored.
    const lonely = newKeys();
    const unheard = signed(lonely, { kind: 20001, content: 'nobody hears this' });
    await expectOk(publisher, unheard, '');
    expect(await query(later, { authors: [lonely.pubkey] })).toEqual([]);
  });

  it('item 22 (nostr-tools Relay): a subscriber receives an ephemeral event live', async () => {
    const keys = newKeys();
    const reader = await connectTools(relay.url);
    const writer = await connectTools(relay.url);
    nostrTools.push(reader, writer);
    const event = finalized(keys, { kind: 21000, content: 'ephemeral via nostr-tools' });
    const received: Event[] = [];
    let eose!: () => void;
    const eosed = new Promise<void>((resolve) => (eose = resolve));
    let arrived!: () => void;
    const delivered = new Promise<void>((resolve) => (arrived = resolve));
    reader.subscribe([{ kinds: [21000], authors: [keys.pubkey] }], {
      onevent: (e) => {
        received.push(e);
        arrived();
      },
      oneose: () => eose(),
    });
    await within(eosed, 'EOSE');
    expect(await writer.publish(event)).toBe('');
    await within(delivered, 'live ephemeral event');
    expect(received.map(fields)).toEqual([fields(event)]);
  });
});

// --- message-level decisions -----------------------------------------------------------------------

describe('NIP-01 messages and limits (our decisions)', () => {
  it('kind 22242 via EVENT → OK false invalid:, neither stored nor broadcast', async () => {
    const keys = newKeys();
    const listener = await connect();
    await subscribe(listener, 'auth', { authors: [keys.pubkey] });
    const client = await connect();
    const auth = signed(keys, {
      kind: 22242,
      tags: [
        ['relay', relay.url],
        ['challenge', 'abc'],
      ],
      content: '',
    });
    await expectRefused(client, auth, 'invalid');
    const marker = signed(keys, { content: 'marker after 22242' });
    await expectOk(client, marker, '');
    const delivered = await liveEvents(listener, 'auth', marker.id);
    expect(delivered.map((e) => e.id)).toEqual([marker.id]);
    expect(await storedIds(client, { ids: [auth.id] })).toEqual([]);
  });

  it('non-JSON text → NOTICE "invalid: …"; the connection stays usable', async () => {
    const client = await connect();
    for (const text of ['hello', '["EVENT",', '{"not":"an array"}', '', '[1,2]']) {
      const from = client.frames.length;
      client.send(text);
      const notice = await nextAfter(client, from, (f) => f[0] === 'NOTICE');
      expect(notice, JSON.stringify(text)).toEqual(['NOTICE', expect.stringMatching(/^invalid: /)]);
    }
    await expectUsable(client);
  });

  it('unknown verb → NOTICE; the connection stays usable', async () => {
    const client = await connect();
    for (const message of [['FOO', 'bar'], ['event', {}], ['HELLO']]) {
      const from = client.frames.length;
      client.send(message);
      const notice = await nextAfter(client, from, (f) => f[0] === 'NOTICE');
      expect(notice).toEqual(['NOTICE', expect.any(String)]);
    }
    await expectUsable(client);
  });

  it('binary frame → NOTICE; the event inside is not taken; the connection stays usable', async () => {
    const client = await connect();
    const event = signed(newKeys(), { content: 'sent as binary' });
    const from = client.frames.length;
    client.socket.send(Buffer.from(JSON.stringify(['EVENT', event])), { binary: true });
    const notice = await nextAfter(client, from, (f) => f[0] === 'NOTICE' || f[0] === 'OK');
    expect(notice).toEqual(['NOTICE', expect.any(String)]);
    await expectUsable(client);
    expect(await storedIds(client, { ids: [event.id] })).toEqual([]);
  });

  it('a frame larger than limits.max_message_bytes → the relay closes the connection', async () => {
    // Just under the limit is fine…
    const fine = await connect(small.url);
    const keys = newKeys();
    const tags = [['t', 'x'.repeat(3000)]];
    const big = signed(keys, { tags, content: 'under the limit' });
    expect(Buffer.byteLength(JSON.stringify(['EVENT', big]))).toBeLessThan(SMALL_LIMITS.max_message_bytes);
    await expectOk(fine, big, '');

    // …one over it is not: the relay drops the connection (and does not take the event).
    const client = await connect(small.url);
    const huge = signed(keys, { tags: [['t', 'x'.repeat(5000)]], content: 'over the limit' });
    expect(Buffer.byteLength(JSON.stringify(['EVENT', huge]))).toBeGreaterThan(SMALL_LIMITS.max_message_bytes);
    client.send(['EVENT', huge]);
    const code = await within(client.closed(), 'close of the connection by the relay');
    // Up to twice the limit the relay reads the frame, says why, and closes with 1009 (message too big).
    expect(code).toBe(1009);
    // (AUTH: the NIP-42 challenge every connection gets on open.)
    expect(client.frames.filter((f) => f[0] !== 'AUTH')).toEqual([
      ['NOTICE', expect.stringMatching(/^invalid: message is \d+ bytes; the limit is 4096$/)],
    ]);
    expect(await storedIds(fine, { ids: [huge.id] })).toEqual([]);

    // Beyond twice the limit uWebSockets.js drops the connection without reading the frame.
    const dropped = await connect(small.url);
    dropped.send(['EVENT', signed(keys, { tags: [['t', 'x'.repeat(9000)]], content: 'far over the limit' })]);
    expect(await within(dropped.closed(), 'close of the connection by the relay')).not.toBe(1000);
    expect(dropped.frames.filter((f) => f[0] !== 'AUTH')).toEqual([]);
    // The relay itself is fine.
    await expectUsable(fine);
  });

  it('content longer than max_content_length → OK false invalid:', async () => {
    const client = await connect(small.url);
    const keys = newKeys();
    await expectOk(client, signed(keys, { content: 'c'.repeat(SMALL_LIMITS.max_content_length) }), '');
    const long = signed(keys, { content: 'c'.repeat(SMALL_LIMITS.max_content_length + 1) });
    await expectRefused(client, long, 'invalid');
    expect(await storedIds(client, { ids: [long.id] })).toEqual([]);
    await expectUsable(client);
  });

  it('more tags than max_event_tags → OK false invalid:', async () => {
    const client = await connect(small.url);
    const keys = newKeys();
    const tags = (n: number): string[][] => Array.from({ length: n }, (_, i) => ['t', `tag${i}`]);
    await expectOk(client, signed(keys, { tags: tags(SMALL_LIMITS.max_event_tags), content: 'at the limit' }), '');
    const many = signed(keys, { tags: tags(SMALL_LIMITS.max_event_tags + 1), content: 'over the limit' });
    await expectRefused(client, many, 'invalid');
    expect(await storedIds(client, { ids: [many.id] })).toEqual([]);
    await expectUsable(client);
  });
});
