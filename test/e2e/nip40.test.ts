/**
 * NIP-40 expiration end to end: the real relay, real sockets, real SQLite, and a relay clock the test
 * moves (startTestRelay(…, { now })) — the same clock reaches the cheap checks, the query path (REQ,
 * COUNT) and live delivery. One `it` per item 1–7 of /work/shared/NIPS-CHECKLIST.md ("NIP-40").
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NobleVerifier, type Verifier } from '../../src/event/verify.js';
import type { NostrEvent } from '../../src/event/types.js';
import type { RawClient } from '../helpers/client.js';
import { newKeys, now, signed } from '../helpers/events.js';
import { trackConnections } from '../helpers/connections.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { barrier } from '../helpers/sync.js';

const EXPIRED = 'invalid: event has expired';

/** The relay's clock, in unix seconds. */
let clock = now();
/** Events whose signature check moves the clock (to let an event expire between ingest and delivery). */
const advanceWhileVerifying = new Map<string, number>();
const noble = new NobleVerifier();
const verifier: Verifier = {
  async verify(event) {
    const to = advanceWhileVerifying.get(event.id);
    if (to !== undefined) clock = to;
    return noble.verify(event);
  },
};

let relay: TestRelay;
beforeAll(async () => {
  relay = await startTestRelay({}, { now: () => clock, verifier });
});
afterAll(async () => {
  await relay?.cleanup();
});

const connect = trackConnections(() => relay.url);
afterEach(() => {
  clock = now();
});

async function publish(client: RawClient, event: NostrEvent): Promise<[boolean, string]> {
  const ok = await client.publish(event);
  return [ok[2] as boolean, ok[3] as string];
}
let sub = 0;
async function ids(client: RawClient, filter: Record<string, unknown>): Promise<string[]> {
  const { events, closed } = await client.req(`q${sub++}`, filter);
  expect(closed).toBeUndefined();
  return events.map((event: NostrEvent) => event.id);
}
async function count(client: RawClient, filter: Record<string, unknown>): Promise<number> {
  const subId = `c${sub++}`;
  client.send(['COUNT', subId, filter]);
  const frame = await client.next((f) => f[0] === 'COUNT' && f[1] === subId);
  return (frame[2] as { count: number }).count;
}
const expiring = (keys = newKeys(), at: number, fields: Partial<NostrEvent> = {}): NostrEvent =>
  signed(keys, { created_at: clock, ...fields, tags: [...(fields.tags ?? []), ['expiration', String(at)]] });

describe('NIP-40 expiration', () => {
  it('1. an event already expired on arrival → OK false "invalid: event has expired"', async () => {
    const client = await connect();
    const event = expiring(newKeys(), clock - 60);
    expect(await publish(client, event)).toEqual([false, EXPIRED]);
    expect(await ids(client, { ids: [event.id] })).toEqual([]);
  });

  it('2. expiration now+2; at +3 s the event is no longer returned', async () => {
    const client = await connect();
    const event = expiring(newKeys(), clock + 2);
    expect(await publish(client, event)).toEqual([true, '']);
    expect(await ids(client, { ids: [event.id] })).toEqual([event.id]);
    clock += 3;
    expect(await ids(client, { ids: [event.id] })).toEqual([]);
    expect(await ids(client, { authors: [event.pubkey] })).toEqual([]);
    // Re-publishing it now is refused as expired; the pruner then deletes the row.
    expect(await publish(client, event)).toEqual([false, EXPIRED]);
    expect(relay.relay.store.deleteExpired(clock, 1000)).toBeGreaterThanOrEqual(1);
    expect(relay.relay.store.has(event.id)).toBe(false);
  });

  it('3. expired events are not delivered live and not counted by COUNT', async () => {
    const [publisher, listener] = [await connect(), await connect()];
    const keys = newKeys();
    await listener.req('live', { authors: [keys.pubkey] });
    const live = (): string[] => listener.frames.filter((f) => f[0] === 'EVENT' && f[1] === 'live').map((f) => (f[2] as NostrEvent).id);

    const fresh = expiring(keys, clock + 100, { content: 'fresh' });
    const stale = expiring(keys, clock - 1, { content: 'stale' });
    // Expires while its signature is being checked: accepted by the cheap checks, expired at delivery.
    const lapsing = expiring(keys, clock + 5, { content: 'lapsing' });
    advanceWhileVerifying.set(lapsing.id, clock + 10);
    expect(await publish(publisher, fresh)).toEqual([true, '']);
    expect(await publish(publisher, stale)).toEqual([false, EXPIRED]);
    await publish(publisher, lapsing);
    const marker = signed(keys, { content: 'marker', created_at: clock });
    await publish(publisher, marker);
    await listener.next((f) => f[0] === 'EVENT' && (f[2] as NostrEvent).id === marker.id);
    expect(live()).toEqual([fresh.id, marker.id]);

    expect(await count(publisher, { authors: [keys.pubkey] })).toBe(2);
    clock += 200;
    expect(await count(publisher, { authors: [keys.pubkey] })).toBe(1);
    expect(await count(publisher, { ids: [fresh.id] })).toBe(0);
  });

  it('4. replaceable / addressable: the newest version wins regardless of expiration', async () => {
    const client = await connect();
    const keys = newKeys();
    const t = clock;
    const newer = expiring(keys, t + 50, { kind: 0, created_at: t - 10, content: '{"name":"newer"}' });
    const older = signed(keys, { kind: 0, created_at: t - 20, content: '{"name":"older"}' });
    expect(await publish(client, newer)).toEqual([true, '']);
    const [accepted, message] = await publish(client, older);
    expect(accepted).toBe(false);
    expect(message).toMatch(/^duplicate: /);
    clock = t + 60;
    expect(await ids(client, { kinds: [0], authors: [keys.pubkey] })).toEqual([]);
    // Addressable: a newer version without expiration replaces an expiring one.
    const expiringPost = expiring(keys, t + 100, { kind: 30023, created_at: t - 10, tags: [['d', 'x']] });
    const lasting = signed(keys, { kind: 30023, created_at: t - 5, tags: [['d', 'x']] });
    await publish(client, expiringPost);
    await publish(client, lasting);
    clock = t + 200;
    expect(await ids(client, { kinds: [30023], authors: [keys.pubkey] })).toEqual([lasting.id]);
  });

  it('5. malformed expiration (missing, negative, fractional) = none; several → the first', async () => {
    const client = await connect();
    const keys = newKeys();
    const t = clock;
    const malformed = [[['expiration']], [['expiration', '-5']], [['expiration', `${t - 100}.5`]], [['expiration', 'soon']]].map(
      (tags, i) => signed(keys, { created_at: t, tags, content: `malformed ${i}` }),
    );
    for (const event of malformed) expect(await publish(client, event)).toEqual([true, '']);
    const firstFuture = signed(keys, {
      created_at: t,
      tags: [
        ['expiration', String(t + 30)],
        ['expiration', String(t - 30)],
      ],
      content: 'first future',
    });
    const firstPast = signed(keys, {
      created_at: t,
      tags: [
        ['expiration', String(t - 30)],
        ['expiration', String(t + 30)],
      ],
      content: 'first past',
    });
    expect(await publish(client, firstFuture)).toEqual([true, '']);
    expect(await publish(client, firstPast)).toEqual([false, EXPIRED]);
    clock = t + 10_000;
    expect((await ids(client, { authors: [keys.pubkey] })).sort()).toEqual(malformed.map((e) => e.id).sort());
  });

  it('6. expiration does not change ephemeral handling', async () => {
    const [publisher, listener] = [await connect(), await connect()];
    const keys = newKeys();
    await listener.req('eph', { kinds: [20001], authors: [keys.pubkey] });
    const event = expiring(keys, clock + 60, { kind: 20001, content: 'ephemeral' });
    expect(await publish(publisher, event)).toEqual([true, '']);
    await listener.next((f) => f[0] === 'EVENT' && f[1] === 'eph' && (f[2] as NostrEvent).id === event.id);
    expect(await ids(publisher, { ids: [event.id] })).toEqual([]);
    expect(await publish(publisher, expiring(keys, clock - 1, { kind: 20001 }))).toEqual([false, EXPIRED]);
    await barrier(listener, publisher);
    expect(listener.frames.filter((f) => f[0] === 'EVENT' && f[1] === 'eph')).toHaveLength(1);
  });

  it('7. supported_nips includes 40', async () => {
    const response = await fetch(relay.url.replace(/^ws/, 'http'), { headers: { Accept: 'application/nostr+json' } });
    const info = (await response.json()) as { supported_nips: number[] };
    expect(info.supported_nips).toContain(40);
  });
});
