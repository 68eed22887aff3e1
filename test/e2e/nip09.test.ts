/**
 * NIP-09 deletion requests end to end: the real relay, real sockets, real SQLite.
 * One `it` per item 1–13 of /work/shared/NIPS-CHECKLIST.md ("NIP-09"), with our decision for item 9:
 * a deletion that arrives before its target blocks the target (`OK false "blocked: deleted by its author"`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import type { RawClient } from '../helpers/client.js';
import { newKeys, now, signed, type Keys } from '../helpers/events.js';
import { trackConnections } from '../helpers/connections.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

const BLOCKED = 'blocked: deleted by its author';

let relay: TestRelay;
beforeAll(async () => {
  relay = await startTestRelay();
});
afterAll(async () => {
  await relay?.cleanup();
});

const connect = trackConnections(() => relay.url);

/** Publishes and returns [accepted, message] of the OK answering THIS send (events are re-sent here). */
async function publish(client: RawClient, event: NostrEvent): Promise<[boolean, string]> {
  const ok = await client.publish(event);
  return [ok[2] as boolean, ok[3] as string];
}
let sub = 0;
async function ids(client: RawClient, filter: Record<string, unknown>): Promise<string[]> {
  const { events, closed } = await client.req(`q${sub++}`, filter);
  expect(closed).toBeUndefined();
  return events.map((event: NostrEvent) => event.id);
}
const deletion = (keys: Keys, tags: string[][], created_at = now()): NostrEvent => signed(keys, { kind: 5, tags, created_at, content: '' });
const article = (keys: Keys, created_at: number, d = 'post', kind = 30023): NostrEvent =>
  signed(keys, { kind, created_at, tags: [['d', d]], content: `version ${created_at}` });

describe('NIP-09 deletion requests', () => {
  it('1. own kind 1, then kind 5 ["e", id] → OK true; {ids:[id]} → no events', async () => {
    const client = await connect();
    const alice = newKeys();
    const note = signed(alice);
    expect(await publish(client, note)).toEqual([true, '']);
    expect(await ids(client, { ids: [note.id] })).toEqual([note.id]);
    expect((await publish(client, deletion(alice, [['e', note.id]])))[0]).toBe(true);
    expect(await ids(client, { ids: [note.id] })).toEqual([]);
  });

  it('2. the kind 5 itself stays queryable', async () => {
    const client = await connect();
    const alice = newKeys();
    const note = signed(alice);
    const del = deletion(alice, [['e', note.id]]);
    await publish(client, note);
    await publish(client, del);
    expect(await ids(client, { kinds: [5], authors: [alice.pubkey] })).toEqual([del.id]);
  });

  it('3. a deletion by another pubkey (e or a) leaves the target served; the kind 5 is stored but ignored', async () => {
    const client = await connect();
    const [alice, mallory] = [newKeys(), newKeys()];
    const note = signed(alice);
    const post = article(alice, now() - 60);
    await publish(client, note);
    await publish(client, post);
    const byE = deletion(mallory, [['e', note.id]]);
    const byA = deletion(mallory, [['a', `30023:${alice.pubkey}:post`]]);
    expect(await publish(client, byE)).toEqual([true, '']);
    expect(await publish(client, byA)).toEqual([true, '']);
    expect(await ids(client, { ids: [note.id, post.id] })).toHaveLength(2);
  });

  it('4. a tag deletes versions up to the deletion’s created_at; a newer version survives', async () => {
    const client = await connect();
    const alice = newKeys();
    const t = now();
    // −5 min version stored, deletion at −3 min → gone.
    const old = article(alice, t - 300);
    await publish(client, old);
    await publish(client, deletion(alice, [['a', `30023:${alice.pubkey}:post`]], t - 180));
    expect(await ids(client, { kinds: [30023], authors: [alice.pubkey] })).toEqual([]);
    // −1 min version → accepted and served.
    const newer = article(alice, t - 60);
    expect(await publish(client, newer)).toEqual([true, '']);
    expect(await ids(client, { kinds: [30023], authors: [alice.pubkey] })).toEqual([newer.id]);
    // A stored version newer than a later-arriving deletion is not touched either.
    await publish(client, deletion(alice, [['a', `30023:${alice.pubkey}:post`]], t - 120));
    expect(await ids(client, { kinds: [30023], authors: [alice.pubkey] })).toEqual([newer.id]);
  });

  it('5. a tag bound: same d of another author, another d and another kind are not deleted', async () => {
    const client = await connect();
    const [alice, bob] = [newKeys(), newKeys()];
    const t = now() - 100;
    const target = article(alice, t);
    const otherD = article(alice, t, 'other');
    const otherKind = article(alice, t, 'post', 30024);
    const otherAuthor = article(bob, t);
    for (const event of [target, otherD, otherKind, otherAuthor]) await publish(client, event);
    await publish(client, deletion(alice, [['a', `30023:${alice.pubkey}:post`]]));
    const left = await ids(client, { kinds: [30023, 30024], authors: [alice.pubkey, bob.pubkey] });
    expect(left.sort()).toEqual([otherD.id, otherKind.id, otherAuthor.id].sort());
  });

  it('6. a tag for a replaceable kind: ["a","10001:<pk>:"] deletes the 10001', async () => {
    const client = await connect();
    const alice = newKeys();
    const pins = signed(alice, { kind: 10001, created_at: now() - 10, tags: [['e', 'f'.repeat(64)]] });
    await publish(client, pins);
    expect(await ids(client, { kinds: [10001], authors: [alice.pubkey] })).toEqual([pins.id]);
    await publish(client, deletion(alice, [['a', `10001:${alice.pubkey}:`]]));
    expect(await ids(client, { kinds: [10001], authors: [alice.pubkey] })).toEqual([]);
  });

  it('7. re-publishing a deleted event → OK false "blocked: deleted by its author"', async () => {
    const client = await connect();
    const alice = newKeys();
    const note = signed(alice);
    await publish(client, note);
    await publish(client, deletion(alice, [['e', note.id]]));
    expect(await publish(client, note)).toEqual([false, BLOCKED]);
    // From another connection too, and it stays deleted.
    const other = await connect();
    expect(await publish(other, note)).toEqual([false, BLOCKED]);
    expect(await ids(other, { ids: [note.id] })).toEqual([]);
  });

  it('8. after an a deletion: an older version → OK false blocked; a newer version → OK true', async () => {
    const client = await connect();
    const alice = newKeys();
    const t = now();
    await publish(client, article(alice, t - 300));
    await publish(client, deletion(alice, [['a', `30023:${alice.pubkey}:post`]], t - 180));
    expect(await publish(client, article(alice, t - 240))).toEqual([false, BLOCKED]);
    expect(await publish(client, article(alice, t - 180))).toEqual([false, BLOCKED]);
    const newer = article(alice, t - 60);
    expect(await publish(client, newer)).toEqual([true, '']);
    expect(await ids(client, { kinds: [30023], authors: [alice.pubkey] })).toEqual([newer.id]);
  });

  it('9. a deletion arriving before its target blocks the target (our decision)', async () => {
    const client = await connect();
    const [alice, mallory] = [newKeys(), newKeys()];
    const note = signed(alice, { content: 'published late' });
    expect(await publish(client, deletion(alice, [['e', note.id]]))).toEqual([true, '']);
    expect(await publish(client, note)).toEqual([false, BLOCKED]);
    expect(await ids(client, { ids: [note.id] })).toEqual([]);
    // Another author's deletion arriving first blocks nothing.
    const bobsNote = signed(newKeys(), { content: 'not mallory’s' });
    await publish(client, deletion(mallory, [['e', bobsNote.id]]));
    expect(await publish(client, bobsNote)).toEqual([true, '']);
  });

  it('10. duplicate e tags are fine and every target is deleted', async () => {
    const client = await connect();
    const alice = newKeys();
    const notes = [signed(alice, { content: 'a' }), signed(alice, { content: 'b' }), signed(alice, { content: 'c' })];
    for (const note of notes) await publish(client, note);
    const del = deletion(alice, [
      ['e', notes[0]!.id],
      ['e', notes[0]!.id],
      ['e', notes[1]!.id],
      ['e', notes[2]!.id],
    ]);
    expect(await publish(client, del)).toEqual([true, '']);
    expect(await ids(client, { ids: notes.map((n) => n.id) })).toEqual([]);
  });

  it('11. a deletion of a deletion has no effect on the original', async () => {
    const client = await connect();
    const alice = newKeys();
    const note = signed(alice);
    const first = deletion(alice, [['e', note.id]], now() - 5);
    await publish(client, note);
    await publish(client, first);
    const second = deletion(alice, [['e', first.id]]);
    expect(await publish(client, second)).toEqual([true, '']);
    expect(await ids(client, { kinds: [5], authors: [alice.pubkey] })).toHaveLength(2);
    expect(await ids(client, { ids: [note.id] })).toEqual([]);
    expect(await publish(client, note)).toEqual([false, BLOCKED]);
  });

  it('12. a gift wrap (1059) is deleted by its p-tagged recipient; a non-recipient cannot', async () => {
    const client = await connect();
    const [wrapper, recipient, stranger] = [newKeys(), newKeys(), newKeys()];
    const wrap = signed(wrapper, { kind: 1059, tags: [['p', recipient.pubkey]], content: 'sealed' });
    expect(await publish(client, wrap)).toEqual([true, '']);
    // Checked on the store: reading 1059 may need AUTH as the recipient (read rules, src/policy/read.ts).
    const stored = (): boolean => relay.relay.store.has(wrap.id);
    expect((await publish(client, deletion(stranger, [['e', wrap.id]])))[0]).toBe(true);
    expect(stored()).toBe(true);
    expect((await publish(client, deletion(recipient, [['e', wrap.id]])))[0]).toBe(true);
    expect(stored()).toBe(false);
    expect(await publish(client, wrap)).toEqual([false, BLOCKED]);
  });

  it('13. k tags are not required (absent or present)', async () => {
    const client = await connect();
    const alice = newKeys();
    const [a, b] = [signed(alice, { content: 'without k' }), signed(alice, { content: 'with k' })];
    await publish(client, a);
    await publish(client, b);
    expect(await publish(client, deletion(alice, [['e', a.id]]))).toEqual([true, '']);
    expect(
      await publish(
        client,
        deletion(alice, [
          ['e', b.id],
          ['k', '1'],
        ]),
      ),
    ).toEqual([true, '']);
    expect(await ids(client, { ids: [a.id, b.id] })).toEqual([]);
  });
});
