/**
 * NDK against the real relay: `ndk.count()` (NIP-45) reports the count, not an hll estimate, for a
 * query that is not one of NIP-45's canonical ones, and `@nostr-dev-kit/sync` (NIP-77, which sends
 * `["NEG-OPEN", id, [filter], msg]`) reconciles with the relay and fetches what the client lacks.
 */
import NDK, { NDKEvent, type NDKCacheAdapter, type NDKSubscription } from '@nostr-dev-kit/ndk';
import { NDKSync } from '@nostr-dev-kit/sync';
import { matchFilters, type Filter } from 'nostr-tools/filter';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { NostrEvent } from '../../src/event/types.js';
import { RawClient } from '../helpers/client.js';
import { newKeys, now, signed } from '../helpers/events.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { token } from '../helpers/sync.js';
import { WAIT_LIMIT_MS } from '../helpers/wait.js';

// NDK opens its sockets with the global WebSocket, which Node 20 lacks: `ws` supplies it, as in any Node app using NDK.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

/** NDK's client-side event cache, in memory: @nostr-dev-kit/sync reconciles what it holds with the relay. */
class MemoryCache implements NDKCacheAdapter {
  readonly locking = true;
  readonly events = new Map<string, NDKEvent>();

  query(subscription: NDKSubscription): NDKEvent[] {
    return [...this.events.values()].filter((event) => matchFilters(subscription.filters as Filter[], event.rawEvent() as NostrEvent));
  }

  async setEvent(event: NDKEvent): Promise<void> {
    this.events.set(event.id, event);
  }
}

let relay: TestRelay;
let publisher: RawClient;
beforeAll(async () => {
  relay = await startTestRelay();
  publisher = await RawClient.connect(relay.url);
});
afterAll(async () => {
  publisher?.socket.terminate();
  await relay?.cleanup();
});

const opened: NDK[] = [];
afterEach(() => {
  for (const ndk of opened.splice(0)) for (const ndkRelay of ndk.pool.relays.values()) ndkRelay.disconnect();
});

async function connectNdk(cacheAdapter?: NDKCacheAdapter): Promise<NDK> {
  // No outbox model: it would dial NDK's default public relays.
  const ndk = new NDK({ explicitRelayUrls: [relay.url], cacheAdapter, enableOutboxModel: false });
  opened.push(ndk);
  await ndk.connect(WAIT_LIMIT_MS);
  expect([...ndk.pool.connectedRelays()].map((r) => r.url)).toHaveLength(1);
  return ndk;
}

async function publish(...events: NostrEvent[]): Promise<void> {
  const oks = await Promise.all(events.map((event) => publisher.publish(event)));
  expect(oks.filter((ok) => ok[2] !== true)).toEqual([]);
}

describe('NDK count() (NIP-45)', () => {
  it('a tagged query that is not canonical: the count (3), not the hll estimate of distinct authors (1)', async () => {
    const author = newKeys();
    const tag = token('ndk');
    await publish(...[0, 1, 2].map((i) => signed(author, { created_at: now() - i, tags: [['t', tag]], content: `tagged ${i}` })));
    const ndk = await connectNdk();
    const result = await ndk.count([{ authors: [author.pubkey], '#t': [tag] }]);
    expect(result.mergedHll).toBeUndefined();
    expect(result.count).toBe(3);
  });

  it('the reactions query keeps its hll: NDK reports the distinct reactors, the relay the reactions', async () => {
    const note = signed(newKeys(), { content: 'react to me' });
    const reactors = Array.from({ length: 4 }, () => newKeys());
    const reactions = reactors.map((keys) => signed(keys, { kind: 7, tags: [['e', note.id]], content: '+' }));
    reactions.push(signed(reactors[0]!, { kind: 7, created_at: now() - 5, tags: [['e', note.id]], content: '🔥' }));
    await publish(note, ...reactions);
    const ndk = await connectNdk();
    const result = await ndk.count([{ kinds: [7], '#e': [note.id] }]);
    expect(result.mergedHll).toBeDefined();
    expect([...result.relayResults.values()].map((r) => r.count)).toEqual([5]);
    // Linear counting over 256 registers: only a register collision among 4 fresh keys could lower it.
    expect(result.count).toBeLessThanOrEqual(4);
    expect(result.count).toBeGreaterThanOrEqual(3);
  });
});

describe('@nostr-dev-kit/sync (NIP-77)', () => {
  it("NDKSync.sync gets the relay's events the client lacks, and names those only the client has", async () => {
    const author = newKeys();
    const t = now() - 1000;
    const onRelay = Array.from({ length: 12 }, (_, i) => signed(author, { created_at: t + i, content: `relay ${i}` }));
    const onlyLocal = [0, 1].map((i) => signed(author, { created_at: t + 100 + i, content: `local ${i}` }));
    await publish(...onRelay);

    const cache = new MemoryCache();
    const ndk = await connectNdk(cache);
    for (const event of [...onRelay.slice(0, 4), ...onlyLocal]) cache.events.set(event.id, new NDKEvent(ndk, event));
    const errors: string[] = [];
    const result = await new NDKSync(ndk).sync(
      { kinds: [1], authors: [author.pubkey] },
      { onRelayError: (_relay, error) => void errors.push(error.message) },
    );

    expect(errors).toEqual([]);
    // need/have come only from a negentropy session (NDKSync's REQ fallback leaves them empty).
    expect(result.need).toEqual(new Set(onRelay.slice(4).map((e) => e.id)));
    expect(result.have).toEqual(new Set(onlyLocal.map((e) => e.id)));
    expect(new Set(result.events.map((e) => e.id))).toEqual(result.need);
    for (const event of onRelay) expect(cache.events.has(event.id), event.content).toBe(true);
  });
});
