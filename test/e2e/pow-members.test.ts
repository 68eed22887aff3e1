/**
 * members.exempt_from_pow end to end: members skip NIP-13 proof of work, everyone else pays it — on an
 * open relay (members.enabled false: the member list only exempts) and on a community relay (a
 * non-member's DM to a member needs the work; a non-member's note is refused by membership first).
 * NIP-11 still advertises write.min_pow as min_pow_difficulty.
 */
import { getPow, minePow } from 'nostr-tools/nip13';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trackConnections } from '../helpers/connections.js';
import { newKeys, now, signed, type Keys } from '../helpers/events.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

const MIN = 8;
const member = newKeys();
const stranger = newKeys();
let open: TestRelay;
let community: TestRelay;
const connect = trackConnections(() => open.url);

beforeAll(async () => {
  const write = { min_pow: MIN };
  [open, community] = await Promise.all([
    startTestRelay({ write, members: { exempt_from_pow: true, pubkeys: [member.pubkey] } }),
    startTestRelay({ write, members: { enabled: true, exempt_from_pow: true, pubkeys: [member.pubkey] } }),
  ]);
});
afterAll(async () => {
  await Promise.all([open?.cleanup(), community?.cleanup()]);
});

/** A signed event whose id has fewer than MIN leading zero bits. */
function weak(who: Keys, kind = 1, tags: string[][] = []) {
  for (let i = 0; ; i++) {
    const event = signed(who, { kind, tags, content: `weak ${i}` });
    if (getPow(event.id) < MIN) return event;
  }
}

function mined(who: Keys, kind = 1, tags: string[][] = []) {
  const work = minePow({ kind, created_at: now(), tags, content: 'work', pubkey: who.pubkey }, MIN);
  return signed(who, { kind, created_at: work.created_at, tags: work.tags, content: work.content });
}

describe('members.exempt_from_pow on an open relay', () => {
  it('a member posts without work; a stranger needs it', async () => {
    const client = await connect();
    const free = weak(member);
    expect(await client.publish(free)).toEqual(['OK', free.id, true, '']);
    const unpaid = weak(stranger);
    expect(await client.publish(unpaid)).toEqual(['OK', unpaid.id, false, `pow: difficulty ${getPow(unpaid.id)} is less than ${MIN}`]);
    const paid = mined(stranger);
    expect(await client.publish(paid)).toEqual(['OK', paid.id, true, '']);
  });

  it('NIP-11 still advertises the minimum strangers pay', async () => {
    const res = await fetch(open.url.replace(/^ws/, 'http'), { headers: { Accept: 'application/nostr+json' } });
    const limitation = ((await res.json()) as { limitation: Record<string, unknown> }).limitation;
    expect(limitation).toMatchObject({ min_pow_difficulty: MIN, restricted_writes: true });
  });
});

describe('members.exempt_from_pow on a community relay', () => {
  it('a non-member DM to a member pays the work; membership refuses a note first; members pay nothing', async () => {
    const client = await connect(community.url);
    const dm = weak(stranger, 4, [['p', member.pubkey]]);
    expect((await client.publish(dm))[3]).toBe(`pow: difficulty ${getPow(dm.id)} is less than ${MIN}`);
    const paidDm = mined(stranger, 4, [['p', member.pubkey]]);
    expect(await client.publish(paidDm)).toEqual(['OK', paidDm.id, true, '']);
    const note = weak(stranger);
    expect((await client.publish(note))[3]).toMatch(/^blocked: only members of /);
    const own = weak(member);
    expect(await client.publish(own)).toEqual(['OK', own.id, true, '']);
  });
});
