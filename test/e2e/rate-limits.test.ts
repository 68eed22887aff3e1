/**
 * Rate limits end to end: the real relay, real `ws` clients, the limiter on an injected millisecond
 * clock (time moves only when a test moves it). One relay trusts 127.0.0.1 as a proxy, so each test
 * poses as its own client IP through X-Forwarded-For; a second relay trusts nobody.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RawClient } from '../helpers/client.js';
import { newKeys, signed } from '../helpers/events.js';
import { defaultConfig } from '../../src/config/load.js';
import { DEFAULT_CONNECTION_LIMITS, startTestRelay, type TestRelay } from '../helpers/relay.js';
import { waitFor } from '../helpers/wait.js';

let clock = 1_700_000_000_000;
const nowMs = (): number => clock;

let proxied: TestRelay;
let direct: TestRelay;

beforeAll(async () => {
  proxied = await startTestRelay(
    {
      relay: { trusted_proxies: ['127.0.0.1', '::1'] },
      rate_limits: {
        events_per_ip: { count: 3, seconds: 10 },
        events_per_pubkey: {
          regular: { count: 2, seconds: 10 },
          replaceable: null,
          ephemeral: { count: 5, seconds: 10 },
          addressable: null,
        },
        queries_per_connection: { count: 3, seconds: 10 },
        connections_per_ip: { count: 4, seconds: 60 },
        max_connections_per_ip: 3,
      },
    },
    { nowMs },
  );
  direct = await startTestRelay({ rate_limits: { events_per_ip: { count: 2, seconds: 10 } } }, { nowMs });
});
afterAll(async () => {
  await proxied?.cleanup();
  await direct?.cleanup();
});

const opened: RawClient[] = [];
afterEach(() => {
  for (const client of opened.splice(0)) client.socket.terminate();
});

/** A client whose proxy says it comes from `ip`. */
async function connectAs(ip: string, relay = proxied): Promise<RawClient> {
  const client = await RawClient.connect(relay.url, { 'X-Forwarded-For': ip });
  opened.push(client);
  return client;
}

/** An upgrade the relay refuses: its HTTP status and body. `ip` undefined: no X-Forwarded-For. */
function refusedUpgrade(ip: string | undefined, relay = proxied): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(relay.url, ip === undefined ? undefined : { headers: { 'X-Forwarded-For': ip } });
    socket.on('open', () => {
      socket.terminate();
      reject(new Error('the connection was accepted'));
    });
    socket.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    socket.on('error', () => {});
  });
}

/** Waits until the relay counts `count` open connections. */
async function relayHasConnections(relay: TestRelay, count: number): Promise<void> {
  await waitFor(() => relay.relay.counters.connections === count, `${count} open connections`);
}

const note = (): ReturnType<typeof signed> => signed(newKeys());

describe('events per IP', () => {
  it('a burst over the limit is refused with rate-limited:, the connection stays open, time refills', async () => {
    const client = await connectAs('198.51.100.1');
    for (let i = 0; i < 3; i++) expect((await client.publish(note()))[2]).toBe(true);
    const extra = note();
    expect(await client.publish(extra)).toEqual(['OK', extra.id, false, 'rate-limited: slow down: at most 3 events per 10 s from one IP']);
    // Still open and answering.
    expect((await client.req('still-here', { ids: [extra.id] })).events).toEqual([]);
    // Another client IP has its own budget.
    const neighbour = await connectAs('198.51.100.2');
    expect((await neighbour.publish(note()))[2]).toBe(true);

    clock += 3_400; // 3.4 s at 0.3 events/s: one token back
    expect((await client.publish(extra))[2]).toBe(true);
    expect((await client.publish(note()))[3]).toMatch(/^rate-limited: /);
  });

  it('an AUTH spends the same budget (it costs a signature check too)', async () => {
    const client = await connectAs('198.51.100.3');
    for (let i = 0; i < 3; i++) expect((await client.publish(note()))[2]).toBe(true);
    const challenge = (await client.next((f) => f[0] === 'AUTH'))[1] as string;
    const auth = signed(newKeys(), {
      kind: 22242,
      tags: [
        ['relay', proxied.url],
        ['challenge', challenge],
      ],
      content: '',
    });
    client.send(['AUTH', auth]);
    expect((await client.next((f) => f[0] === 'OK' && f[1] === auth.id))[3]).toBe(
      'rate-limited: slow down: at most 3 events per 10 s from one IP',
    );
  });

  it('X-Forwarded-For is ignored when the peer is not a trusted proxy', async () => {
    const first = await connectAs('203.0.113.1', direct);
    const second = await connectAs('203.0.113.2', direct);
    expect((await first.publish(note()))[2]).toBe(true);
    expect((await first.publish(note()))[2]).toBe(true);
    // Both clients are 127.0.0.1 to this relay, whatever the header claims.
    expect((await second.publish(note()))[3]).toBe('rate-limited: slow down: at most 2 events per 10 s from one IP');
    clock += 10_000;
  });
});

describe('events per pubkey', () => {
  it('one author is limited across connections and IPs, per kind class', async () => {
    const author = newKeys();
    const [a, b] = [await connectAs('198.51.100.10'), await connectAs('198.51.100.11')];
    expect((await a.publish(signed(author, { content: '1' })))[2]).toBe(true);
    expect((await b.publish(signed(author, { content: '2' })))[2]).toBe(true);
    const third = signed(author, { content: '3' });
    expect(await b.publish(third)).toEqual([
      'OK',
      third.id,
      false,
      'rate-limited: slow down: at most 2 regular events per 10 s from one pubkey',
    ]);
    // Ephemeral chat (BitChat's kind 20000) has its own budget.
    expect((await a.publish(signed(author, { kind: 20000, content: 'hi' })))[2]).toBe(true);
    // Another author on the same connection is not affected.
    expect((await b.publish(note()))[2]).toBe(true);
  });

  it('an event with a bad signature spends no budget of the pubkey it names', async () => {
    const author = newKeys();
    const client = await connectAs('198.51.100.12');
    const forged = { ...signed(author, { content: 'x' }) };
    forged.sig = forged.sig.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    expect((await client.publish(forged))[3]).toMatch(/^invalid: /);
    expect((await client.publish(signed(author, { content: 'a' })))[2]).toBe(true);
    expect((await client.publish(signed(author, { content: 'b' })))[2]).toBe(true);
  });
});

describe('queries per connection', () => {
  it('REQ, COUNT and NEG-OPEN share a budget; over it REQ is CLOSED rate-limited:', async () => {
    const client = await connectAs('198.51.100.20');
    expect((await client.req('a', { kinds: [1], limit: 1 })).closed).toBeUndefined();
    client.send(['COUNT', 'c', { kinds: [1] }]);
    await client.next((f) => f[0] === 'COUNT' && f[1] === 'c');
    expect((await client.req('b', { kinds: [1], limit: 1 })).closed).toBeUndefined();
    const { closed } = await client.req('d', { kinds: [1], limit: 1 });
    expect(closed).toEqual([
      'CLOSED',
      'd',
      'rate-limited: slow down: at most 3 REQ, COUNT and NEG-OPEN messages per 10 s on one connection',
    ]);
    client.send(['NEG-OPEN', 'n', {}, '6100']);
    expect((await client.next((f) => f[0] === 'NEG-ERR' && f[1] === 'n'))[2]).toMatch(/^rate-limited: /);
    // A new connection has its own budget; time refills this one.
    const other = await connectAs('198.51.100.20');
    expect((await other.req('x', { kinds: [1], limit: 1 })).closed).toBeUndefined();
    clock += 3_400;
    expect((await client.req('e', { kinds: [1], limit: 1 })).closed).toBeUndefined();
  });
});

describe('connections per IP', () => {
  it('more than max_connections_per_ip open at once are refused with HTTP 429', async () => {
    const clients = [await connectAs('198.51.100.30'), await connectAs('198.51.100.30'), await connectAs('198.51.100.30')];
    const refused = await refusedUpgrade('198.51.100.30');
    expect(refused.status).toBe(429);
    expect(refused.body).toMatch(/^rate-limited: too many connections: at most 3 open at once from one IP/);
    // The open ones keep working; other IPs connect.
    expect((await clients[0]!.req('q', { kinds: [1], limit: 1 })).closed).toBeUndefined();
    await connectAs('198.51.100.31');
    clock += 60_000;
  });

  it('more than connections_per_ip new connections in the period are refused until it refills', async () => {
    await relayHasConnections(proxied, 0); // the last test's connections are gone
    for (let i = 0; i < 4; i++) await (await connectAs('198.51.100.40')).close();
    await relayHasConnections(proxied, 0); // so the refusal below is the rate, not max_connections_per_ip
    const refused = await refusedUpgrade('198.51.100.40');
    expect(refused).toEqual({
      status: 429,
      body: 'rate-limited: too many new connections: at most 4 new connections per 1 m from one IP; wait and reconnect\n',
    });
    clock += 15_000; // a quarter of a minute: one of four back
    await connectAs('198.51.100.40');
  });
});

describe('connection limits of the default config', () => {
  const { max_connections_per_ip: max, connections_per_ip: rate } = defaultConfig().rate_limits;
  const relays: TestRelay[] = [];
  afterAll(async () => {
    for (const relay of relays) await relay.cleanup();
  });
  const start = async (extra: Parameters<typeof startTestRelay>[0] = {}): Promise<TestRelay> => {
    const relay = await startTestRelay({ ...extra, rate_limits: { ...DEFAULT_CONNECTION_LIMITS, ...extra.rate_limits } });
    relays.push(relay);
    return relay;
  };
  const connectMany = async (relay: TestRelay, count: number, ip?: (i: number) => string): Promise<void> => {
    for (let i = 0; i < count; i++) opened.push(await RawClient.connect(relay.url, ip ? { 'X-Forwarded-For': ip(i) } : undefined));
  };

  it('are on: the connection after max_connections_per_ip from one IP gets HTTP 429 rate-limited:', async () => {
    expect(max).not.toBeNull();
    expect(rate).not.toBeNull();
    expect(rate!.count).toBeGreaterThan(max!); // so the cap on open connections is what refuses first
    const relay = await start();
    await connectMany(relay, max!);
    expect(await refusedUpgrade(undefined, relay)).toEqual({
      status: 429,
      body: `rate-limited: too many connections: at most ${max} open at once from one IP; close one first\n`,
    });
  });

  it('leave rate_limits.exempt_ips alone, past both the cap and the burst', async () => {
    const relay = await start({ rate_limits: { exempt_ips: ['127.0.0.1', '::1'] } });
    await connectMany(relay, Math.max(max!, rate!.count) + 1);
    await relayHasConnections(relay, Math.max(max!, rate!.count) + 1);
  });

  it('count each client behind a trusted proxy (relay.trusted_proxies) by the address it forwards', async () => {
    const relay = await start({ relay: { trusted_proxies: ['127.0.0.1', '::1'] } });
    await connectMany(relay, max! + 1, (i) => `203.0.113.${i + 1}`);
    await relayHasConnections(relay, max! + 1);
  });
});
