/**
 * NIP-13 proof of work end to end (/work/shared/NIPS-CHECKLIST.md "NIP-13"): the difficulty is the id's
 * leading zero bits; below the minimum → OK false "pow: difficulty D is less than N"; at or above → OK
 * true; per-kind minimums; 13 and min_pow_difficulty advertised only when proof of work is asked for.
 */
import { getPow, minePow } from 'nostr-tools/nip13';
import { getEventHash } from 'nostr-tools/pure';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/client.js';
import { newKeys, now, signed, type Keys } from '../helpers/events.js';
import { okFrameProblem } from '../helpers/frames.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { WAIT_LIMIT_MS } from '../helpers/wait.js';

const MIN = 10;
const keys = newKeys();
let relay: TestRelay;
let plain: TestRelay;
const opened: RawClient[] = [];

beforeAll(async () => {
  [relay, plain] = await Promise.all([
    startTestRelay({ write: { min_pow: MIN, min_pow_by_kind: [{ kinds: [[20000, 29999]], min_pow: 0 }] } }),
    startTestRelay(),
  ]);
});

afterAll(async () => {
  await Promise.all([relay?.cleanup(), plain?.cleanup()]);
});

afterEach(() => {
  const problems = opened.flatMap((client) => client.frames.map(okFrameProblem).filter((p): p is string => p !== undefined));
  for (const client of opened.splice(0)) client.socket.terminate();
  expect(problems).toEqual([]);
});

async function connect(target = relay): Promise<RawClient> {
  const client = await RawClient.connect(target.url);
  client.socket.on('error', () => {});
  opened.push(client);
  return client;
}

/** A signed kind-1 event whose id has at least `bits` leading zero bits (with its nonce tag). */
function mined(who: Keys, bits: number, kind = 1) {
  const work = minePow({ kind, created_at: now(), tags: [], content: `work ${bits}`, pubkey: who.pubkey }, bits);
  const event = signed(who, { kind, created_at: work.created_at, tags: work.tags, content: work.content });
  expect(event.id).toBe(work.id);
  return event;
}

/** A signed event whose id has fewer than `bits` leading zero bits. */
function weak(who: Keys, bits: number) {
  for (let i = 0; ; i++) {
    const event = signed(who, { content: `weak ${i}` });
    if (getPow(event.id) < bits) return event;
  }
}

type RelayInfo = { supported_nips: number[]; limitation: Record<string, unknown> };

const info = async (target: TestRelay): Promise<RelayInfo> => {
  const response = await fetch(target.url.replace(/^ws/, 'http'), {
    headers: { Accept: 'application/nostr+json' },
    signal: AbortSignal.timeout(WAIT_LIMIT_MS),
  });
  return (await response.json()) as RelayInfo;
};

describe('NIP-13', () => {
  it('1–2: an id below the minimum is refused with pow: and its difficulty', async () => {
    const client = await connect();
    const event = weak(keys, MIN);
    expect(await client.publish(event)).toEqual(['OK', event.id, false, `pow: difficulty ${getPow(event.id)} is less than ${MIN}`]);
    expect((await client.req('q', { ids: [event.id] })).events).toEqual([]);
  });

  it('3: an id at or above the minimum is accepted and stored', async () => {
    const client = await connect();
    const event = mined(keys, MIN);
    expect(getPow(event.id)).toBeGreaterThanOrEqual(MIN);
    expect(await client.publish(event)).toEqual(['OK', event.id, true, '']);
    expect((await client.req('q', { ids: [event.id] })).events.map((e) => e.id)).toEqual([event.id]);
  });

  it('a per-kind rule replaces the minimum (ephemeral kinds exempt here)', async () => {
    const client = await connect();
    let event = signed(keys, { kind: 20001, content: 'e0' });
    for (let i = 1; getPow(event.id) >= MIN; i++) event = signed(keys, { kind: 20001, content: `e${i}` });
    expect(await client.publish(event)).toEqual(['OK', event.id, true, '']);
  });

  it('4 (MAY, not done): a nonce tag committing to a lower target is not refused when the id has the bits', async () => {
    const client = await connect();
    const created_at = now();
    // Mine by hand with the tag ["nonce", n, "1"]: the committed target (1) is below the minimum.
    let tags: string[][] = [];
    for (let n = 0; ; n++) {
      tags = [['nonce', String(n), '1']];
      const id = getEventHash({ kind: 1, created_at, tags, content: 'low target', pubkey: keys.pubkey });
      if (getPow(id) >= MIN) break;
    }
    const event = signed(keys, { created_at, tags, content: 'low target' });
    expect(getPow(event.id)).toBeGreaterThanOrEqual(MIN);
    expect(await client.publish(event)).toEqual(['OK', event.id, true, '']);
  });

  it('a forged id that merely looks mined is refused as invalid', async () => {
    const client = await connect();
    const event = { ...signed(keys), id: `000${'f'.repeat(61)}` };
    expect((await client.publish(event))[3]).toMatch(/^invalid: id is not the sha256/);
  });

  it('NIP-11 advertises 13 and min_pow_difficulty only when proof of work is asked for', async () => {
    const [on, off] = await Promise.all([info(relay), info(plain)]);
    expect(on.supported_nips).toContain(13);
    expect(on.limitation.min_pow_difficulty).toBe(MIN);
    expect(on.limitation.restricted_writes).toBe(true);
    expect(off.supported_nips).not.toContain(13);
    expect(off.limitation.min_pow_difficulty).toBe(0);
  });

  it('a relay without a minimum accepts any difficulty', async () => {
    const client = await connect(plain);
    const event = weak(keys, 1);
    expect(await client.publish(event)).toEqual(['OK', event.id, true, '']);
  });
});
