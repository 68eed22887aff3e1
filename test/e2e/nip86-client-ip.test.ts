/**
 * NIP-86 POSTs see the client's address as the WebSocket upgrade does (relay.trusted_proxies): real HTTP
 * requests with X-Forwarded-For to a relay that trusts 127.0.0.1 as its proxy and to one that trusts
 * nobody. Observed through the per-IP budget a POST spends (rate_limits.events_per_ip, shared with EVENTs
 * over WebSocket) and the log line each request leaves.
 */
import { Writable } from 'node:stream';
import { getToken } from 'nostr-tools/nip98';
import { finalizeEvent } from 'nostr-tools/pure';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/client.js';
import { newKeys, signed, type Keys } from '../helpers/events.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { WAIT_LIMIT_MS } from '../helpers/wait.js';

const admin = newKeys();
const stranger = newKeys();

interface LogLine {
  msg: string;
  ip?: string;
  admin?: string;
  method?: string;
  status?: number;
  reason?: string;
}

/** A relay whose log lines are kept in `lines`. */
async function start(trusted: string[]): Promise<{ relay: TestRelay; lines: LogLine[] }> {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const relay = await startTestRelay(
    {
      relay: { trusted_proxies: trusted },
      management: { admins: [admin.pubkey] },
      rate_limits: { events_per_ip: { count: 2, seconds: 3600 } },
    },
    { logger: pino({ level: 'info' }, sink) },
  );
  return { relay, lines };
}

let proxied: { relay: TestRelay; lines: LogLine[] };
let direct: { relay: TestRelay; lines: LogLine[] };
beforeAll(async () => {
  [proxied, direct] = await Promise.all([start(['127.0.0.1']), start([])]);
});
afterAll(async () => {
  await Promise.all([proxied?.relay.cleanup(), direct?.relay.cleanup()]);
});
const opened: RawClient[] = [];
afterEach(() => {
  for (const client of opened.splice(0)) client.socket.terminate();
});

/** A NIP-98-authorised management call sent with `X-Forwarded-For: forwarded`. */
async function call(
  relay: TestRelay,
  forwarded: string,
  method: string,
  keys: Keys = admin,
): Promise<{ status: number; error: string | null }> {
  const url = `${relay.url.replace(/^ws/, 'http')}/`;
  const request = { method, params: [] };
  const token = await getToken(url, 'POST', (t) => finalizeEvent(t, keys.secret), true, request);
  const response = await fetch(url, {
    method: 'POST',
    body: JSON.stringify(request),
    headers: { 'Content-Type': 'application/nostr+json+rpc', Authorization: token, 'X-Forwarded-For': forwarded },
    signal: AbortSignal.timeout(WAIT_LIMIT_MS),
  });
  return { status: response.status, error: ((await response.json()) as { error: string | null }).error };
}

const logged = (lines: LogLine[]) =>
  lines
    .filter((line) => line.msg.startsWith('management request'))
    .map(({ msg, ip, admin: who, method, status }) => ({ msg, ip, admin: who, method, status }));
const LIMITED = 'rate-limited: slow down: at most 2 events per 1 h from one IP';

describe('NIP-86 POST behind a trusted proxy (127.0.0.1)', () => {
  it('each address X-Forwarded-For names has its own budget, shared with its WebSocket EVENTs, and is what the log shows', async () => {
    const { relay, lines } = proxied;
    expect(await call(relay, '192.0.2.10', 'supportedmethods')).toEqual({ status: 200, error: null });
    // A non-admin's request spends the budget too (its token costs a signature check).
    expect((await call(relay, '192.0.2.10', 'listbannedpubkeys', stranger)).status).toBe(401);
    expect(await call(relay, '192.0.2.10', 'supportedmethods')).toEqual({ status: 429, error: LIMITED });
    // Another client behind the same proxy, and one that prepends a forged address (only the right-most counts).
    expect((await call(relay, '192.0.2.11', 'listblockedips')).status).toBe(200);
    expect((await call(relay, '198.51.100.1, 192.0.2.12', 'listblockedips')).status).toBe(200);
    // The same bucket as the client's events over WebSocket.
    const socket = await RawClient.connect(relay.url, { 'X-Forwarded-For': '192.0.2.10' });
    opened.push(socket);
    expect((await socket.publish(signed(newKeys())))[3]).toBe(LIMITED);

    expect(logged(lines)).toEqual([
      { msg: 'management request', ip: '192.0.2.10', admin: admin.pubkey, method: 'supportedmethods', status: undefined },
      { msg: 'management request refused', ip: '192.0.2.10', admin: undefined, method: undefined, status: 401 },
      { msg: 'management request refused', ip: '192.0.2.10', admin: undefined, method: undefined, status: undefined },
      { msg: 'management request', ip: '192.0.2.11', admin: admin.pubkey, method: 'listblockedips', status: undefined },
      { msg: 'management request', ip: '192.0.2.12', admin: admin.pubkey, method: 'listblockedips', status: undefined },
    ]);
    expect(lines.find((line) => line.msg === 'management request refused' && line.status === undefined)?.reason).toBe(LIMITED);
  });
});

describe('NIP-86 POST from a peer that is not a trusted proxy', () => {
  it('X-Forwarded-For is ignored: every request counts and is logged as the TCP peer 127.0.0.1', async () => {
    const { relay, lines } = direct;
    expect((await call(relay, '192.0.2.20', 'supportedmethods')).status).toBe(200);
    expect((await call(relay, '192.0.2.21', 'supportedmethods')).status).toBe(200);
    expect(await call(relay, '192.0.2.22', 'supportedmethods')).toEqual({ status: 429, error: LIMITED });
    expect(logged(lines).map(({ ip }) => ip)).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1']);
  });
});
