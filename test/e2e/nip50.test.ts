/**
 * NIP-50 search end to end over a real socket: content matching (case-insensitive, no stemming),
 * relevance order with the limit applied after ranking, AND with other fields, several search filters
 * OR'd, key:value extensions ignored, hostile input, live matching after EOSE, COUNT with search, and
 * the relay with search disabled. Items refer to /work/shared/NIPS-CHECKLIST.md ("NIP-50").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { RawClient } from '../helpers/client.js';
import { newKeys, now, signed } from '../helpers/events.js';
import { trackConnections } from '../helpers/connections.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

let relay: TestRelay;
const alice = newKeys();
const bob = newKeys();
const t = now() - 1000;
const notes = {
  purple: signed(alice, { created_at: t + 1, content: 'I love the colour PURPLE' }),
  purpleRain: signed(bob, { created_at: t + 2, content: 'purple rain, purple rain, purple everywhere' }),
  long: signed(alice, {
    created_at: t + 3,
    content: 'a long note that mentions purple once among many many other words about nothing much',
  }),
  note: signed(bob, { created_at: t + 4, content: 'just a note' }),
  notes: signed(bob, { created_at: t + 5, content: 'several notes' }),
  accent: signed(alice, { created_at: t + 6, content: 'Crème brûlée recipe' }),
  reaction: signed(bob, { created_at: t + 7, kind: 7, content: 'purple' }),
  tricky: signed(alice, { created_at: t + 8, content: 'NEAR AND NOT OR "quoted" stars* -minus' }),
};

beforeAll(async () => {
  relay = await startTestRelay();
  const client = await RawClient.connect(relay.url);
  for (const event of Object.values(notes)) expect((await client.publish(event))[2]).toBe(true);
  client.socket.terminate();
});
afterAll(async () => {
  await relay?.cleanup();
});

const connect = trackConnections(() => relay.url);

let sub = 0;
async function search(...filters: unknown[]): Promise<string[]> {
  const client = await connect();
  const { events, closed } = await client.req(`s${sub++}`, ...filters);
  expect(closed).toBeUndefined();
  return events.map((e: NostrEvent) => e.id);
}

describe('NIP-50 search', () => {
  it('1. returns only events whose content matches, case-insensitively, without stemming', async () => {
    expect(new Set(await search({ search: 'Purple' }))).toEqual(
      new Set([notes.purple.id, notes.purpleRain.id, notes.long.id, notes.reaction.id]),
    );
    expect(await search({ search: 'note' })).toEqual([notes.note.id, notes.long.id]); // not "several notes"
    expect(await search({ search: 'creme BRULEE' })).toEqual([notes.accent.id]); // diacritics removed
    expect(await search({ search: 'purple nothing' })).toEqual([notes.long.id]); // every word (AND)
  });

  it('2. ordered by relevance, not created_at; limit applied after ranking', async () => {
    const ranked = await search({ search: 'purple', kinds: [1] });
    expect(ranked).toEqual([notes.purpleRain.id, notes.purple.id, notes.long.id]);
    expect(await search({ search: 'purple', kinds: [1], limit: 1 })).toEqual([notes.purpleRain.id]);
  });

  it("3. other fields still apply (AND); several search filters are OR'd, each event once", async () => {
    expect(await search({ search: 'purple', authors: [alice.pubkey], kinds: [1] })).toEqual([notes.purple.id, notes.long.id]);
    expect(await search({ search: 'purple', kinds: [7] })).toEqual([notes.reaction.id]);
    expect(await search({ search: 'purple', since: t + 2, until: t + 3 })).toEqual([notes.purpleRain.id, notes.long.id]);
    const both = await search({ search: 'recipe' }, { search: 'rain' }, { search: 'rain purple' });
    expect(new Set(both)).toEqual(new Set([notes.accent.id, notes.purpleRain.id]));
    expect(both).toHaveLength(2);
  });

  it('4. unknown key:value extensions are ignored, the rest of the query is used', async () => {
    expect(await search({ search: 'language:en rain include:spam nsfw:false' })).toEqual([notes.purpleRain.id]);
    expect(await search({ search: 'domain:example.com' })).toEqual([]); // nothing left: matches nothing
  });

  it('hostile input never breaks the query: FTS5 syntax is plain text', async () => {
    for (const query of [
      '"',
      '*',
      'NEAR(',
      '-',
      'AND',
      'OR',
      'NOT',
      '(',
      ')',
      '"unterminated',
      'a OR',
      '^x',
      'x:',
      '{content}: x',
      "'; DROP TABLE events; --",
    ]) {
      const client = await connect();
      const { closed } = await client.req(`h${sub++}`, { search: query });
      expect(closed, query).toBeUndefined();
    }
    expect(await search({ search: 'NEAR(' })).toEqual([notes.tricky.id]);
    expect(await search({ search: 'AND NOT' })).toEqual([notes.tricky.id]);
    expect(await search({ search: '"quoted"' })).toEqual([notes.tricky.id]);
    expect(await search({ search: 'stars*' })).toEqual([notes.tricky.id]); // no prefix search: the word "stars"
    expect(await search({ search: '*' })).toEqual([]);
    expect(await search({ search: 'minus' })).toEqual([notes.tricky.id]);
  });

  it('invalid search values are refused with invalid:', async () => {
    const client = await connect();
    expect((await client.req('bad1', { search: 5 })).closed?.[2]).toMatch(/^invalid: /);
    expect((await client.req('bad2', { search: 'x'.repeat(2000) })).closed?.[2]).toMatch(/^invalid: /);
  });

  it('6. live: a new event is delivered when its content holds every search word (see nips/50.md)', async () => {
    const reader = await connect();
    const writer = await connect();
    const keys = newKeys();
    await reader.req('live', { search: 'Zebra crossing', authors: [keys.pubkey] });
    const miss = signed(keys, { content: 'a zebra alone' });
    const hit = signed(keys, { content: 'The ZEBRA at the crossing' });
    await writer.publish(miss);
    await writer.publish(hit);
    const frame = await reader.next((f) => f[0] === 'EVENT' && f[1] === 'live');
    expect((frame[2] as NostrEvent).id).toBe(hit.id);
    expect(reader.frames.filter((f) => f[0] === 'EVENT' && f[1] === 'live')).toHaveLength(1);
  });

  it('COUNT with search counts every match', async () => {
    const client = await connect();
    client.send(['COUNT', 'c', { search: 'purple' }]);
    expect((await client.next((f) => f[0] === 'COUNT'))[2]).toEqual({ count: 4 });
  });
});

describe('NIP-50 disabled (search.enabled: false)', () => {
  it('5. search is refused with unsupported: and 50 is not advertised', async () => {
    const off = await startTestRelay({ search: { enabled: false } });
    try {
      const client = await connect(off.url);
      const { closed } = await client.req('s', { search: 'purple' });
      expect(closed?.[2]).toMatch(/^unsupported: /);
      client.send(['COUNT', 'c', { search: 'purple' }]);
      expect((await client.next((f) => f[0] === 'CLOSED' && f[1] === 'c'))[2]).toMatch(/^unsupported: /);
      const info = (await (await fetch(off.url.replace('ws', 'http'), { headers: { accept: 'application/nostr+json' } })).json()) as {
        supported_nips: number[];
      };
      expect(info.supported_nips).not.toContain(50);
      expect(info.supported_nips).toContain(45);
    } finally {
      await off.cleanup();
    }
  });
});
