/**
 * server.threads: 2 — two connection threads on one port. Each test opens connections until both
 * threads serve some (the shared counters say which thread took each one), then checks that what must
 * stay global does: live delivery and stored answers across threads, duplicates, the counters, NIP-86,
 * hot reload and a graceful stop.
 */
import { getToken } from 'nostr-tools/nip98';
import { finalizeEvent } from 'nostr-tools/pure';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import WebSocket from 'ws';
import { startConfigReloader } from '../../src/cli/config-reload.js';
import type { NostrEvent } from '../../src/event/types.js';
import { EventStore } from '../../src/store/store.js';
import type { RawClient } from '../helpers/client.js';
import { newKeys, now, signed } from '../helpers/events.js';
import { scrape } from '../helpers/metrics.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { openOnEveryThread as openOn, openPlaced as place } from '../helpers/threads.js';
import { WAIT_LIMIT_MS, waitFor } from '../helpers/wait.js';

const THREADS = 2;

let relay: TestRelay | undefined;
const opened: RawClient[] = [];

afterEach(async () => {
  for (const client of opened.splice(0)) client.socket.terminate();
  await relay?.cleanup();
  relay = undefined;
});

/** The native server is needed to share a port; on the portable one the relay runs 1 thread (and says so). */
async function start(overrides: Parameters<typeof startTestRelay>[0] = {}): Promise<TestRelay> {
  relay = await startTestRelay({ ...overrides, server: { threads: THREADS } });
  return relay;
}

const openPlaced = (target: TestRelay) => place(target, opened);
const openOnEveryThread = (target: TestRelay, each?: number) => openOn(target, opened, each);

const describeNative = (await import('../../src/server/choose.js')).loadNativeUws().module ? describe : describe.skip;

describe('server.threads on the portable server', () => {
  it('runs one thread and says why', async () => {
    relay = await startTestRelay({ server: { threads: THREADS, implementation: 'ws' } });
    expect(relay.threads).toBe(1);
    expect(relay.sites[0]!.store.pageCacheKiB()).toBe(65536); // one thread and its reader: 64 MiB each
  });
});

describeNative('server.threads: 2', () => {
  it('an event published on one thread reaches live subscribers on every thread once, and REQs on every thread', async () => {
    const target = await start();
    expect(target.threads).toBe(THREADS);
    const byThread = await openOnEveryThread(target);
    const subscribers = byThread.flat();
    for (const client of subscribers) await client.req('live', { kinds: [1] });
    const keys = newKeys();
    for (const [thread, clients] of byThread.entries()) {
      const event = signed(keys, { content: `from thread ${thread}` });
      expect(await clients[0]!.publish(event)).toEqual(['OK', event.id, true, '']);
      for (const client of subscribers)
        await client.next((f) => f[0] === 'EVENT' && f[1] === 'live' && (f[2] as NostrEvent).id === event.id);
    }
    for (const client of subscribers) {
      const live = client.frames.filter((f) => f[0] === 'EVENT' && f[1] === 'live');
      expect(live).toHaveLength(THREADS); // each once
      const stored = await client.req('stored', { authors: [keys.pubkey] });
      expect(stored.events).toHaveLength(THREADS);
    }
  });

  it('subscriptions opened on every thread while others publish get each event exactly once, stored or live', async () => {
    const target = await start();
    const byThread = await openOnEveryThread(target, 2);
    const publishers = byThread.map((clients) => clients[0]!);
    const readers = byThread.map((clients) => clients[1]!);
    const keys = newKeys();
    const events = Array.from({ length: 60 }, (_, i) => signed(keys, { content: `#${i}`, created_at: now() - 60 + i }));
    const acknowledged = Promise.all(events.map((event, i) => publishers[i % publishers.length]!.publish(event)));
    // REQs go out while the events are being written through the one writer thread.
    for (const [i, reader] of readers.entries()) reader.send(['REQ', `s${i}`, { authors: [keys.pubkey] }]);
    expect((await acknowledged).every((ok) => ok[2] === true)).toBe(true);
    for (const [i, reader] of readers.entries()) {
      await waitFor(
        () =>
          new Set(reader.frames.filter((f) => f[0] === 'EVENT' && f[1] === `s${i}`).map((f) => (f[2] as NostrEvent).id)).size ===
          events.length,
        `reader ${i} has every event`,
      );
      const ids = reader.frames.filter((f) => f[0] === 'EVENT' && f[1] === `s${i}`).map((f) => (f[2] as NostrEvent).id);
      expect(ids).toHaveLength(events.length); // none twice
    }
  });

  it('a duplicate is caught whichever thread first stored the event', async () => {
    const target = await start();
    const [first, second] = (await openOnEveryThread(target)).map((clients) => clients[0]!);
    const event = signed(newKeys());
    expect(await first!.publish(event)).toEqual(['OK', event.id, true, '']);
    const again = await second!.publish(event);
    expect(again[2]).toBe(true);
    expect(String(again[3])).toMatch(/^duplicate:/);
  });

  it('the counters add up every thread: connections, subscriptions, events', async () => {
    const target = await start();
    const byThread = await openOnEveryThread(target);
    const counters = target.relay.counters;
    expect(counters.byThread('connections').every((count) => count >= 1)).toBe(true);
    expect(counters.connections).toBe(byThread.flat().length);
    for (const client of byThread.flat()) await client.req('s', { kinds: [1] });
    expect(counters.subscriptions).toBe(byThread.flat().length);
    for (const clients of byThread) await clients[0]!.publish(signed(newKeys()));
    await waitFor(() => counters.eventsStored === THREADS, 'every thread counted its stored event');
    const page = await (await fetch(target.url.replace(/^ws/, 'http'), { headers: { Accept: 'text/html' } })).text();
    expect(page).toContain(`<dd id="connections">${byThread.flat().length}</dd>`);
  });

  it('NIP-86 bans and IP blocks made on one thread apply on every thread', async () => {
    const admin = newKeys();
    const target = await start({ management: { admins: [admin.pubkey] } });
    const byThread = await openOnEveryThread(target);
    const banned = newKeys();
    const httpUrl = `${target.url.replace(/^ws/, 'http')}/`;
    const call = async (method: string, params: unknown[]): Promise<number> => {
      const body = { method, params };
      const token = await getToken(httpUrl, 'POST', (t) => finalizeEvent(t, admin.secret), true, body);
      const response = await fetch(httpUrl, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'Content-Type': 'application/nostr+json+rpc', Authorization: token },
        signal: AbortSignal.timeout(WAIT_LIMIT_MS),
      });
      return response.status;
    };
    expect(await call('banpubkey', [banned.pubkey, 'spam'])).toBe(200);
    for (const clients of byThread) {
      let answer = await clients[0]!.publish(signed(banned));
      // The other threads re-read the list when the coordinator tells them: wait for that state.
      for (let tries = 0; answer[2] === true && tries < 50; tries++) answer = await clients[0]!.publish(signed(banned));
      expect(answer[2]).toBe(false);
      expect(String(answer[3])).toMatch(/^blocked: this pubkey is banned/);
    }
    expect(await call('blockip', ['127.0.0.1', 'test'])).toBe(200);
    for (const client of byThread.flat()) expect(await client.closed()).toBe(1008);
  });

  it('max_connections_per_ip counts the connections of every thread', async () => {
    const target = await start({ rate_limits: { max_connections_per_ip: 3, connections_per_ip: null } });
    const counters = target.relay.counters;
    for (let i = 0; i < 3; i++) await openPlaced(target);
    // Whatever thread the kernel hands each next connection to, it knows the 3 open on the others.
    const spread = counters.byThread('connections');
    for (let i = 0; i < 8; i++) {
      const refused = await new Promise<number>((resolve, reject) => {
        const socket = new WebSocket(target.url);
        socket.once('unexpected-response', (request, response) => {
          resolve(response.statusCode ?? 0);
          request.destroy();
        });
        socket.once('open', () => reject(new Error(`connection ${i + 4} admitted (open per thread: ${spread})`)));
        socket.once('error', () => {});
      });
      expect(refused).toBe(429);
    }
    expect(counters.connections).toBe(3);
  });

  it('events_per_ip is one budget for an IP whichever thread its events arrive on', async () => {
    const target = await start({ rate_limits: { events_per_ip: { count: 4, seconds: 3600 } } });
    const byThread = await openOnEveryThread(target, 2);
    const answers: boolean[] = [];
    for (let round = 0; round < 4; round++) {
      for (const clients of byThread) answers.push((await clients[round % 2]!.publish(signed(newKeys())))[2] as boolean);
    }
    expect(answers.filter(Boolean)).toHaveLength(4);
  });

  it('NIP-77 sessions per IP are counted over every thread', async () => {
    const target = await start({ negentropy: { max_sessions_per_ip: 1 } });
    const [first, second] = (await openOnEveryThread(target)).map((clients) => clients[0]!);
    first!.send(['NEG-OPEN', 'n1', {}, '6100000200']);
    await first!.next((f) => f[0] === 'NEG-MSG' && f[1] === 'n1');
    second!.send(['NEG-OPEN', 'n2', {}, '6100000200']);
    const refused = await second!.next((f) => (f[0] === 'NEG-ERR' || f[0] === 'NEG-MSG') && f[1] === 'n2');
    expect(refused).toEqual(['NEG-ERR', 'n2', 'rate-limited: at most 1 open negentropy sessions per IP; close one first']);
  });

  it('GET /metrics sums every thread', async () => {
    const target = await start({ metrics: { enabled: true, listen: '127.0.0.1:0' } });
    const byThread = await openOnEveryThread(target);
    for (const clients of byThread) {
      await clients[0]!.publish(signed(newKeys()));
      await clients[0]!.req('s', { kinds: [1] });
    }
    const metrics = await scrape(target.metricsPort!);
    expect(metrics.value('commons_connections')).toBe(byThread.flat().length);
    for (const [thread, clients] of byThread.entries()) {
      expect(metrics.value('commons_thread_connections', { thread: String(thread) })).toBe(clients.length);
      expect(metrics.value('commons_thread_subscriptions', { thread: String(thread) })).toBe(1);
    }
    expect(metrics.sum('commons_events_accepted_total')).toBe(THREADS);
    expect(metrics.value('commons_subscriptions_opened_total')).toBe(THREADS);
    expect(metrics.value('commons_req_eose_seconds_count')).toBe(THREADS);
    expect(metrics.value('commons_event_ok_seconds_count')).toBe(THREADS);
  });

  it('a hot reload is applied on every thread once reloaded() resolves: the next REQ and EVENT on each see it', async () => {
    const target = await start();
    const byThread = await openOnEveryThread(target);
    const config = target.relay.config;
    const plan = target.reload({
      ...config,
      write: { ...config.write, kinds: { ...config.write.kinds, allow: [7] } },
      read: { ...config.read, auth_required_kinds: [1] },
    });
    expect(plan.conflicts).toEqual([]);
    await target.reloaded();
    for (const clients of byThread) {
      expect((await clients[0]!.req('notes', { kinds: [1] })).closed?.[2]).toMatch(/^auth-required: /);
      const answer = await clients[0]!.publish(signed(newKeys(), { kind: 1 }));
      expect(answer[2]).toBe(false);
      expect(String(answer[3])).toMatch(/^blocked: kind 1/);
    }
  });

  it('the reloader (SIGHUP) logs "config reloaded" only once every thread has applied the reload', async () => {
    const lines: { msg: string; thread?: number }[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) });
    const target = (relay = await startTestRelay(
      { server: { threads: THREADS }, logging: { level: 'debug' }, reload: { watch: false } },
      { logger },
    ));
    const next = { ...target.relay.config, info: { ...target.relay.config.info, name: 'renamed' } };
    const reloader = startConfigReloader('relay.yaml', () => next, target, logger);
    await reloader.reload('SIGHUP');
    reloader.close();
    const outcome = lines.filter((line) => line.msg === 'config reload applied' || line.msg === 'config reloaded');
    expect(outcome.map((line) => line.thread ?? 'main')).toEqual([1, 'main']);
  });

  it('the read connections share one page cache budget: 2 threads and the 1 reader they share get 42.7 MiB each', async () => {
    const target = await start();
    expect(target.threads).toBe(THREADS);
    expect(target.sites[0]!.store.pageCacheKiB()).toBe(Math.floor((128 * 1024) / 3));
  });

  it('the threads share one query reader: long REQs and COUNTs asked on the other thread run on the main thread’s', async () => {
    const target = await start();
    const keys = newKeys();
    const newest = now(); // once: a second ticking between events would give two of them one created_at
    const events = Array.from({ length: 30 }, (_, i) => signed(keys, { content: `long ${i}`, created_at: newest - i }));
    const byThread = await openOnEveryThread(target);
    const writer = byThread[0]![0]!;
    const asker = byThread[1]![0]!; // thread 1: not the main thread, whose relay owns the readers
    for (const event of events) expect(await writer.publish(event)).toEqual(['OK', event.id, true, '']);
    expect(target.relay.readersStarted).toBe(0);
    // limit 500 = query.reader_min_limit: a reader's query.
    const answer = await asker.req('long', { authors: [keys.pubkey], limit: 500 });
    expect(answer.events.map((event) => event.id)).toEqual(events.map((event) => event.id));
    asker.send(['COUNT', 'c', { authors: [keys.pubkey] }]);
    expect(await asker.next((f) => f[0] === 'COUNT')).toEqual(['COUNT', 'c', { count: events.length }]);
    // Only the main thread starts readers; the other thread reached this one through a port.
    expect(target.relay.readersStarted).toBe(1);
  });

  it('stop drains every thread: every acknowledged event is in the database, and each connection gets 1001', async () => {
    const target = await start();
    const byThread = await openOnEveryThread(target);
    const keys = newKeys();
    const acknowledged: string[] = [];
    const sends = byThread.flat().flatMap((client, c) =>
      Array.from({ length: 40 }, (_, i) => {
        const event = signed(keys, { content: `${c}/${i}` });
        return client.publish(event).then(
          (ok) => void (ok[2] === true && acknowledged.push(event.id)),
          () => {},
        );
      }),
    );
    // Stop while the events are on their way: whatever got OK true must be stored.
    await byThread[1]![0]!.next((f) => f[0] === 'OK');
    const stopped = target.stop();
    const codes = await Promise.all(byThread.flat().map((client) => client.closed()));
    await stopped;
    await Promise.all(sends);
    expect(codes.every((code) => code === 1001)).toBe(true);
    expect(acknowledged.length).toBeGreaterThan(0);
    const store = EventStore.open(target.dbPath, { synchronous: 'full' });
    try {
      for (const id of acknowledged) expect(store.has(id), id).toBe(true);
    } finally {
      store.close();
    }
  });
});
