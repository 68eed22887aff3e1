/**
 * Retention end to end: ephemeral `keep` (late joiners see the last minutes, then nothing) and max_age
 * with a relay clock the test moves; NIP-11 shows the rules.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { RawClient } from '../helpers/client.js';
import { newKeys, now, signed } from '../helpers/events.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

let clock = now();
let relay: TestRelay;
beforeAll(async () => {
  relay = await startTestRelay(
    {
      retention: [
        { kinds: [20000], keep: 300 },
        { kinds: [1], max_age: 3600 },
      ],
    },
    { now: () => clock },
  );
});
afterAll(async () => {
  await relay?.cleanup();
});

let sub = 0;
async function ids(client: RawClient, filter: Record<string, unknown>): Promise<string[]> {
  const { events } = await client.req(`q${sub++}`, filter);
  return events.map((event: NostrEvent) => event.id);
}
async function publish(client: RawClient, event: NostrEvent): Promise<unknown[]> {
  client.send(['EVENT', event]);
  return client.next((f) => f[0] === 'OK' && f[1] === event.id);
}

describe('retention', () => {
  it('ephemeral keep: delivered live, a late joiner sees it, after keep it is gone and pruned', async () => {
    const [sender, listener] = [await RawClient.connect(relay.url), await RawClient.connect(relay.url)];
    const keys = newKeys();
    await listener.req('live', { kinds: [20000] });
    const chat = signed(keys, { kind: 20000, created_at: clock, tags: [['g', 'u4pru']], content: 'hi' });
    expect(await publish(sender, chat)).toEqual(['OK', chat.id, true, '']);
    await listener.next((f) => f[0] === 'EVENT' && f[1] === 'live' && (f[2] as NostrEvent).id === chat.id);
    const other = signed(keys, { kind: 20001, created_at: clock });
    expect((await publish(sender, other))[2]).toBe(true);

    const late = await RawClient.connect(relay.url);
    expect(await ids(late, { kinds: [20000, 20001] })).toEqual([chat.id]);
    clock += 299;
    expect(await ids(late, { '#g': ['u4pru'] })).toEqual([chat.id]);
    clock += 1;
    expect(await ids(late, { kinds: [20000] })).toEqual([]);
    const result = await relay.relay.pruner.run();
    expect(result.expired).toBe(1);
    expect(relay.relay.store.has(chat.id)).toBe(false);
    for (const client of [sender, listener, late]) client.socket.terminate();
  });

  it('max_age with a moved clock: the pruner deletes old notes, keeps other kinds', async () => {
    const client = await RawClient.connect(relay.url);
    const keys = newKeys();
    const note = signed(keys, { kind: 1, created_at: clock });
    const reaction = signed(keys, { kind: 7, created_at: clock, tags: [['e', note.id]] });
    await publish(client, note);
    await publish(client, reaction);
    clock += 3601;
    const result = await relay.relay.pruner.run();
    expect(result.rules[1]!.max_age).toBeGreaterThanOrEqual(1);
    expect(await ids(client, { authors: [keys.pubkey] })).toEqual([reaction.id]);
    client.socket.terminate();
  });

  it('the page tells the rules in words; NIP-11 (whose retention field was removed) does not carry them', async () => {
    const http = relay.url.replace('ws://', 'http://');
    const info = (await (await fetch(http, { headers: { accept: 'application/nostr+json' } })).json()) as Record<string, unknown>;
    expect(info).not.toHaveProperty('retention');
    const page = await (await fetch(http, { headers: { accept: 'text/html' } })).text();
    expect(page).toContain('<li>BitChat geo-chat (20000): kept 5 minutes after arrival, so people who join late see them.</li>');
    expect(page).toContain('<li>Notes (1): deleted 1 hour after they were written.</li>');
  });
});
