/**
 * NIP-01 filter semantics end to end: the real relay, real sockets, real SQLite.
 * One `it` per item 32–44 of /work/shared/NIPS-CHECKLIST.md ("NIP-01"), following "Our decisions"
 * (prefixes / unknown keys / empty arrays → CLOSED naming the problem, connection kept).
 *
 * Tests share one relay, so each uses fresh keys or random tag values to see only its own events.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { RawClient } from '../helpers/client.js';
import { newKeys, now, signed } from '../helpers/events.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { barrier, eventsFor, idsOf, newestFirst, token } from '../helpers/sync.js';

let relay: TestRelay;
/** Fresh relay with default_limit 3 and max_limit 5, for `{}` and clamping. */
let small: TestRelay;

beforeAll(async () => {
  relay = await startTestRelay();
  small = await startTestRelay({ limits: { default_limit: 3, max_limit: 5 } });
});

afterAll(async () => {
  await relay?.cleanup();
  await small?.cleanup();
});

const opened: RawClient[] = [];

async function connect(url = relay.url): Promise<RawClient> {
  const client = await RawClient.connect(url);
  client.socket.on('error', () => {});
  opened.push(client);
  return client;
}

afterEach(() => {
  for (const client of opened.splice(0)) client.socket.terminate();
});

let subCounter = 0;
const nextSub = (): string => `f${++subCounter}`;

async function publishOk(client: RawClient, ...events: NostrEvent[]): Promise<void> {
  for (const event of events) {
    const ok = await client.publish(event);
    expect(ok, `OK for ${event.id}`).toEqual(['OK', event.id, true, expect.any(String)]);
  }
}

/** The stored events a REQ returns before EOSE; fails if the REQ is refused. The sub is closed again. */
async function query(client: RawClient, ...filters: unknown[]): Promise<NostrEvent[]> {
  const subId = nextSub();
  const result = await client.req(subId, ...filters);
  expect(result.closed, `REQ ${JSON.stringify(filters)} was refused`).toBeUndefined();
  client.send(['CLOSE', subId]);
  return result.events as NostrEvent[];
}

/** The CLOSED message answering a REQ; fails if EOSE comes instead. */
async function refused(client: RawClient, ...filters: unknown[]): Promise<string> {
  const subId = nextSub();
  const result = await client.req(subId, ...filters);
  expect(
    result.closed,
    `REQ ${JSON.stringify(filters)} should be refused with CLOSED, got ${result.events.length} events + EOSE`,
  ).toBeDefined();
  expect(result.closed).toHaveLength(3);
  expect(result.closed![1]).toBe(subId);
  return result.closed![2] as string;
}

/** Ids as a sorted list, for set comparisons. */
const idSet = (events: readonly { id: string }[]): string[] => idsOf(events).sort();

/** Connection still usable: a REQ gets its EOSE, the socket was not closed. */
async function expectStillOpen(client: RawClient): Promise<void> {
  await query(client, { ids: ['0'.repeat(64)] });
  expect(client.closeCode).toBeUndefined();
}

describe('NIP-01 filters', () => {
  it('32: ids/authors/#e/#p take exact lowercase 64-hex: prefixes and uppercase → CLOSED invalid:, connection kept', async () => {
    const client = await connect();
    const keys = newKeys();
    const target = newKeys().pubkey;
    const referenced = signed(newKeys());
    const event = signed(keys, {
      tags: [
        ['e', referenced.id],
        ['p', target],
      ],
    });
    await publishOk(client, event);

    const values: Record<string, string> = { ids: event.id, authors: keys.pubkey, '#e': referenced.id, '#p': target };
    for (const [key, full] of Object.entries(values)) {
      for (const bad of [full.slice(0, 4), full.slice(0, 2), full.slice(0, 63), full.toUpperCase()]) {
        const message = await refused(client, { [key]: [bad] });
        expect(message, `${key}: ["${bad}"]`).toMatch(/^invalid: /);
      }
      // A list mixing a good value with a prefix is refused too (never a partial prefix match).
      expect(await refused(client, { [key]: [full, full.slice(0, 8)] })).toMatch(/^invalid: /);
      // The exact value finds the event.
      expect(idsOf(await query(client, { [key]: [full] })), `${key} exact`).toContain(event.id);
    }
    // Primal's cache: 2-hex author prefixes with a since.
    expect(await refused(client, { authors: [keys.pubkey.slice(0, 2)], since: now() - 3600 })).toMatch(/^invalid: /);
    await expectStillOpen(client);
  });

  it('33: kinds are exact integers; authors and ids are ORed lists', async () => {
    const client = await connect();
    const [a, b, c] = [newKeys(), newKeys(), newKeys()];
    const t = now() - 100;
    const a1 = signed(a, { kind: 1, created_at: t });
    const a7 = signed(a, { kind: 7, created_at: t + 1 });
    const a10 = signed(a, { kind: 10, created_at: t + 2 });
    const a1000 = signed(a, { kind: 1000, created_at: t + 3 });
    const b1 = signed(b, { kind: 1, created_at: t + 4 });
    const c1 = signed(c, { kind: 1, created_at: t + 5 });
    await publishOk(client, a1, a7, a10, a1000, b1, c1);

    expect(idSet(await query(client, { authors: [a.pubkey], kinds: [1] }))).toEqual(idSet([a1]));
    expect(idSet(await query(client, { authors: [a.pubkey], kinds: [1, 7] }))).toEqual(idSet([a1, a7]));
    expect(idSet(await query(client, { authors: [a.pubkey], kinds: [10] }))).toEqual(idSet([a10]));
    expect(idSet(await query(client, { authors: [a.pubkey], kinds: [100] }))).toEqual([]);
    expect(idSet(await query(client, { authors: [a.pubkey, b.pubkey] }))).toEqual(idSet([a1, a7, a10, a1000, b1]));
    expect(idSet(await query(client, { authors: [b.pubkey, c.pubkey], kinds: [1] }))).toEqual(idSet([b1, c1]));
    expect(idSet(await query(client, { ids: [a7.id, c1.id] }))).toEqual(idSet([a7, c1]));
    expect(idSet(await query(client, { ids: [a7.id, c1.id, '0'.repeat(64)] }))).toEqual(idSet([a7, c1]));
  });

  it('34: #<letter> matches only tag[1] of tags named exactly that letter; case-sensitive; OR within, AND across', async () => {
    const client = await connect();
    const keys = newKeys();
    const v1 = token('v1');
    const v2 = token('v2');
    const t = now() - 200;
    const first = signed(keys, { created_at: t, tags: [['t', v1]] });
    const secondValueOnly = signed(keys, { created_at: t + 1, tags: [['t', v2, v1]] });
    const upperName = signed(keys, { created_at: t + 2, tags: [['T', v1]] });
    const longName = signed(keys, { created_at: t + 3, tags: [['tt', v1]] });
    const upperValue = signed(keys, { created_at: t + 4, tags: [['t', v1.toUpperCase()]] });
    const laterTag = signed(keys, {
      created_at: t + 5,
      tags: [
        ['x', 'y'],
        ['t', v1],
      ],
    });
    const inContent = signed(keys, { created_at: t + 6, content: v1, tags: [['r', `https://example.com/${v1}`]] });
    await publishOk(client, first, secondValueOnly, upperName, longName, upperValue, laterTag, inContent);

    expect(idSet(await query(client, { '#t': [v1] }))).toEqual(idSet([first, laterTag]));
    expect(idSet(await query(client, { '#T': [v1] }))).toEqual(idSet([upperName]));
    expect(idSet(await query(client, { '#t': [v2] }))).toEqual(idSet([secondValueOnly]));
    expect(idSet(await query(client, { '#t': [v1.toUpperCase()] }))).toEqual(idSet([upperValue]));
    expect(idSet(await query(client, { '#t': [v1, v2] }))).toEqual(idSet([first, secondValueOnly, laterTag]));
    expect(idSet(await query(client, { '#t': [v1], '#x': ['y'] }))).toEqual(idSet([laterTag]));
    expect(idSet(await query(client, { '#t': [v1], '#x': ['z'] }))).toEqual([]);

    // relay-tester "multipletags": {#k:["3036"],#n:["approved"]} must not return an event with only n.
    const author = newKeys();
    const both = signed(author, {
      kind: 30383,
      created_at: now() - 600,
      tags: [
        ['d', '1'],
        ['k', '3036'],
        ['n', 'approved'],
      ],
    });
    const onlyN = signed(author, {
      kind: 30383,
      created_at: now() - 600,
      tags: [
        ['d', '2'],
        ['n', 'approved'],
      ],
    });
    const onlyK = signed(author, {
      kind: 30383,
      created_at: now() - 600,
      tags: [
        ['d', '3'],
        ['k', '3036'],
      ],
    });
    const live = await connect();
    const liveSub = nextSub();
    const liveStart = live.frames.length;
    const opened = await live.req(liveSub, { '#k': ['3036'], '#n': ['approved'] });
    expect(opened.closed).toBeUndefined();
    await publishOk(client, both, onlyN, onlyK);

    expect(idSet(await query(client, { '#k': ['3036'], '#n': ['approved'] }))).toEqual(idSet([both]));
    expect(idSet(await query(client, { '#n': ['approved'], '#k': ['3036'] }))).toEqual(idSet([both]));
    expect(idSet(await query(client, { kinds: [30383], authors: [author.pubkey], '#k': ['3036'], '#n': ['approved'], limit: 20 }))).toEqual(
      idSet([both]),
    );
    expect(idSet(await query(client, { kinds: [1, 33383, 30383, 3], '#n': ['approved'] }))).toEqual(idSet([both, onlyN]));
    // Live matching follows the same rules.
    await barrier(live, client);
    expect(idSet(eventsFor(live, liveSub, liveStart))).toEqual(idSet([both]));
  });

  it('35: since and until are inclusive; since > until returns nothing', async () => {
    const client = await connect();
    const keys = newKeys();
    const t = now() - 1000;
    const before = signed(keys, { created_at: t - 1 });
    const at = signed(keys, { created_at: t });
    const after = signed(keys, { created_at: t + 1 });
    await publishOk(client, before, at, after);
    const by = { authors: [keys.pubkey] };

    expect(idsOf(await query(client, { ...by, since: t }))).toEqual(idsOf([after, at]));
    expect(idsOf(await query(client, { ...by, until: t }))).toEqual(idsOf([at, before]));
    expect(idsOf(await query(client, { ...by, since: t, until: t }))).toEqual([at.id]);
    expect(idsOf(await query(client, { ...by, since: t + 1 }))).toEqual([after.id]);
    expect(idsOf(await query(client, { ...by, until: t - 1 }))).toEqual([before.id]);

    // since > until: nothing (an EOSE with no events, or a CLOSED invalid:).
    for (const filters of [[{ ...by, since: t + 1, until: t }], [{ since: now(), until: now() - 3600 }]]) {
      const subId = nextSub();
      const result = await client.req(subId, ...filters);
      expect(result.events, JSON.stringify(filters)).toEqual([]);
      if (result.closed) expect(result.closed[2]).toMatch(/^invalid: /);
      else client.send(['CLOSE', subId]);
    }

    // Live events are held to the same bounds.
    const live = await connect();
    const subId = nextSub();
    const start = live.frames.length;
    expect((await live.req(subId, { ...by, since: t + 10, until: t + 10 })).closed).toBeUndefined();
    const early = signed(keys, { created_at: t + 9 });
    const exact = signed(keys, { created_at: t + 10 });
    const late = signed(keys, { created_at: t + 11 });
    await publishOk(client, early, exact, late);
    await barrier(live, client);
    expect(idsOf(eventsFor(live, subId, start))).toEqual([exact.id]);
  });

  it('36: fields within a filter are ANDed, filters are ORed, an event matching two filters is sent once', async () => {
    const client = await connect();
    const [a, b] = [newKeys(), newKeys()];
    const t = now() - 300;
    const a1 = signed(a, { kind: 1, created_at: t });
    const a7 = signed(a, { kind: 7, created_at: t + 1 });
    const b1 = signed(b, { kind: 1, created_at: t + 2 });
    const b7 = signed(b, { kind: 7, created_at: t + 3 });
    await publishOk(client, a1, a7, b1, b7);

    expect(idsOf(await query(client, { authors: [a.pubkey], kinds: [7] }))).toEqual([a7.id]);
    expect(idsOf(await query(client, { authors: [a.pubkey], kinds: [7], until: t }))).toEqual([]);
    expect(idsOf(await query(client, { authors: [a.pubkey], kinds: [7] }, { authors: [b.pubkey], kinds: [1] }))).toEqual(idsOf([b1, a7]));
    const overlapping = await query(client, { authors: [a.pubkey] }, { authors: [a.pubkey, b.pubkey], kinds: [7] }, { ids: [a7.id] });
    expect(idsOf(overlapping)).toEqual(idsOf([b7, a7, a1]));
  });

  it('37: {} returns everything on a small database, up to default_limit (3)', async () => {
    const client = await connect(small.url);
    const keys = newKeys();
    const t = now() - 50;
    const first = [signed(keys, { created_at: t }), signed(newKeys(), { kind: 7, created_at: t + 1 })];
    await publishOk(client, ...first);
    expect(idsOf(await query(client, {}))).toEqual(idsOf(newestFirst(first)));

    const more = [2, 3, 4, 5, 6].map((i) => signed(newKeys(), { kind: i % 2 === 0 ? 1 : 30000 + i, created_at: t + i }));
    await publishOk(client, ...more);
    const all = newestFirst([...first, ...more]);
    expect(idsOf(await query(client, {}))).toEqual(idsOf(all.slice(0, 3)));
    expect(idsOf(await query(client, { since: t }))).toEqual(idsOf(all.slice(0, 3)));
  });

  it('37: a thread loaded without limit comes whole: 150 replies, default_limit unset = max_limit (500)', async () => {
    expect(relay.config.limits.default_limit).toBeNull();
    const client = await connect();
    const root = signed(newKeys(), { content: 'root of a long thread' });
    await publishOk(client, root);
    const t = now() - 1000;
    const replies = Array.from({ length: 150 }, (_, i) =>
      signed(newKeys(), { created_at: t + i, tags: [['e', root.id, '', 'root']], content: `reply ${i}` }),
    );
    const oks = await Promise.all(replies.map((reply) => client.publish(reply)));
    expect(oks.filter((ok) => ok[2] !== true)).toEqual([]);
    expect(idsOf(await query(client, { '#e': [root.id] }))).toEqual(idsOf(newestFirst(replies)));
  });

  it('38: results newest first, equal created_at by lowest id first, for every query shape', async () => {
    const client = await connect();
    const keys = newKeys();
    const tag = token('order');
    const t = now() - 400;
    const events = [
      signed(keys, { created_at: t, content: 'tie 1', tags: [['t', tag]] }),
      signed(keys, { created_at: t, content: 'tie 2', tags: [['t', tag]] }),
      signed(keys, { created_at: t, content: 'tie 3', tags: [['t', tag]], kind: 7 }),
      signed(keys, { created_at: t, content: 'tie 4', tags: [['t', tag]] }),
      signed(keys, { created_at: t - 10, content: 'older', tags: [['t', tag]] }),
      signed(keys, { created_at: t + 10, content: 'newer', tags: [['t', tag]], kind: 7 }),
    ];
    // Publish in an order unrelated to the expected one.
    await publishOk(client, events[3]!, events[5]!, events[0]!, events[4]!, events[2]!, events[1]!);
    const expected = idsOf(newestFirst(events));

    const half = expected.slice(0, 3);
    const rest = expected.slice(3);
    const shapes: unknown[][] = [
      [{ authors: [keys.pubkey] }],
      [{ ids: [...expected].reverse() }],
      [{ '#t': [tag] }],
      [{ '#t': [tag, token('none')] }],
      [{ authors: [keys.pubkey], kinds: [1, 7] }],
      [{ authors: [keys.pubkey, newKeys().pubkey], kinds: [1, 7] }],
      [{ ids: rest }, { ids: half }],
      [
        { authors: [keys.pubkey], kinds: [7] },
        { '#t': [tag], kinds: [1] },
      ],
    ];
    for (const filters of shapes) {
      expect(idsOf(await query(client, ...filters)), JSON.stringify(filters)).toEqual(expected);
    }
    // A limit cutting through the tie keeps the lowest ids.
    expect(idsOf(await query(client, { authors: [keys.pubkey], limit: 3 }))).toEqual(expected.slice(0, 3));
    expect(idsOf(await query(client, { '#t': [tag], limit: 2 }))).toEqual(expected.slice(0, 2));
    expect(idsOf(await query(client, { authors: [keys.pubkey], kinds: [1, 7], limit: 4 }))).toEqual(expected.slice(0, 4));
  });

  it('39: limit n returns the n newest (relay-tester {authors,#t:[a,b],kinds:[1,7],limit:2}; nostream 3 notes, limit 2)', async () => {
    const client = await connect();
    const keys = newKeys();
    const minutesAgo = (m: number): number => now() - m * 60;
    const first = signed(keys, { created_at: minutesAgo(40), tags: [['t', 'a']], content: 'limit_test_first' });
    const third = signed(keys, { created_at: minutesAgo(50), tags: [['t', 'a']], content: 'limit_test_third' });
    const second = signed(keys, { created_at: minutesAgo(45), tags: [['t', 'b']], content: 'limit_test_second' });
    const fourth = signed(keys, { created_at: minutesAgo(55), tags: [['t', 'b']], content: 'limit_test_fourth' });
    // Newer events that must not count: wrong kind, wrong tag, other author.
    const wrongKind = signed(keys, { kind: 6, created_at: minutesAgo(10), tags: [['t', 'a']] });
    const wrongTag = signed(keys, { created_at: minutesAgo(10), tags: [['t', 'c']] });
    const otherAuthor = signed(newKeys(), { created_at: minutesAgo(5), tags: [['t', 'a']] });
    const olderReaction = signed(keys, { kind: 7, created_at: minutesAgo(60), tags: [['t', 'b']] });
    await publishOk(client, first, third, second, fourth, wrongKind, wrongTag, otherAuthor, olderReaction);

    const filter = { authors: [keys.pubkey], '#t': ['a', 'b'], kinds: [1, 7], limit: 2 };
    expect(idsOf(await query(client, filter))).toEqual([first.id, second.id]);
    expect(idsOf(await query(client, { ...filter, limit: 5 }))).toEqual(idsOf([first, second, third, fourth, olderReaction]));

    // nostream: 3 notes, limit 2 → exactly the 2 newest + EOSE.
    const author = newKeys();
    const notes = [3, 2, 1].map((s) => signed(author, { created_at: now() - s }));
    await publishOk(client, ...notes);
    expect(idsOf(await query(client, { authors: [author.pubkey], kinds: [1], limit: 2 }))).toEqual(idsOf([notes[2]!, notes[1]!]));
  });

  it('40: limit 0 → no stored events, just EOSE, and the subscription stays live', async () => {
    const client = await connect();
    const publisher = await connect();
    const keys = newKeys();
    await publishOk(publisher, signed(keys, { created_at: now() - 10 }));
    const subId = nextSub();
    const start = client.frames.length;
    const result = await client.req(subId, { authors: [keys.pubkey], limit: 0 });
    expect(result.closed).toBeUndefined();
    expect(result.events).toEqual([]);

    const live = signed(keys);
    await publishOk(publisher, live);
    await barrier(client, publisher);
    const frames = client.since(start).filter((f) => f[1] === subId);
    expect(frames).toEqual([
      ['EOSE', subId],
      ['EVENT', subId, live],
    ]);
  });

  it('42: limit above max_limit (5) is clamped silently', async () => {
    const client = await connect(small.url);
    const keys = newKeys();
    const t = now() - 500;
    const events = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => signed(keys, { created_at: t + i }));
    await publishOk(client, ...events);
    const expected = idsOf(newestFirst(events));

    const subId = nextSub();
    const result = await client.req(subId, { authors: [keys.pubkey], limit: 100 });
    expect(result.closed, 'a large limit is clamped, not refused').toBeUndefined();
    expect(idsOf(result.events)).toEqual(expected.slice(0, 5));
    expect(idsOf(await query(client, { authors: [keys.pubkey], limit: 4 }))).toEqual(expected.slice(0, 4));
    expect(idsOf(await query(client, { authors: [keys.pubkey] }))).toEqual(expected.slice(0, 3));
    expect(client.frames.filter((f) => f[0] === 'NOTICE')).toEqual([]);
  });

  it('43: unknown keys, multi-letter #tags, empty arrays and a bad search → CLOSED unsupported:/invalid: naming the key', async () => {
    const client = await connect();
    const pubkey = newKeys().pubkey;
    const cases: [filter: Record<string, unknown>, mentions: string][] = [
      [{ foo: 1 }, 'foo'],
      [{ kinds: [1], foo: [1] }, 'foo'],
      [{ '#tt': ['x'] }, '#tt'],
      [{ '#': ['x'] }, '#'],
      [{ '#1': ['x'] }, '#1'],
      [{ ids: [] }, 'ids'],
      [{ authors: [] }, 'authors'],
      [{ kinds: [] }, 'kinds'],
      [{ '#e': [] }, '#e'],
      [{ '#t': [] }, '#t'],
      [{ authors: [pubkey], search: 5 }, 'search'], // NIP-50 is on by default; a non-string is invalid (nip50.test.ts: disabled)
    ];
    for (const [filter, mentions] of cases) {
      const message = await refused(client, filter);
      expect(message, JSON.stringify(filter)).toMatch(/^(unsupported|invalid): /);
      expect(message, JSON.stringify(filter)).toContain(mentions);
    }
    // Refused in the second filter of a REQ too.
    expect(await refused(client, { kinds: [1], limit: 1 }, { bar: true })).toMatch(/^(unsupported|invalid): .*bar/);
    await expectStillOpen(client);
  });

  it('44: #g and #D are exact single-letter tags (no geohash prefix match; #D distinct from #d)', async () => {
    const client = await connect();
    const keys = newKeys();
    const geo = `u4pru${token('g').slice(2, 6)}`;
    const t = now() - 700;
    const precise = signed(keys, {
      created_at: t,
      tags: [
        ['g', geo.slice(0, 5)],
        ['g', geo.slice(0, 7)],
        ['g', geo],
      ],
    });
    const coarse = signed(keys, { created_at: t + 1, tags: [['g', geo.slice(0, 3)]] });
    const longer = signed(keys, { created_at: t + 2, tags: [['g', `${geo}x`]] });
    await publishOk(client, precise, coarse, longer);

    const by = { authors: [keys.pubkey] };
    expect(idSet(await query(client, { ...by, '#g': [geo.slice(0, 5)] }))).toEqual(idSet([precise]));
    expect(idSet(await query(client, { ...by, '#g': [geo] }))).toEqual(idSet([precise]));
    expect(idSet(await query(client, { ...by, '#g': [geo.slice(0, 4)] }))).toEqual([]);
    expect(idSet(await query(client, { ...by, '#g': [geo.slice(0, 3)] }))).toEqual(idSet([coarse]));
    expect(idSet(await query(client, { '#g': [`${geo}x`] }))).toEqual(idSet([longer]));

    const day = String(Math.floor(now() / 86400) + 1000 + Math.floor(Math.random() * 100000));
    const calendar = signed(keys, {
      kind: 31923,
      created_at: t,
      tags: [
        ['d', token('cal')],
        ['D', day],
      ],
    });
    const addressed = signed(keys, { kind: 30023, created_at: t, tags: [['d', day]] });
    await publishOk(client, calendar, addressed);
    expect(idSet(await query(client, { '#D': [day] }))).toEqual(idSet([calendar]));
    expect(idSet(await query(client, { '#d': [day] }))).toEqual(idSet([addressed]));
    expect(idSet(await query(client, { kinds: [31923], '#D': [day] }))).toEqual(idSet([calendar]));
    expect(idSet(await query(client, { kinds: [31923], '#d': [day] }))).toEqual([]);
  });
});
