/**
 * NIP-65 relay lists end to end: kind 10002 accepted from anyone (no AUTH, not a member), replaceable
 * (only the latest kept, older versions refused), `r` tags with read/write markers stored verbatim and
 * queryable with {"#r":[url]}. Items refer to /work/shared/NIPS-CHECKLIST.md ("NIP-65").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finalizeEvent } from 'nostr-tools/pure';
import type { NostrEvent } from '../../src/event/types.js';
import { RawClient } from '../helpers/client.js';
import { newKeys, now, signed } from '../helpers/events.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { connectTools } from '../helpers/tools.js';

let relay: TestRelay;
beforeAll(async () => {
  relay = await startTestRelay();
});
afterAll(async () => {
  await relay?.cleanup();
});

const A = 'wss://relay.a.example';
const B = 'wss://relay.b.example/';
const C = 'wss://relay.c.example';

describe('NIP-65 relay lists (kind 10002)', () => {
  it('2. accepted from anyone, published the way Primal does (nostr-tools, no AUTH)', async () => {
    const keys = newKeys();
    const tools = await connectTools(relay.url);
    try {
      const list = finalizeEvent({ kind: 10002, created_at: now(), tags: [['r', A]], content: '' }, keys.secret);
      await expect(tools.publish(list)).resolves.toBeDefined();
    } finally {
      tools.close();
    }
    const client = await RawClient.connect(relay.url);
    const { events } = await client.req('q', { kinds: [10002], authors: [keys.pubkey] });
    expect(events).toHaveLength(1);
    client.socket.terminate();
  });

  it('1. replaceable: the newer list replaces the older; r tags stored verbatim and queryable by #r', async () => {
    const keys = newKeys();
    const client = await RawClient.connect(relay.url);
    try {
      const first = signed(keys, {
        kind: 10002,
        created_at: now() - 60,
        tags: [
          ['r', A],
          ['r', B, 'read'],
        ],
        content: '',
      });
      const second = signed(keys, {
        kind: 10002,
        created_at: now() - 30,
        tags: [
          ['r', B, 'write'],
          ['r', C],
        ],
        content: '',
      });
      const older = signed(keys, { kind: 10002, created_at: now() - 90, tags: [['r', A]], content: '' });
      expect((await client.publish(first))[2]).toBe(true);
      expect((await client.req('a1', { '#r': [A] })).events.map((e: NostrEvent) => e.id)).toContain(first.id);

      expect((await client.publish(second))[2]).toBe(true);
      const older_ok = await client.publish(older);
      expect(older_ok[2]).toBe(false);
      expect(older_ok[3]).toMatch(/^duplicate: /);

      const latest = await client.req('l', { kinds: [10002], authors: [keys.pubkey] });
      expect(latest.events).toHaveLength(1);
      expect(latest.events[0]).toEqual(second);
      expect(latest.events[0]!.tags).toEqual([
        ['r', B, 'write'],
        ['r', C],
      ]); // markers verbatim

      const byA = await client.req('a2', { kinds: [10002], '#r': [A], authors: [keys.pubkey] });
      expect(byA.events).toEqual([]); // only in the replaced version
      const byB = await client.req('b', { '#r': [B], kinds: [10002] });
      expect(byB.events.map((e: NostrEvent) => e.id)).toEqual([second.id]);
      const byEither = await client.req('e', { '#r': [A, C], authors: [keys.pubkey] });
      expect(byEither.events.map((e: NostrEvent) => e.id)).toEqual([second.id]);
      client.send(['COUNT', 'n', { '#r': [C], kinds: [10002] }]);
      expect(((await client.next((f) => f[0] === 'COUNT'))[2] as { count: number }).count).toBe(1);
    } finally {
      client.socket.terminate();
    }
  });
});
