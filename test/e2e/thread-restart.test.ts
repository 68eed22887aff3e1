/**
 * server.threads: 2 — a connection thread that dies (here: an uncaught exception, which a malformed
 * message posted to it through the coordinator's handle on its worker provokes) is started again in its row: new
 * connections land on it, it runs with the last reload, and what its dead connections held (their
 * places in the per-IP connection limit, their NIP-77 sessions) is given back. One that keeps dying
 * stays down; one that dies during a graceful stop is left dead.
 */
import type { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { NostrEvent } from '../../src/event/types.js';
import { MAX_RESTARTS } from '../../src/threads/coordinator.js';
import type { RawClient } from '../helpers/client.js';
import { newKeys, signed } from '../helpers/events.js';
import { scrape } from '../helpers/metrics.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { openOnEveryThread, openPlaced, type Placed } from '../helpers/threads.js';
import { waitFor } from '../helpers/wait.js';

/** Connections one IP may hold: room to find two on each thread (fewer than two on one of them: ~2^-19). */
const QUOTA = 24;

interface LogLine {
  level: number;
  msg: string;
  thread?: number;
  code?: number;
}

let relay: TestRelay | undefined;
const opened: RawClient[] = [];
let lines: LogLine[] = [];

afterEach(async () => {
  for (const client of opened.splice(0)) client.socket.terminate();
  await relay?.cleanup();
  relay = undefined;
  lines = [];
});

async function start(overrides: Parameters<typeof startTestRelay>[0] = {}): Promise<TestRelay> {
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  relay = await startTestRelay({ ...overrides, server: { threads: 2 } }, { logger });
  return relay;
}

/**
 * Makes thread 1 throw an uncaught exception (a reload message without a config: its handler fails as a
 * bug would), and waits until it has exited. worker.terminate() would not do: see uws-transport.ts.
 */
async function crash(worker: Worker): Promise<void> {
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  worker.postMessage({ type: 'reload' });
  await exited;
}

/** Crashes thread 1 and waits until it was started again (the `restarts`-th time) and listens. */
async function killThread1(target: TestRelay, restarts: number): Promise<void> {
  await crash(target.connectionThreads!.worker(1)!);
  await waitFor(() => lines.filter((line) => line.msg === 'connection thread started again').length === restarts, 'thread 1 started again');
}

/** The HTTP status refusing a WebSocket upgrade (throws when the connection is admitted). */
function refusal(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('unexpected-response', (request, response) => {
      resolve(response.statusCode ?? 0);
      request.destroy();
    });
    socket.once('open', () => {
      socket.terminate();
      reject(new Error('connection admitted'));
    });
    socket.once('error', () => {});
  });
}

const describeNative = (await import('../../src/server/choose.js')).loadNativeUws().module ? describe : describe.skip;

describeNative('a connection thread that dies', () => {
  it('is started again in its row with the last reload; new connections land on it; its connections stop counting against the IP', async () => {
    const target = await start({
      rate_limits: { max_connections_per_ip: QUOTA, connections_per_ip: null },
      metrics: { enabled: true, listen: '127.0.0.1:0' },
    });
    const config = target.relay.config;
    target.reload({ ...config, write: { ...config.write, kinds: { ...config.write.kinds, allow: [7] } } });
    await target.reloaded();
    const [survivors, doomed] = await openOnEveryThread(target, opened, 2);

    await killThread1(target, 1);
    for (const client of doomed!) await client.closed();
    expect(lines.find((line) => line.msg.startsWith('connection thread 1 exited unexpectedly'))).toMatchObject({ level: 50, thread: 1 });
    expect(target.relay.counters.byThread('connections')).toEqual([survivors!.length, 0]);

    // The IP's whole quota is there again: the survivors and as many new connections as fit.
    const fresh: Placed[] = [];
    while (survivors!.length + fresh.length < QUOTA) fresh.push(await openPlaced(target, opened));
    expect(await refusal(target.url)).toBe(429);
    const restarted = fresh.find((placed) => placed.thread === 1)?.client;
    expect(restarted, 'a new connection on the thread started again').toBeDefined();

    // It runs with the reloaded config, and hears what the other thread stores.
    expect((await restarted!.publish(signed(newKeys(), { kind: 1 })))[3]).toMatch(/^blocked: kind 1/);
    await restarted!.req('live', { kinds: [7] });
    const reaction = signed(newKeys(), { kind: 7 });
    expect((await survivors![0]!.publish(reaction))[2]).toBe(true);
    await restarted!.next((f) => f[0] === 'EVENT' && f[1] === 'live' && (f[2] as NostrEvent).id === reaction.id);
    expect((await scrape(target.metricsPort!)).value('commons_connection_thread_restarts_total')).toBe(1);

    // A graceful stop still closes every connection with 1001, on both threads.
    const stopped = target.stop();
    const codes = await Promise.all([...survivors!, ...fresh.map((placed) => placed.client)].map((client) => client.closed()));
    await stopped;
    expect(new Set(codes)).toEqual(new Set([1001]));
  });

  it('gives back the NIP-77 sessions its connections held', async () => {
    const target = await start({ negentropy: { max_sessions_per_ip: 1 } });
    const [other, dying] = (await openOnEveryThread(target, opened)).map((clients) => clients[0]!);
    dying!.send(['NEG-OPEN', 'n1', {}, '6100000200']);
    await dying!.next((f) => f[0] === 'NEG-MSG' && f[1] === 'n1');
    await killThread1(target, 1);
    other!.send(['NEG-OPEN', 'n2', {}, '6100000200']);
    expect((await other!.next((f) => (f[0] === 'NEG-ERR' || f[0] === 'NEG-MSG') && f[1] === 'n2'))[0]).toBe('NEG-MSG');
  });

  it(`is started again at most ${MAX_RESTARTS} times a minute, then stays down while the other thread serves`, async () => {
    const target = await start();
    for (let restarts = 1; restarts <= MAX_RESTARTS; restarts++) await killThread1(target, restarts);
    await crash(target.connectionThreads!.worker(1)!);
    await waitFor(() => lines.some((line) => /stays down/.test(line.msg)), 'thread 1 left down');
    expect(target.connectionThreads!.worker(1)).toBeUndefined();
    expect(target.connectionThreads!.restarts).toBe(MAX_RESTARTS);
    for (let i = 0; i < 4; i++) expect((await openPlaced(target, opened)).thread).toBe(0);
  });

  it('is not started again when it dies during a graceful stop', async () => {
    const target = await start();
    const worker = target.connectionThreads!.worker(1)!;
    const stopped = target.stop();
    await crash(worker);
    await stopped;
    expect(target.connectionThreads!.restarts).toBe(0);
    expect(lines.filter((line) => /exited unexpectedly|started again/.test(line.msg))).toEqual([]);
  });
});
