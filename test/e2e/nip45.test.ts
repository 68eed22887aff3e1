/**
 * NIP-45 COUNT end to end over a real socket: plain counts, several filters counted once, deletions,
 * replacements and expirations respected, refusals as CLOSED with a prefix, the canonical queries of
 * nostr-tools' getCountManyFilter, and the `hll` field interoperating with nostr-tools' nip45 helpers.
 * Items refer to /work/shared/NIPS-CHECKLIST.md ("NIP-45").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nip45 from 'nostr-tools/nip45';
import type { NostrEvent } from '../../src/event/types.js';
import { RawClient } from '../helpers/client.js';
import { keysFrom, newKeys, now, signed, type Keys } from '../helpers/events.js';
import { trackConnections } from '../helpers/connections.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { connectTools } from '../helpers/tools.js';

let relay: TestRelay;
/** The relay's clock in unix seconds; undefined: the real one. */
let clock: number | undefined;
beforeAll(async () => {
  relay = await startTestRelay({}, { now: () => clock ?? now() });
});
afterAll(async () => {
  await relay?.cleanup();
});

const connect = trackConnections(() => relay.url);

async function publish(client: RawClient, event: NostrEvent): Promise<void> {
  const ok = await client.publish(event);
  expect(ok[2], String(ok[3])).toBe(true);
}
let sub = 0;
/** The COUNT answer's payload, or the CLOSED frame's reason. */
async function count(client: RawClient, ...filters: unknown[]): Promise<{ count?: number; hll?: string; closed?: string }> {
  const subId = `c${sub++}`;
  client.send(['COUNT', subId, ...filters]);
  const frame = await client.next((f) => (f[0] === 'COUNT' || f[0] === 'CLOSED') && f[1] === subId);
  return frame[0] === 'CLOSED' ? { closed: frame[2] as string } : (frame[2] as { count: number; hll?: string });
}

describe('NIP-45 COUNT', () => {
  it('1. counts stored events: five notes of an author → {"count":5}, no hll without a tag attribute', async () => {
    const client = await connect();
    const keys = newKeys();
    for (let i = 0; i < 5; i++) await publish(client, signed(keys, { content: `n${i}`, created_at: now() - i }));
    expect(await count(client, { kinds: [1], authors: [keys.pubkey] })).toEqual({ count: 5 });
    const tools = await connectTools(relay.url);
    try {
      expect(await tools.count([{ kinds: [1], authors: [keys.pubkey] }], {})).toBe(5);
    } finally {
      tools.close();
    }
  });

  it("2. several filters are OR'd and an event matching two filters is counted once; limit is ignored", async () => {
    const client = await connect();
    const keys = newKeys();
    await publish(client, signed(keys, { kind: 1, content: 'a' }));
    await publish(client, signed(keys, { kind: 7, content: '+' }));
    await publish(client, signed(keys, { kind: 6, content: '' }));
    expect(await count(client, { authors: [keys.pubkey], kinds: [1, 7] }, { authors: [keys.pubkey], kinds: [7, 6] })).toEqual({ count: 3 });
    expect(await count(client, { authors: [keys.pubkey], limit: 1 })).toEqual({ count: 3 });
  });

  it('4. a refused COUNT is answered CLOSED with a prefix, and the connection stays usable', async () => {
    const client = await connect();
    expect((await count(client, { authors: ['ab'] })).closed).toMatch(/^invalid: /);
    expect((await count(client, { foo: 1 })).closed).toMatch(/^unsupported: /);
    expect((await count(client)).closed).toMatch(/^invalid: /);
    expect((await count(client, { kinds: [1], '#tag': ['x'] })).closed).toMatch(/^unsupported: /);
    expect((await count(client, { kinds: [1], since: 1, until: 0 })).count).toBe(0);
  });

  it('7. deletions, replacements (only the latest) and expirations are respected', async () => {
    const client = await connect();
    const keys = newKeys();
    const doomed = signed(keys, { content: 'oops' });
    await publish(client, doomed);
    await publish(client, signed(keys, { content: 'stays', created_at: now() - 5 }));
    await publish(client, signed(keys, { kind: 5, tags: [['e', doomed.id]], content: '' }));
    expect(await count(client, { authors: [keys.pubkey], kinds: [1] })).toEqual({ count: 1 });

    await publish(client, signed(keys, { kind: 3, created_at: now() - 10, content: '' }));
    await publish(client, signed(keys, { kind: 3, created_at: now() - 1, content: '' }));
    expect(await count(client, { authors: [keys.pubkey], kinds: [3] })).toEqual({ count: 1 });

    await publish(client, signed(keys, { kind: 1, tags: [['expiration', String(now() + 2)]], content: 'brief' }));
    expect(await count(client, { authors: [keys.pubkey], kinds: [1] })).toEqual({ count: 2 });
    clock = now() + 3;
    try {
      expect(await count(client, { authors: [keys.pubkey], kinds: [1] })).toEqual({ count: 1 });
    } finally {
      clock = undefined;
    }
  });
});

describe('NIP-45 canonical queries and hll', () => {
  // Fixed keys and a fixed target id: the hll offset and the registers, so the estimates below, are the same on every run.
  const target = signed(keysFrom('nip45 target'), { content: 'the note everyone reacts to', created_at: 1_750_000_000 });
  const followed = keysFrom('nip45 followed');
  const reactors: Keys[] = Array.from({ length: 12 }, (_, i) => keysFrom(`nip45 reactor ${i}`));

  beforeAll(async () => {
    const client = await RawClient.connect(relay.url);
    await client.publish(target);
    for (const [i, keys] of reactors.entries()) {
      await client.publish(
        signed(keys, {
          kind: 7,
          tags: [
            ['e', target.id],
            ['p', target.pubkey],
          ],
          content: '+',
        }),
      );
      if (i < 3) await client.publish(signed(keys, { kind: 6, tags: [['e', target.id]], content: '' }));
      if (i < 4) await client.publish(signed(keys, { kind: 1, tags: [['e', target.id]], content: `reply ${i}` }));
      if (i < 2) await client.publish(signed(keys, { kind: 1, tags: [['q', target.id]], content: `quote ${i}` }));
      if (i < 5) await client.publish(signed(keys, { kind: 1111, tags: [['E', target.id]], content: `comment ${i}` }));
      if (i < 7) await client.publish(signed(keys, { kind: 3, tags: [['p', followed.pubkey]], content: '' }));
    }
    // One reactor reacts twice: two events, one pubkey.
    await client.publish(signed(reactors[0]!, { kind: 7, tags: [['e', target.id]], content: '🔥', created_at: now() - 3 }));
    client.socket.terminate();
  });

  const expected: [nip45.CountManyDirective, string, number, number][] = [
    ['reactions', 'target', 13, 12],
    ['reposts', 'target', 3, 3],
    ['replies', 'target', 4, 4],
    ['quotes', 'target', 2, 2],
    ['comments', 'target', 5, 5],
    ['followers', 'followed', 7, 7],
  ];
  for (const [directive, of, events, pubkeys] of expected) {
    it(`6. ${directive}: count, and hll equal to nostr-tools' over the same pubkeys`, async () => {
      const client = await connect();
      const id = of === 'target' ? target.id : followed.pubkey;
      const filter = nip45.getCountManyFilter(id, directive);
      const answer = await count(client, filter);
      expect(answer.count).toBe(events);
      expect(answer.hll).toMatch(/^[0-9a-f]{512}$/);

      // What a client computes from the events themselves with nostr-tools.
      const { events: found } = await client.req(`r${sub++}`, { ...filter, limit: 500 });
      const offset = nip45.computeOffset(nip45.getFilterFirstTagValue(filter)!);
      let theirs = nip45.newHll();
      for (const event of found) theirs = nip45.feedEvent(theirs, event, offset);
      expect(new Set(found.map((e: NostrEvent) => e.pubkey)).size).toBe(pubkeys);
      expect(answer.hll).toBe(nip45.hllEncode(theirs));
      // Merging ours into theirs changes nothing; the estimate is near the pubkey count (linear
      // counting: only register collisions lower it).
      const merged = nip45.mergeHll(nip45.hllDecode(answer.hll!)!, theirs);
      expect(nip45.hllEncode(merged)).toBe(answer.hll);
      expect(nip45.estimateCount(merged)).toBeLessThanOrEqual(pubkeys);
      expect(nip45.estimateCount(merged)).toBeGreaterThanOrEqual(pubkeys - 3);
    });
  }

  it('5. hll merges across relays: a second relay holding other reactors', async () => {
    const other = await startTestRelay();
    try {
      const extra = Array.from({ length: 5 }, (_, i) => keysFrom(`nip45 extra reactor ${i}`));
      const otherClient = await RawClient.connect(other.url);
      for (const keys of [...extra, reactors[1]!]) {
        await otherClient.publish(signed(keys, { kind: 7, tags: [['e', target.id]], content: '+' }));
      }
      const filter = nip45.getCountManyFilter(target.id, 'reactions');
      const here = await count(await connect(), filter);
      otherClient.send(['COUNT', 'x', filter]);
      const there = (await otherClient.next((f) => f[0] === 'COUNT'))[2] as { count: number; hll: string };
      otherClient.socket.terminate();
      const merged = nip45.mergeHll(nip45.hllDecode(here.hll!)!, nip45.hllDecode(there.hll)!);
      // Exactly the registers nostr-tools computes over the union of the reacting pubkeys.
      const offset = nip45.computeOffset(target.id);
      let union = nip45.newHll();
      for (const keys of [...reactors, ...extra]) union = nip45.feedPubkey(union, keys.pubkey, offset);
      expect(nip45.hllEncode(merged)).toBe(nip45.hllEncode(union));
      const estimate = nip45.estimateCount(merged); // 17 distinct: reactors[1] is on both relays
      expect(estimate).toBeLessThanOrEqual(17);
      expect(estimate).toBeGreaterThanOrEqual(14);
    } finally {
      await other.cleanup();
    }
  });

  it('5. hll only for the canonical shapes: not for tagged queries of other shapes, nor for several filters', async () => {
    const client = await connect();
    const reactor = reactors[0]!.pubkey;
    const others: unknown[][] = [
      // Two reactions, a repost and a reply: NDK's count() would report the hll's distinct authors (1), not 4.
      [{ authors: [reactor], '#e': [target.id] }],
      [{ kinds: [7], '#e': [target.id], since: now() - 3600 }],
      [{ kinds: [7, 6], '#e': [target.id] }],
      [
        { kinds: [7], '#e': [target.id] },
        { kinds: [3], '#p': [followed.pubkey] },
      ],
    ];
    const counts = [];
    for (const filters of others) {
      const answer = await count(client, ...filters);
      expect(answer.hll, JSON.stringify(filters)).toBeUndefined();
      counts.push(answer.count);
    }
    expect(counts).toEqual([4, 13, 16, 13 + 7]);
  });

  it('5. nostr-tools countWithHLL: hll for the reactions query, none for authors + #t', async () => {
    const tag = `tag-${target.id.slice(0, 8)}`;
    const author = newKeys();
    const client = await connect();
    for (let i = 0; i < 3; i++) await publish(client, signed(author, { created_at: now() - i, tags: [['t', tag]], content: `t${i}` }));
    const tools = await connectTools(relay.url);
    try {
      expect(await tools.countWithHLL([{ authors: [author.pubkey], '#t': [tag] }], {})).toEqual({ count: 3 });
      const reactions = await tools.countWithHLL([nip45.getCountManyFilter(target.id, 'reactions')], {});
      expect(reactions.count).toBe(13);
      expect(reactions.hll).toMatch(/^[0-9a-f]{512}$/);
    } finally {
      tools.close();
    }
  });
});
