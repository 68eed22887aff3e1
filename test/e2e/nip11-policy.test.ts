/**
 * NIP-11 tells the truth about the write policy: `restricted_writes` is true exactly when a write rule
 * refuses events for who sent them or what they are, `min_pow_difficulty` is write.min_pow.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { WAIT_LIMIT_MS } from '../helpers/wait.js';

const relays: TestRelay[] = [];
afterAll(async () => {
  await Promise.all(relays.map((relay) => relay.cleanup()));
});

async function limitation(overrides: Parameters<typeof startTestRelay>[0]): Promise<Record<string, unknown>> {
  const relay = await startTestRelay(overrides);
  relays.push(relay);
  const response = await fetch(relay.url.replace(/^ws/, 'http'), {
    headers: { Accept: 'application/nostr+json' },
    signal: AbortSignal.timeout(WAIT_LIMIT_MS),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { limitation: Record<string, unknown> }).limitation;
}

const PK = 'a'.repeat(64);

describe('NIP-11 limitation for write rules', () => {
  it('default config: nothing restricted, no proof of work', async () => {
    expect(await limitation({})).toMatchObject({ restricted_writes: false, min_pow_difficulty: 0 });
  });

  it.each([
    ['an allow list', { write: { pubkeys: { allow: [PK] } } }],
    ['a deny list', { write: { pubkeys: { deny: [PK] } } }],
    ['a kind allow list without "*"', { write: { kinds: { allow: [1, 7] } } }],
    ['a kind deny list', { write: { kinds: { deny: [4] } } }],
  ])('%s → restricted_writes true', async (_name, overrides) => {
    expect(await limitation(overrides)).toMatchObject({ restricted_writes: true, min_pow_difficulty: 0 });
  });

  it('proof of work → restricted_writes true and min_pow_difficulty', async () => {
    expect(await limitation({ write: { min_pow: 21 } })).toMatchObject({ restricted_writes: true, min_pow_difficulty: 21 });
  });

  it('per-kind limits alone restrict no writer', async () => {
    expect(await limitation({ write: { limits_by_kind: [{ kinds: [1], max_event_tags: 5 }] } })).toMatchObject({
      restricted_writes: false,
    });
  });
});
