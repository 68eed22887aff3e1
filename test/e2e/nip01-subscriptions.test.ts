/**
 * NIP-01 subscriptions end to end: the real relay, real sockets, real SQLite.
 * One `it` per item 23–31 and 45 of /work/shared/NIPS-CHECKLIST.md ("NIP-01"), plus 41 (limit and
 * live events), 36 for live events, "a write is visible to the next REQ", and nostr-tools' Relay and
 * SimplePool as real clients.
 */
import { SimplePool, useWebSocketImplementation as usePoolWebSocket } from 'nostr-tools/pool';
import type { Event } from 'nostr-tools/pure';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { NostrEvent } from '../../src/event/types.js';
import { RawClient } from '../helpers/client.js';
import { newKeys, now, signed } from '../helpers/events.js';
import { nextAfter } from '../helpers/frames.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { barrier, eventsFor, framesFor, idsOf } from '../helpers/sync.js';
import { connectTools } from '../helpers/tools.js';
import { WAIT_LIMIT_MS, waitFor } from '../helpers/wait.js';

usePoolWebSocket(WebSocket);

/** Prefixes a CLOSED message may start with (NIP-01 + NIP-42). */
const CLOSED_PREFIXES = [
  'auth-required',
  'restricted',
  'unsupported',
  'error',
  'rate-limited',
  'invalid',
  'blocked',
  'duplicate',
  'pow',
  'mute',
];

let relay: TestRelay;
/** A relay allowing only two subscriptions per connection and three filters per REQ. */
let tight: TestRelay;

beforeAll(async () => {
  relay = await startTestRelay();
  tight = await startTestRelay({ limits: { max_subscriptions: 2, max_filters: 3 } });
});

afterAll(async () => {
  await relay?.cleanup();
  await tight?.cleanup();
});

const opened: RawClient[] = [];
const closers: (() => void)[] = [];

async function connect(url = relay.url): Promise<RawClient> {
  const client = await RawClient.connect(url);
  client.socket.on('error', () => {});
  opened.push(client);
  return client;
}

afterEach(() => {
  for (const client of opened.splice(0)) client.socket.terminate();
  for (const close of closers.splice(0)) close();
});

/** Sends an EVENT and asserts it was accepted. */
async function publishOk(client: RawClient, event: NostrEvent): Promise<void> {
  const ok = await client.publish(event);
  expect(ok, `OK for ${event.id}`).toEqual(['OK', event.id, true, expect.any(String)]);
}

/** REQ that must be accepted: returns the stored events sent before EOSE. */
async function reqOk(client: RawClient, subId: string, ...filters: unknown[]): Promise<NostrEvent[]> {
  const result = await client.req(subId, ...filters);
  expect(result.closed, `REQ ${subId} ${JSON.stringify(filters)} was refused`).toBeUndefined();
  return result.events as NostrEvent[];
}

/** Waits for the CLOSED frame answering a REQ sent now; fails if EOSE comes instead. */
async function reqRefused(client: RawClient, subId: string, ...filters: unknown[]): Promise<string> {
  const result = await client.req(subId, ...filters);
  expect(result.closed, `REQ ${subId} ${JSON.stringify(filters)} should be refused with CLOSED, got EOSE`).toBeDefined();
  const closed = result.closed!;
  expect(closed).toHaveLength(3);
  expect(closed[1]).toBe(subId);
  expect(typeof closed[2]).toBe('string');
  return closed[2] as string;
}

/** "<prefix>: <text>" with a NIP-01 prefix. */
function expectPrefixed(message: string, prefix?: string): void {
  const match = /^([a-z-]+): /.exec(message);
  expect(match, `message "${message}" must start with "<prefix>: "`).not.toBeNull();
  if (prefix !== undefined) expect(match![1]).toBe(prefix);
  else expect(CLOSED_PREFIXES).toContain(match![1]);
}

/** Round trip on one connection: every message sent before it has been handled. */
async function roundTrip(client: RawClient): Promise<void> {
  const subId = `rt-${Math.random().toString(36).slice(2, 10)}`;
  await reqOk(client, subId, { ids: ['0'.repeat(64)] });
  client.send(['CLOSE', subId]);
}

describe('NIP-01 subscriptions', () => {
  it('23: REQ → the stored matches, then exactly one EOSE; no EVENT for a sub id before its REQ', async () => {
    const client = await connect();
    const publisher = await connect();
    const keys = newKeys();
    const t = now();
    const stored = [signed(keys, { created_at: t - 30 }), signed(keys, { created_at: t - 20 }), signed(keys, { created_at: t - 10 })];
    for (const event of stored) await publishOk(publisher, event);
    await barrier(client, publisher);
    expect(framesFor(client, 'EVENT', 'sub23'), 'EVENT frames for a sub id before any REQ for it').toEqual([]);

    const start = client.frames.length;
    const events = await reqOk(client, 'sub23', { authors: [keys.pubkey] });
    expect(idsOf(events)).toEqual(idsOf([...stored].reverse()));
    expect(events).toEqual([...stored].reverse());

    // A live match after EOSE, then make sure everything the relay sent has arrived.
    const live = signed(keys, { created_at: t });
    await publishOk(publisher, live);
    await barrier(client, publisher);
    const frames = client.since(start).filter((f) => f[1] === 'sub23');
    expect(frames.map((f) => f[0])).toEqual(['EVENT', 'EVENT', 'EVENT', 'EOSE', 'EVENT']);
    expect(framesFor(client, 'EOSE', 'sub23', start)).toEqual([['EOSE', 'sub23']]);
  });

  it('24: the subscription stays open after EOSE and gets a new match from another connection', async () => {
    const client = await connect();
    const publisher = await connect();
    const keys = newKeys();
    expect(await reqOk(client, 'sub24', { authors: [keys.pubkey], kinds: [1] })).toEqual([]);

    const event = signed(keys);
    const from = client.frames.length;
    await publishOk(publisher, event);
    const frame = await nextAfter(client, from, (f) => f[0] === 'EVENT' && f[1] === 'sub24');
    expect(frame).toEqual(['EVENT', 'sub24', event]);
    await barrier(client, publisher);
    expect(framesFor(client, 'CLOSED', 'sub24'), 'no CLOSED for an open-ended subscription').toEqual([]);
    expect(eventsFor(client, 'sub24')).toEqual([event]);
  });

  it('24 (nostr-tools Relay): publish + subscribe + live delivery', async () => {
    const reader = await connectTools(relay.url);
    const writer = await connectTools(relay.url);
    closers.push(
      () => reader.close(),
      () => writer.close(),
    );
    const keys = newKeys();
    const old = signed(keys, { created_at: now() - 60, content: 'stored before the REQ' });
    await expect(writer.publish(old)).resolves.toBeTypeOf('string');

    const received: Event[] = [];
    let closedReason: string | undefined;
    const eose = new Promise<void>((resolve, reject) => {
      reader.subscribe([{ authors: [keys.pubkey] }], {
        onevent: (event) => received.push(event),
        oneose: () => resolve(),
        onclose: (reason) => {
          closedReason = reason;
          reject(new Error(`closed before EOSE: ${reason}`));
        },
      });
    });
    await eose;
    expect(received.map((e) => e.id)).toEqual([old.id]);

    const fresh = signed(keys, { content: 'published after EOSE' });
    await expect(writer.publish(fresh)).resolves.toBeTypeOf('string');
    await waitFor(() => received.length >= 2, 'the live event');
    expect(received.map((e) => e.id)).toEqual([old.id, fresh.id]);
    expect(received[1]).toMatchObject(fresh);
    expect(closedReason).toBeUndefined();
  });

  it('23 (nostr-tools SimplePool.querySync): returns the stored matches', async () => {
    const publisher = await connect();
    const keys = newKeys();
    const t = now();
    const events = [signed(keys, { created_at: t - 2 }), signed(keys, { created_at: t - 1 }), signed(keys, { kind: 7, created_at: t })];
    for (const event of events) await publishOk(publisher, event);

    const pool = new SimplePool();
    closers.push(() => pool.destroy());
    const found = await pool.querySync([relay.url], { authors: [keys.pubkey], kinds: [1] }, { maxWait: WAIT_LIMIT_MS });
    expect(found.map((e) => e.id).sort()).toEqual([events[0]!.id, events[1]!.id].sort());
  });

  it('25: after CLOSE no further EVENT for that sub id', async () => {
    const client = await connect();
    const publisher = await connect();
    const keys = newKeys();
    await reqOk(client, 'sub25', { authors: [keys.pubkey] });
    const before = signed(keys, { content: 'before CLOSE' });
    await publishOk(publisher, before);
    await nextAfter(client, 0, (f) => f[0] === 'EVENT' && f[1] === 'sub25' && (f[2] as NostrEvent).id === before.id);

    client.send(['CLOSE', 'sub25']);
    await roundTrip(client); // the CLOSE has been handled
    const from = client.frames.length;
    const after = signed(keys, { content: 'after CLOSE' });
    await publishOk(publisher, after);
    await barrier(client, publisher);
    expect(eventsFor(client, 'sub25', from), 'EVENT frames for a closed subscription').toEqual([]);
  });

  it('26: REQ with an existing sub id replaces the subscription', async () => {
    const client = await connect();
    const publisher = await connect();
    const a = newKeys();
    const b = newKeys();
    const storedA = signed(a, { created_at: now() - 5 });
    const storedB = signed(b, { created_at: now() - 5 });
    await publishOk(publisher, storedA);
    await publishOk(publisher, storedB);

    expect(idsOf(await reqOk(client, 'same', { authors: [a.pubkey] }))).toEqual([storedA.id]);
    expect(idsOf(await reqOk(client, 'same', { authors: [b.pubkey] }))).toEqual([storedB.id]);

    const from = client.frames.length;
    const liveA = signed(a, { content: 'old filter' });
    const liveB = signed(b, { content: 'new filter' });
    await publishOk(publisher, liveA);
    await publishOk(publisher, liveB);
    await barrier(client, publisher);
    expect(idsOf(eventsFor(client, 'same', from)), 'only the replacing filter is live, once').toEqual([liveB.id]);
  });

  it('27: sub ids are per connection', async () => {
    const one = await connect();
    const two = await connect();
    const publisher = await connect();
    const a = newKeys();
    const b = newKeys();
    await reqOk(one, 's', { authors: [a.pubkey] });
    await reqOk(two, 's', { authors: [b.pubkey] });

    const eventA = signed(a);
    const eventB = signed(b);
    await publishOk(publisher, eventA);
    await publishOk(publisher, eventB);
    await barrier(one, publisher);
    await barrier(two, publisher);
    expect(idsOf(eventsFor(one, 's'))).toEqual([eventA.id]);
    expect(idsOf(eventsFor(two, 's'))).toEqual([eventB.id]);

    // Closing "s" on one connection leaves the other's "s" alone.
    one.send(['CLOSE', 's']);
    await roundTrip(one);
    const eventB2 = signed(b, { content: 'second' });
    const eventA2 = signed(a, { content: 'second' });
    await publishOk(publisher, eventA2);
    await publishOk(publisher, eventB2);
    await barrier(one, publisher);
    await barrier(two, publisher);
    expect(idsOf(eventsFor(one, 's'))).toEqual([eventA.id]);
    expect(idsOf(eventsFor(two, 's'))).toEqual([eventB.id, eventB2.id]);
  });

  it('28: sub id "" and 65 characters → CLOSED invalid:, 64 characters accepted', async () => {
    const client = await connect();
    expectPrefixed(await reqRefused(client, '', { kinds: [1], limit: 1 }), 'invalid');
    expectPrefixed(await reqRefused(client, 'x'.repeat(65), { kinds: [1], limit: 1 }), 'invalid');
    const long = 'y'.repeat(64);
    const result = await client.req(long, { kinds: [1], limit: 1 });
    expect(result.closed, '64-character sub id must be accepted').toBeUndefined();
    expect(framesFor(client, 'EOSE', long)).toEqual([['EOSE', long]]);
    expect(client.closeCode).toBeUndefined();
  });

  it('29: a refused REQ (too many filters) → CLOSED with a prefix; the sub is not opened; max_filters accepted', async () => {
    const client = await connect(tight.url);
    const publisher = await connect(tight.url);
    const keys = newKeys();
    const filter = { authors: [keys.pubkey] };
    const message = await reqRefused(client, 'many', filter, filter, filter, filter);
    expectPrefixed(message);
    expect(message).not.toMatch(/^ERROR/i);

    // The refused REQ opened nothing.
    const from = client.frames.length;
    await publishOk(publisher, signed(keys));
    await barrier(client, publisher);
    expect(eventsFor(client, 'many', from)).toEqual([]);

    // Exactly max_filters (3) filters is fine.
    expect(await reqOk(client, 'three', filter, { kinds: [1], authors: [keys.pubkey] }, { ids: ['0'.repeat(64)] })).toHaveLength(1);
    expect(client.closeCode).toBeUndefined();
  });

  it('30: garbage, non-JSON and unknown verbs → NOTICE; the socket stays open', async () => {
    const client = await connect();
    const garbage: (string | Buffer)[] = [
      'hello relay',
      '{"not":"an array"}',
      '[]',
      '[1,2,3]',
      '["FOO","bar"]',
      '["REQ"]',
      '["CLOSE"]',
      '["EVENT"]',
      '',
      Buffer.from('["REQ","binary",{}]'),
    ];
    for (const message of garbage) {
      const from = client.frames.length;
      client.socket.send(message);
      const notice = await nextAfter(client, from, (f) => f[0] === 'NOTICE');
      expect(notice, `reply to ${JSON.stringify(message)}`).toHaveLength(2);
      expect(typeof notice[1]).toBe('string');
    }
    expect(client.closeCode).toBeUndefined();
    // Still a working connection.
    await reqOk(client, 'after-garbage', { ids: ['0'.repeat(64)] });
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('30: a frame nested 60,000 deep → NOTICE "invalid:" before any parse; the socket stays open', async () => {
    const client = await connect();
    const deep = `["REQ","deep",${'['.repeat(60_000)}${']'.repeat(60_000)}]`;
    expect(deep.length).toBeLessThan(relay.config.limits.max_message_bytes);
    for (const frame of [deep, `["EVENT",{"tags":${'['.repeat(20)}${']'.repeat(20)}}]`]) {
      const from = client.frames.length;
      client.socket.send(frame);
      const notice = await nextAfter(client, from, (f) => f[0] === 'NOTICE' || f[0] === 'CLOSED' || f[0] === 'OK');
      expect(notice).toEqual(['NOTICE', 'invalid: message nests arrays or objects more than 10 deep']);
    }
    await reqOk(client, 'after-deep', { ids: ['0'.repeat(64)] });
    expect(client.closeCode).toBeUndefined();
  });

  it('31: exceeding max_subscriptions (2) → CLOSED with a prefix on the 3rd; replacing or closing makes room', async () => {
    const client = await connect(tight.url);
    await reqOk(client, 'a', { kinds: [1], limit: 1 });
    await reqOk(client, 'b', { kinds: [1], limit: 1 });
    const message = await reqRefused(client, 'c', { kinds: [1], limit: 1 });
    expectPrefixed(message);

    // Re-using an open id replaces it and is not a new subscription.
    await reqOk(client, 'a', { kinds: [7], limit: 1 });
    // Closing one frees a slot.
    client.send(['CLOSE', 'b']);
    await reqOk(client, 'c', { kinds: [1], limit: 1 });
    expectPrefixed(await reqRefused(client, 'd', { kinds: [1], limit: 1 }));
    expect(client.closeCode).toBeUndefined();
  });

  it('41: limit applies to stored events only, not to live ones', async () => {
    const client = await connect();
    const publisher = await connect();
    const keys = newKeys();
    const t = now();
    const stored = [signed(keys, { created_at: t - 20 }), signed(keys, { created_at: t - 10 })];
    for (const event of stored) await publishOk(publisher, event);

    const start = client.frames.length;
    expect(idsOf(await reqOk(client, 'lim', { authors: [keys.pubkey], limit: 1 }))).toEqual([stored[1]!.id]);
    const live = [signed(keys, { content: 'live 1' }), signed(keys, { content: 'live 2' }), signed(keys, { content: 'live 3' })];
    for (const event of live) await publishOk(publisher, event);
    await barrier(client, publisher);
    expect(idsOf(eventsFor(client, 'lim', start))).toEqual([stored[1]!.id, ...idsOf(live)]);
  });

  it('36 (live): an event matching two filters of one REQ is sent once', async () => {
    const client = await connect();
    const publisher = await connect();
    const keys = newKeys();
    const tag = `two-filters-${keys.pubkey.slice(0, 8)}`;
    await reqOk(client, 'twice', { authors: [keys.pubkey] }, { '#t': [tag] }, { kinds: [1], authors: [keys.pubkey] });
    const event = signed(keys, { tags: [['t', tag]] });
    await publishOk(publisher, event);
    await barrier(client, publisher);
    expect(idsOf(eventsFor(client, 'twice'))).toEqual([event.id]);
  });

  it('a write is visible to the next REQ (write, then REQ; repeated filter sees the new event)', async () => {
    const client = await connect();
    const keys = newKeys();
    const filter = { authors: [keys.pubkey], kinds: [1] };
    expect(await reqOk(client, 'w1', filter)).toEqual([]);
    client.send(['CLOSE', 'w1']);

    const first = signed(keys, { created_at: now() - 1 });
    await publishOk(client, first);
    expect(idsOf(await reqOk(client, 'w2', { ids: [first.id] }))).toEqual([first.id]);
    expect(idsOf(await reqOk(client, 'w3', filter))).toEqual([first.id]);

    // Same filter again after another write: no stale cached result.
    const second = signed(keys, { created_at: now() });
    await publishOk(client, second);
    const other = await connect();
    expect(idsOf(await reqOk(other, 'w4', filter))).toEqual([second.id, first.id]);
  });

  it('45: only "/" accepts websocket upgrades; "/foo" is refused', async () => {
    const ok = await connect(`${relay.url}/`);
    expect(await reqOk(ok, 'root', { ids: ['0'.repeat(64)] })).toEqual([]);

    for (const path of ['/foo', '/foo/bar']) {
      const outcome = await new Promise<string>((resolve) => {
        const socket = new WebSocket(`${relay.url}${path}`);
        const timer = setTimeout(() => {
          socket.terminate();
          resolve('timeout');
        }, WAIT_LIMIT_MS);
        socket.on('open', () => {
          clearTimeout(timer);
          socket.terminate();
          resolve('open');
        });
        socket.on('unexpected-response', (_req, res) => {
          clearTimeout(timer);
          socket.terminate();
          resolve(`http ${res.statusCode}`);
        });
        socket.on('error', (err) => {
          clearTimeout(timer);
          resolve(`error ${err.message}`);
        });
      });
      expect(outcome, `upgrade on ${path}`).not.toBe('open');
      expect(outcome, `upgrade on ${path}`).not.toBe('timeout');
    }
  });
});
