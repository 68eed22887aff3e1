/**
 * NIP-77 memory bounds end to end: sessions per IP (negentropy.max_sessions_per_ip), the records of all
 * sets in the process (negentropy.max_total_records), sets shared by equal NEG-OPENs, and everything given
 * back when sessions end. Every client connects from 127.0.0.1, so they all count as one IP. Each case runs
 * with the sets read on reader threads and inline.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, type Frame } from '../helpers/client.js';
import { newKeys, signed } from '../helpers/events.js';
import { fakeEvent, fillStore, negSync } from '../helpers/negentropy.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);
const events = [
  ...Array.from({ length: 20 }, (_, i) => fakeEvent(A, 1_700_000_000 + i, `a${i}`)),
  ...Array.from({ length: 30 }, (_, i) => fakeEvent(B, 1_700_000_000 + i, `b${i}`)),
  ...Array.from({ length: 45 }, (_, i) => fakeEvent(C, 1_700_000_000 + i, `c${i}`)),
];
const EMPTY_CLIENT = '6100000200';

const opened: RawClient[] = [];
afterEach(() => {
  for (const client of opened.splice(0)) client.socket.terminate();
});
async function connect(relay: TestRelay): Promise<RawClient> {
  const client = await RawClient.connect(relay.url);
  opened.push(client);
  return client;
}

/** Sends NEG-OPEN and returns the answer: ['NEG-MSG', id, hex] or ['NEG-ERR', id, reason]. */
async function negOpen(client: RawClient, subId: string, filter: object): Promise<Frame> {
  const from = client.frames.length;
  client.send(['NEG-OPEN', subId, filter, EMPTY_CLIENT]);
  return client.next((f) => client.frames.indexOf(f) >= from && (f[0] === 'NEG-MSG' || f[0] === 'NEG-ERR') && f[1] === subId);
}

/** Waits (bounded) until the process holds `sessions` sessions and `records` records. */
async function holds(relay: TestRelay, sessions: number, records: number): Promise<void> {
  for (let i = 0; i < 300 && (relay.negentropy.sessions !== sessions || relay.negentropy.records !== records); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect({ sessions: relay.negentropy.sessions, records: relay.negentropy.records }).toEqual({ sessions, records });
}

describe.each([
  { readers: 2, how: 'sets read on reader threads' },
  { readers: 0, how: 'sets read inline' },
])('NIP-77 memory bounds, $how', ({ readers }) => {
  const dir = mkdtempSync(join(tmpdir(), 'commons-nip77-limits-'));
  let relay: TestRelay;
  /** A relay on its own copy of `events`. */
  const start = (file: string, negentropy: object, extra: object = {}): Promise<TestRelay> => {
    fillStore(join(dir, file), events);
    return startTestRelay({
      storage: { path: join(dir, file) },
      // One connection thread: equal NEG-OPENs share one set within a thread, and these tests count the
      // records of the sets (the budget itself is process-wide: test/e2e/threads.test.ts).
      server: { threads: 1 },
      query: { readers },
      negentropy: { max_sessions: 4, ...negentropy },
      ...extra,
    });
  };

  beforeAll(async () => {
    relay = await start('relay.sqlite', { max_sessions_per_ip: 3, max_total_records: 60 });
  });
  afterAll(async () => {
    await relay?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sessions per IP are counted over all its connections; equal NEG-OPENs share one set', async () => {
    const [one, two] = [await connect(relay), await connect(relay)];
    expect((await negOpen(one, 's1', { authors: [A] }))[0]).toBe('NEG-MSG');
    expect((await negOpen(one, 's2', { authors: [A] }))[0]).toBe('NEG-MSG');
    expect((await negOpen(two, 's3', { authors: [A] }))[0]).toBe('NEG-MSG');
    await holds(relay, 3, 20); // three sessions, one set of 20
    expect(await negOpen(two, 's4', { authors: [A] })).toEqual([
      'NEG-ERR',
      's4',
      'rate-limited: at most 3 open negentropy sessions per IP; close one first',
    ]);
    one.send(['NEG-CLOSE', 's1']);
    await holds(relay, 2, 20);
    expect((await negOpen(two, 's4', { authors: [A] }))[0]).toBe('NEG-MSG');
  });

  it('the records of all sets are bounded: rate-limited: while others hold them, blocked: for a set larger than the budget', async () => {
    const [one, two] = [await connect(relay), await connect(relay)];
    await holds(relay, 0, 0);
    expect(await negOpen(one, 'all', {})).toEqual([
      'NEG-ERR',
      'all',
      "blocked: too many records for this relay's negentropy budget (max 60)",
    ]);
    await holds(relay, 0, 0);
    expect((await negOpen(one, 'b', { authors: [B] }))[0]).toBe('NEG-MSG');
    expect((await negOpen(one, 'a', { authors: [A] }))[0]).toBe('NEG-MSG');
    await holds(relay, 2, 50);
    expect(await negOpen(two, 'c', { authors: [C] })).toEqual([
      'NEG-ERR',
      'c',
      'rate-limited: the relay holds as many negentropy records as it may (60) for other sessions; try again later',
    ]);
    await holds(relay, 2, 50); // what the refused read charged is given back
    // A set already held costs nothing more.
    expect((await negOpen(two, 'b-again', { authors: [B] }))[0]).toBe('NEG-MSG');
    await holds(relay, 3, 50);
    one.send(['NEG-CLOSE', 'b']);
    two.send(['NEG-CLOSE', 'b-again']);
    await holds(relay, 1, 20);
    expect((await negOpen(two, 'c', { authors: [C] }))[2]).toMatch(/^rate-limited: /); // 20 + 45 > 60
    one.send(['NEG-CLOSE', 'a']);
    await holds(relay, 0, 0);
    expect((await negOpen(two, 'c', { authors: [C] }))[0]).toBe('NEG-MSG');
    await holds(relay, 1, 45);
  });

  it('a set is shared only while nothing was written: a NEG-OPEN after a write reads afresh', async () => {
    const client = await connect(relay);
    await holds(relay, 0, 0);
    const keys = newKeys();
    const first = signed(keys, { content: 'first' });
    expect((await client.publish(first))[2]).toBe(true);
    expect((await negOpen(client, 'before', { authors: [keys.pubkey] }))[0]).toBe('NEG-MSG');
    await holds(relay, 1, 1);
    const second = signed(keys, { content: 'second' });
    expect((await client.publish(second))[2]).toBe(true);
    const result = await negSync(client, 'after', { authors: [keys.pubkey] }, []);
    expect(result.need).toEqual(new Set([first.id, second.id]));
    await holds(relay, 1, 1); // negSync closed its session; the first set is still held
  });

  it('a closed connection gives back its sessions and their records, even a set still being read', async () => {
    const [one, two] = [await connect(relay), await connect(relay)];
    await holds(relay, 0, 0);
    expect((await negOpen(one, 'x', { authors: [A] }))[0]).toBe('NEG-MSG');
    expect((await negOpen(one, 'y', { authors: [B] }))[0]).toBe('NEG-MSG');
    expect((await negOpen(two, 'z', { authors: [A] }))[0]).toBe('NEG-MSG');
    await holds(relay, 3, 50);
    one.socket.terminate();
    await holds(relay, 1, 20);
    two.send(['NEG-OPEN', 'w', { authors: [C] }, EMPTY_CLIENT]);
    two.socket.terminate(); // its set may still be on a reader thread
    await holds(relay, 0, 0);
    expect(relay.relay.negentropyUsage()).toEqual({ sessions: 0, records: 0 });
  });

  it('rate_limits.exempt_ips lifts the cap per IP, not the budget', async () => {
    const exempt = await start(
      'exempt.sqlite',
      { max_sessions_per_ip: 1, max_total_records: 60 },
      { rate_limits: { exempt_ips: ['127.0.0.1', '::1'] } },
    );
    try {
      const client = await connect(exempt);
      expect((await negOpen(client, 'p', { authors: [A] }))[0]).toBe('NEG-MSG');
      expect((await negOpen(client, 'q', { authors: [B] }))[0]).toBe('NEG-MSG');
      expect((await negOpen(client, 'r', { authors: [C] }))[2]).toMatch(/^rate-limited: the relay holds as many negentropy records/);
    } finally {
      await exempt.cleanup();
    }
  });
});
