/**
 * Slow readers: a connection that does not read what the relay sends is closed once its unsent
 * outbound data passes limits.max_outbound_bytes, and nobody else notices.
 *
 * The slow reader is a raw TCP socket that does the WebSocket handshake by hand and then stops
 * reading (socket.pause()), so nothing — neither `ws` nor Node — drains the relay's frames for it.
 */
import { randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { RawClient } from '../helpers/client.js';
import { newKeys, now, signed } from '../helpers/events.js';
import { scrape } from '../helpers/metrics.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

const MAX_OUTBOUND_BYTES = 65_536;
const EVENTS = 300;
const CONTENT_CHARS = 2_000;
/** REQs for everything the slow reader sends: EVENTS × ~2.2 KB each time, far beyond any socket buffers. */
const REQS = 100;
const TIMEOUT_MS = 20_000;

let relay: TestRelay;
let stored: NostrEvent[];
const clients: RawClient[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  // A distinct subscription per REQ (so max_subscriptions above REQS): a REQ replacing one whose answer
  // is still on a reader thread (limit 500 → query.readers) drops that answer, so each REQ needs its own id.
  relay = await startTestRelay({
    limits: { max_outbound_bytes: MAX_OUTBOUND_BYTES, max_subscriptions: REQS + 10 },
    metrics: { enabled: true, listen: '127.0.0.1:0' },
  });
  const keys = newKeys();
  const base = now() - 1000;
  stored = Array.from({ length: EVENTS }, (_, i) => signed(keys, { created_at: base + i, content: `${i} `.padEnd(CONTENT_CHARS, 'x') }));
  const publisher = await RawClient.connect(relay.url);
  for (const event of stored) publisher.send(['EVENT', event]);
  const oks = await Promise.all(stored.map((event) => publisher.next((f) => f[0] === 'OK' && f[1] === event.id, TIMEOUT_MS)));
  expect(oks.every((f) => f[2] === true)).toBe(true);
  await publisher.close();
}, 60_000);

afterEach(() => {
  for (const client of clients.splice(0)) client.socket.terminate();
  for (const socket of sockets.splice(0)) socket.destroy();
});

afterAll(async () => {
  await relay?.cleanup();
});

async function connect(): Promise<RawClient> {
  const client = await RawClient.connect(relay.url);
  client.socket.on('error', () => {});
  clients.push(client);
  return client;
}

/** A WebSocket connection made by hand over TCP: handshake read, then the socket is paused (not reading). */
async function slowReader(port: number): Promise<{ socket: Socket; send(text: string): void; closed: Promise<void>; received(): number }> {
  const socket = netConnect({ host: '127.0.0.1', port });
  sockets.push(socket);
  socket.on('error', () => {}); // writes after the relay has closed us
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  let bytes = 0;
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => {
      const key = randomBytes(16).toString('base64');
      socket.write(
        `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    let head = '';
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length;
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.pause();
      if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(`handshake refused: ${head}`));
      resolve();
    };
    socket.on('data', onData);
  });
  // From here on, data is only counted if the test resumes the socket.
  socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
  socket.pause();
  return {
    socket,
    closed,
    received: () => bytes,
    send(text: string): void {
      socket.write(maskedTextFrame(text));
    },
  };
}

/** A client → server text frame (clients must mask). */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const mask = randomBytes(4);
  let header: Buffer;
  if (payload.length < 126) {
    header = Buffer.from([0x81, 0x80 | payload.length]);
  } else if (payload.length < 65_536) {
    header = Buffer.alloc(4);
    header[0] = 0x81;
    header[1] = 0x80 | 126;
    header.writeUInt16BE(payload.length, 2);
  } else {
    throw new Error('frame too long for this test');
  }
  const masked = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) masked[i] = payload[i]! ^ mask[i % 4]!;
  return Buffer.concat([header, mask, masked]);
}

async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('limits.max_outbound_bytes', () => {
  it('closes a connection that stops reading; another client on the same relay keeps working', { timeout: 90_000 }, async () => {
    const healthy = await connect();
    const opened = await healthy.req('before', { ids: [stored[0]!.id] });
    expect(opened.events.map((e: NostrEvent) => e.id)).toEqual([stored[0]!.id]);
    await until(() => relay.relay.counters.connections === 1, TIMEOUT_MS, 'healthy client counted');

    const slow = await slowReader(relay.port);
    await until(() => relay.relay.counters.connections === 2, TIMEOUT_MS, 'slow reader counted');

    for (let i = 0; i < REQS; i++) slow.send(JSON.stringify(['REQ', `all${i}`, { limit: 500 }]));

    // The relay gives up on the slow reader by itself (its close handler has run: one connection left) …
    await until(() => relay.relay.counters.connections === 1, TIMEOUT_MS, 'relay closes the slow reader');
    // … and counts it once for GET /metrics.
    expect((await scrape(relay.metricsPort!)).value('commons_slow_consumer_disconnects_total')).toBe(1);
    // … and the socket really ends: once we read again we get what was buffered, then the close, in bounded time.
    slow.socket.resume();
    await within(slow.closed, TIMEOUT_MS, 'slow reader socket closed');
    // It did not get everything it asked for (REQS × EVENTS events of ~2 KB each).
    expect(slow.received()).toBeLessThan(REQS * EVENTS * CONTENT_CHARS);

    // The other client is untouched: publish and query still work, live delivery too.
    const freshKeys = newKeys();
    const live = await healthy.req('live', { authors: [freshKeys.pubkey] });
    expect(live).toEqual({ events: [] });
    const fresh = signed(freshKeys, { content: 'after the slow reader' });
    expect(await healthy.publish(fresh)).toEqual(['OK', fresh.id, true, '']);
    expect(await healthy.next((f) => f[0] === 'EVENT' && f[1] === 'live', TIMEOUT_MS)).toEqual(['EVENT', 'live', fresh]);
    const found = await healthy.req('after', { ids: [fresh.id] });
    expect(found.events).toEqual([fresh]);
    expect(healthy.closeCode).toBeUndefined();

    // The relay still accepts new connections and serves stored events.
    const late = await connect();
    const all = await late.req('late', { limit: 500 });
    expect(all.events).toHaveLength(EVENTS + 1);
    expect(relay.relay.counters.connections).toBe(2);
  });

  it('a client that reads keeps its connection through the same load', { timeout: 90_000 }, async () => {
    const reader = await connect();
    for (let i = 0; i < 20; i++) {
      const { events, closed } = await reader.req('all', { limit: 500 });
      expect(closed).toBeUndefined();
      expect(events.length).toBeGreaterThanOrEqual(EVENTS);
    }
    expect(reader.closeCode).toBeUndefined();
    await until(() => relay.relay.counters.connections === 1, TIMEOUT_MS, 'only the reader connected');
    expect((await scrape(relay.metricsPort!)).value('commons_slow_consumer_disconnects_total')).toBe(1);
  });
});
