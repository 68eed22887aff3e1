/**
 * NIP-77 negentropy over a real socket, driven by nostr-tools' initiator (`nip77.Negentropy` with a
 * `NegentropyStorageVector`). Cases follow the NIP-77 section of the NIPs checklist.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, type Frame } from '../helpers/client.js';
import { newKeys, now, signed } from '../helpers/events.js';
import { fakeEvent, fillStore, negSync } from '../helpers/negentropy.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

const isNeg = (subId: string) => (f: Frame) => (f[0] === 'NEG-MSG' || f[0] === 'NEG-ERR') && f[1] === subId;

describe('NIP-77 negentropy', () => {
  let relay: TestRelay;
  let client: RawClient;
  /** The relay's clock in unix seconds; undefined: the real one. */
  let clock: number | undefined;

  beforeAll(async () => {
    relay = await startTestRelay({ negentropy: { max_sessions: 3 } }, { now: () => clock ?? now() });
    client = await RawClient.connect(relay.url);
  });
  afterAll(async () => {
    await client?.close();
    await relay?.cleanup();
  });

  it('2: relay {A,B,C}, client {B,D} → need {A,C}, have {D}; agrees with a REQ of the same filter', async () => {
    const keys = newKeys();
    const t = now() - 100;
    const [a, b, c, d] = [0, 1, 2, 3].map((i) => signed(keys, { created_at: t + i, content: `e${i}` }));
    for (const event of [a!, b!, c!]) expect((await client.publish(event))[2]).toBe(true);
    const filter = { authors: [keys.pubkey] };
    const result = await negSync(
      client,
      'sync1',
      filter,
      [b!, d!].map((e) => [e.created_at, e.id] as const),
    );
    expect(result.need).toEqual(new Set([a!.id, c!.id]));
    expect(result.have).toEqual(new Set([d!.id]));
    const { events } = await client.req('r-sync1', filter);
    expect(new Set(events.map((e) => e.id))).toEqual(new Set([a!.id, b!.id, c!.id]));
  });

  it('1: an empty client ("6100000200") learns exactly the N matching ids', async () => {
    const keys = newKeys();
    const events = Array.from({ length: 40 }, (_, i) => signed(keys, { created_at: now() - 1000 + i, content: `n${i}` }));
    for (const event of events) await client.publish(event);
    const result = await negSync(client, 'empty', { authors: [keys.pubkey] }, []);
    expect(result.need).toEqual(new Set(events.map((e) => e.id)));
    expect(result.have.size).toBe(0);
  });

  it('3: unsupported protocol version → NEG-MSG "61"', async () => {
    client.send(['NEG-OPEN', 'v', {}, '62aabbccddeeff']);
    expect(await client.next(isNeg('v'))).toEqual(['NEG-MSG', 'v', '61']);
    client.send(['NEG-CLOSE', 'v']);
  });

  it('4: empty-set fingerprint message against an empty result → "61"', async () => {
    client.send(['NEG-OPEN', 'fp', { authors: [newKeys().pubkey] }, '610000017f9c9e31ac8256ca2f258583df262dbc']);
    expect(await client.next(isNeg('fp'))).toEqual(['NEG-MSG', 'fp', '61']);
    client.send(['NEG-CLOSE', 'fp']);
  });

  it('5: NEG-MSG / NEG-CLOSE on an unknown or closed id → NEG-ERR closed:; NEG-CLOSE of an open id gets no reply', async () => {
    client.send(['NEG-MSG', 'nope', '6100000200']);
    expect((await client.next(isNeg('nope')))[2]).toMatch(/^closed: /);
    client.send(['NEG-CLOSE', 'nope2']);
    expect(await client.next((f) => f[0] === 'NEG-ERR' && f[1] === 'nope2')).toEqual([
      'NEG-ERR',
      'nope2',
      expect.stringMatching(/^closed: /),
    ]);

    client.send(['NEG-OPEN', 'c1', { authors: [newKeys().pubkey] }, '6100000200']);
    await client.next(isNeg('c1'));
    const before = client.frames.length;
    client.send(['NEG-CLOSE', 'c1']);
    client.send(['NEG-MSG', 'c1', '6100000200']);
    const reply = await client.next((f) => client.frames.indexOf(f) >= before && f[1] === 'c1');
    expect(reply[0]).toBe('NEG-ERR');
    expect(reply[2]).toMatch(/^closed: /);
    expect(client.frames.slice(before).filter((f) => f[1] === 'c1')).toHaveLength(1);
  });

  it('6: NEG-OPEN on an open id replaces it; NEG and REQ ids are separate namespaces', async () => {
    const keys = newKeys();
    await client.publish(signed(keys, { content: 'ns' }));
    client.send(['REQ', 'x', { authors: [keys.pubkey] }]);
    await client.next((f) => f[0] === 'EOSE' && f[1] === 'x');
    const first = await negSync(client, 'x', { authors: [keys.pubkey] }, []);
    expect(first.need.size).toBe(1);
    // The REQ "x" is still live.
    const live = signed(keys, { content: 'live' });
    await client.publish(live);
    await client.next((f) => f[0] === 'EVENT' && f[1] === 'x' && (f[2] as { id: string }).id === live.id);
    // Re-open without closing: the new session answers for the new filter.
    client.send(['NEG-OPEN', 'y', { authors: [newKeys().pubkey] }, '6100000200']);
    await client.next(isNeg('y'));
    const again = await negSync(client, 'y', { authors: [keys.pubkey] }, []);
    expect(again.need.size).toBe(2);
    client.send(['CLOSE', 'x']);
  });

  it('7: sessions per connection are bounded', async () => {
    const ids = ['s1', 's2', 's3', 's4'];
    for (const id of ids) client.send(['NEG-OPEN', id, { authors: [newKeys().pubkey] }, '6100000200']);
    const replies = await Promise.all(ids.map((id) => client.next(isNeg(id))));
    expect(replies.slice(0, 3).map((f) => f[0])).toEqual(['NEG-MSG', 'NEG-MSG', 'NEG-MSG']);
    expect(replies[3]![0]).toBe('NEG-ERR');
    expect(replies[3]![2]).toMatch(/^rate-limited: /);
    for (const id of ids.slice(0, 3)) client.send(['NEG-CLOSE', id]);
  });

  it('8: malformed messages → NEG-ERR invalid:', async () => {
    const cases: [string, unknown[]][] = [
      ['h1', ['NEG-OPEN', 'h1', {}, 'zz']],
      ['h2', ['NEG-OPEN', 'h2', {}, '61ff']],
      ['h3', ['NEG-OPEN', 'h3', 'not a filter', '6100000200']],
      ['h4', ['NEG-OPEN', 'h4', {}]],
      ['h5', ['NEG-OPEN', 'h5', { kinds: ['x'] }, '6100000200']],
    ];
    for (const [id, message] of cases) {
      client.send(message);
      const frame = await client.next(isNeg(id));
      expect(frame[0], id).toBe('NEG-ERR');
      expect(frame[2], id).toMatch(/^invalid: /);
    }
    client.send(['NEG-OPEN']);
    expect((await client.next((f) => f[0] === 'NOTICE'))[1]).toMatch(/^invalid: /);
  });

  it('leniency: [filter] (as @nostr-dev-kit/sync sends) is that filter; arrays of 0 or 2 filters → NEG-ERR invalid:', async () => {
    const keys = newKeys();
    const t = now() - 100;
    const [a, b, c] = [0, 1, 2].map((i) => signed(keys, { created_at: t + i, content: `arr${i}` }));
    for (const event of [a!, b!, c!]) expect((await client.publish(event))[2]).toBe(true);
    const filter = { kinds: [1], authors: [keys.pubkey] };
    const result = await negSync(client, 'arr1', [filter], [[b!.created_at, b!.id]]);
    expect(result.need).toEqual(new Set([a!.id, c!.id]));
    expect(result.have.size).toBe(0);

    for (const [id, filters] of [
      ['arr0', []],
      ['arr2', [filter, filter]],
    ] as const) {
      client.send(['NEG-OPEN', id, filters, '6100000200']);
      expect(await client.next(isNeg(id))).toEqual([
        'NEG-ERR',
        id,
        `invalid: NEG-OPEN takes one filter: an object, or an array holding exactly one, not an array of ${filters.length}`,
      ]);
    }
    // The one filter inside is checked like any other.
    client.send(['NEG-OPEN', 'arr-bad', [{ kinds: ['x'] }], '6100000200']);
    expect((await client.next(isNeg('arr-bad')))[2]).toMatch(/^invalid: /);
  });

  it('10: expired events are not in the set', async () => {
    const keys = newKeys();
    const kept = signed(keys, { content: 'kept' });
    const expiring = signed(keys, { content: 'soon', tags: [['expiration', String(now() + 1)]] });
    expect((await client.publish(kept))[2]).toBe(true);
    expect((await client.publish(expiring))[2]).toBe(true);
    clock = now() + 2;
    try {
      const result = await negSync(client, 'exp', { authors: [keys.pubkey] }, []);
      expect(result.need).toEqual(new Set([kept.id]));
    } finally {
      clock = undefined;
    }
  });
});

describe('NIP-77 idle timeout and disabled', () => {
  it('7: an idle session is closed with NEG-ERR closed:', async () => {
    const relay = await startTestRelay({ negentropy: { idle_seconds: 1 } });
    const client = await RawClient.connect(relay.url);
    try {
      client.send(['NEG-OPEN', 'idle', {}, '6100000200']);
      expect((await client.next(isNeg('idle')))[0]).toBe('NEG-MSG');
      const err = await client.next((f) => f[0] === 'NEG-ERR' && f[1] === 'idle');
      expect(err[2]).toMatch(/^closed: /);
    } finally {
      await client.close();
      await relay.cleanup();
    }
  });

  it('7: too many records → NEG-ERR blocked:, and the id is closed', async () => {
    const relay = await startTestRelay({ negentropy: { max_records: 3 } });
    const client = await RawClient.connect(relay.url);
    try {
      const keys = newKeys();
      for (let i = 0; i < 3; i++) await client.publish(signed(keys, { content: `r${i}` }));
      await client.publish(signed(newKeys(), { content: 'other' }));
      client.send(['NEG-OPEN', 'big', {}, '6100000200']);
      expect(await client.next(isNeg('big'))).toEqual(['NEG-ERR', 'big', 'blocked: too many records (max 3)']);
      client.send(['NEG-MSG', 'big', '6100000200']);
      await client.next((f) => f[0] === 'NEG-ERR' && f[1] === 'big' && String(f[2]).startsWith('closed:'));
      // Within the limit it works.
      const result = await negSync(client, 'small', { authors: [keys.pubkey], limit: 1 }, []);
      expect(result.need.size).toBe(3); // the filter's limit is ignored: the whole set is reconciled
    } finally {
      await client.close();
      await relay.cleanup();
    }
  });

  it('negentropy.enabled false → NEG-ERR unsupported:', async () => {
    const relay = await startTestRelay({ negentropy: { enabled: false } });
    const client = await RawClient.connect(relay.url);
    try {
      client.send(['NEG-OPEN', 'off', {}, '6100000200']);
      expect((await client.next(isNeg('off')))[2]).toMatch(/^unsupported: /);
    } finally {
      await client.close();
      await relay.cleanup();
    }
  });
});

describe('NIP-77 with 50,000 events on each side', () => {
  const dir = mkdtempSync(join(tmpdir(), 'commons-nip77-'));
  const dbPath = join(dir, 'relay.sqlite');
  let relay: TestRelay;
  const pubkey = 'f'.repeat(64);
  const base = 1_700_000_000;
  // 47,000 common, 3,000 only on the relay, 3,000 only on the client; many share a created_at.
  const common = Array.from({ length: 47_000 }, (_, i) => fakeEvent(pubkey, base + (i % 5000), `common ${i}`));
  const relayOnly = Array.from({ length: 3_000 }, (_, i) => fakeEvent(pubkey, base + (i % 5000), `relay ${i}`));
  const clientOnly = Array.from({ length: 3_000 }, (_, i) => fakeEvent(pubkey, base + (i % 5000), `client ${i}`));

  beforeAll(async () => {
    fillStore(dbPath, [...common, ...relayOnly]);
    relay = await startTestRelay({ storage: { path: dbPath }, limits: { max_message_bytes: 32768 } });
  }, 60_000);
  afterAll(async () => {
    await relay?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('2: need/have are exactly the differences; frames stay within max_message_bytes', async () => {
    const client = await RawClient.connect(relay.url);
    try {
      const items = [...common, ...clientOnly].map((e) => [e.created_at, e.id] as const);
      const started = performance.now();
      const result = await negSync(client, 'big', { kinds: [1] }, items, 15000);
      const ms = performance.now() - started;
      expect(result.need).toEqual(new Set(relayOnly.map((e) => e.id)));
      expect(result.have).toEqual(new Set(clientOnly.map((e) => e.id)));
      expect(result.maxFrame).toBeLessThanOrEqual(32768);
      console.log(`nip77: 50k vs 50k (3k+3k differ): ${result.rounds} rounds, ${ms.toFixed(0)} ms, largest frame ${result.maxFrame} B`);
    } finally {
      await client.close();
    }
  }, 30_000);
});
