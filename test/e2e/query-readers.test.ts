/**
 * Query reader threads (query.readers): NIP-50 searches, COUNTs, NEG-OPEN sets and large-limit REQs are
 * answered from a reader thread with its own read-only connection, everything else inline. What must
 * hold when a REQ's answer comes later: no event falls between the stored answer and live delivery
 * and none arrives twice; a CLOSE or a replacing REQ before the answer suppresses it; a disconnect
 * drops it; shutdown waits for it. Messages sent together (one write) reach the relay in one read,
 * so it handles them all before a reader's answer can be delivered: the orders asserted below do not
 * depend on timing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { RawClient, type Frame } from '../helpers/client.js';
import { trackConnections } from '../helpers/connections.js';
import { newKeys, now, signed } from '../helpers/events.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

const alice = newKeys();
const t = now() - 1000;
const words = ['alpha', 'bravo', 'charlie'];
const stored = words.flatMap((word, w) =>
  Array.from({ length: 5 }, (_, i) => signed(alice, { created_at: t + w * 10 + i, content: `${word} note ${i}` })),
);
const profile = signed(alice, { kind: 0, created_at: t, content: '{"name":"alice"}' });

/** Frames for `subId` received from index `from` on. */
const framesOf = (client: RawClient, subId: string, from = 0): Frame[] => client.frames.slice(from).filter((f) => f[1] === subId);

/** Waits until the single reader has answered everything sent before: a COUNT queues behind it. */
async function fence(client: RawClient, name: string): Promise<void> {
  client.send(['COUNT', name, { kinds: [0] }]);
  await client.next((f) => f[0] === 'COUNT' && f[1] === name);
}

describe('query readers (query.readers: 1)', () => {
  let relay: TestRelay;
  const connect = trackConnections(() => relay.url);

  beforeAll(async () => {
    relay = await startTestRelay({ query: { readers: 1 } });
    const client = await RawClient.connect(relay.url);
    for (const event of [...stored, profile]) expect((await client.publish(event))[2]).toBe(true);
    client.socket.terminate();
  });
  afterAll(async () => {
    await relay?.cleanup();
  });

  it('a COUNT and a large-limit REQ go to the reader: a cheap REQ sent after them is answered first', async () => {
    const client = await connect();
    client.sendTogether(
      ['COUNT', 'c', { kinds: [1] }],
      ['REQ', 'big', { kinds: [1], limit: 500 }],
      ['REQ', 'small', { kinds: [0], limit: 10 }],
    );
    await client.next((f) => f[0] === 'COUNT' && f[1] === 'c');
    await client.next((f) => f[0] === 'EOSE' && f[1] === 'big');
    const order = client.frames.filter((f) => f[0] === 'COUNT' || f[0] === 'EOSE').map((f) => f[1]);
    expect(order).toEqual(['small', 'c', 'big']);
    expect(client.frames.find((f) => f[0] === 'COUNT')![2]).toEqual({ count: stored.length });
    expect(framesOf(client, 'big').filter((f) => f[0] === 'EVENT')).toHaveLength(stored.length);
  });

  it('a reader answer (frames built as bytes on the reader) equals the inline one, multi-byte text and subscription id included', async () => {
    const client = await connect();
    const texts = ['naïve café', '🌍🚀 emoji', '日本語のノート', 'quotes " and \\ backslash\ttab\nline', 'ÿ Latin-1 edge'];
    const wide = texts.map((content, i) => signed(alice, { kind: 30_001 + i, created_at: t + 100 + i, content, tags: [['d', content]] }));
    for (const event of wide) expect((await client.publish(event))[2]).toBe(true);
    const subId = 'wide 🌍 "sub" ü';
    client.sendTogether(
      ['REQ', subId, { kinds: wide.map((e) => e.kind), limit: 500 }],
      ['REQ', 'inline', { kinds: wide.map((e) => e.kind), limit: 10 }],
    );
    await client.next((f) => f[0] === 'EOSE' && f[1] === subId);
    const events = (id: string): unknown[] =>
      framesOf(client, id)
        .filter((f) => f[0] === 'EVENT')
        .map((f) => f[2]);
    expect(client.frames.filter((f) => f[0] === 'EOSE').map((f) => f[1])).toEqual(['inline', subId]);
    expect(events(subId)).toEqual([...wide].reverse());
    expect(events(subId)).toEqual(events('inline'));
  });

  it('a profile asked without a limit is answered inline: the store holds one kind 0 per author', async () => {
    const client = await connect();
    client.sendTogether(['REQ', 'big', { kinds: [1], limit: 500 }], ['REQ', 'profile', { kinds: [0], authors: [alice.pubkey] }]);
    await client.next((f) => f[0] === 'EOSE' && f[1] === 'big');
    expect(client.frames.filter((f) => f[0] === 'EOSE').map((f) => f[1])).toEqual(['profile', 'big']);
    expect(
      framesOf(client, 'profile')
        .filter((f) => f[0] === 'EVENT')
        .map((f) => f[2]),
    ).toEqual([profile]);
  });

  it('a REQ without limit counts as default_limit (unset: max_limit, 500), so it goes to the reader too', async () => {
    const client = await connect();
    client.sendTogether(['REQ', 'whole', { kinds: [1] }], ['REQ', 'small', { kinds: [0], limit: 10 }]);
    await client.next((f) => f[0] === 'EOSE' && f[1] === 'whole');
    expect(client.frames.filter((f) => f[0] === 'EOSE').map((f) => f[1])).toEqual(['small', 'whole']);
    expect(framesOf(client, 'whole').filter((f) => f[0] === 'EVENT')).toHaveLength(stored.length);
  });

  it('an event written while a search is under way arrives exactly once, before or after EOSE', async () => {
    const client = await connect();
    const seen = { beforeEose: 0, afterEose: 0 };
    for (let round = 0; round < 16; round++) {
      const word = `fresh${round}x`;
      const event = signed(alice, { content: `a ${word} arrival` });
      const subId = `s${round}`;
      const from = client.frames.length;
      // The REQ is registered before the event is written (its signature is checked on another thread);
      // the reader reads either before or after the commit. In odd rounds COUNTs queued ahead keep the
      // reader busy, so it mostly reads after the commit: the event is then both stored and held live.
      const busy =
        round % 2 === 1 ? Array.from({ length: 60 }, (_, i) => ['COUNT', `b${round}.${i}`, { kinds: [1], '#p': [alice.pubkey] }, {}]) : [];
      client.sendTogether(...busy, ['EVENT', event], ['REQ', subId, { search: word }]);
      await client.next((f) => f[0] === 'OK' && f[1] === event.id);
      await client.next((f) => f[0] === 'EOSE' && f[1] === subId);
      await fence(client, `f${round}`);
      const frames = framesOf(client, subId, from);
      expect(frames.filter((f) => f[0] === 'EVENT').map((f) => (f[2] as NostrEvent).id)).toEqual([event.id]);
      expect(frames.filter((f) => f[0] === 'EOSE')).toHaveLength(1);
      if (frames[0]![0] === 'EVENT') seen.beforeEose++;
      else seen.afterEose++;
      client.send(['CLOSE', subId]);
    }
    console.log(`event before EOSE in ${seen.beforeEose} rounds, after in ${seen.afterEose}`);
  });

  it('an event published from another connection during a search is delivered once', async () => {
    const reader = await connect();
    const writer = await connect();
    for (let round = 0; round < 6; round++) {
      const word = `other${round}y`;
      const event = signed(alice, { content: `${word} from elsewhere` });
      const subId = `o${round}`;
      const from = reader.frames.length;
      reader.send(['REQ', subId, { search: word }]);
      expect((await writer.publish(event))[2]).toBe(true);
      await reader.next((f) => f[0] === 'EOSE' && f[1] === subId);
      await reader.next((f) => f[0] === 'EVENT' && f[1] === subId);
      await fence(reader, `g${round}`);
      expect(framesOf(reader, subId, from).filter((f) => f[0] === 'EVENT')).toHaveLength(1);
    }
  });

  it('CLOSE before the answer: no EVENT or EOSE for that id, and no live events either', async () => {
    const client = await connect();
    client.sendTogether(['REQ', 'gone', { search: 'alpha' }], ['CLOSE', 'gone']);
    await fence(client, 'f');
    const late = signed(alice, { content: 'alpha arrives late' });
    expect((await client.publish(late))[2]).toBe(true);
    await fence(client, 'f2');
    expect(framesOf(client, 'gone')).toEqual([]);
  });

  it('a REQ replacing one under way: only the new answer, one EOSE', async () => {
    const client = await connect();
    client.sendTogether(['REQ', 'r', { search: 'bravo' }], ['REQ', 'r', { search: 'charlie' }]);
    await client.next((f) => f[0] === 'EOSE' && f[1] === 'r');
    await fence(client, 'f');
    const frames = framesOf(client, 'r');
    expect(frames.filter((f) => f[0] === 'EOSE')).toHaveLength(1);
    const contents = frames.filter((f) => f[0] === 'EVENT').map((f) => (f[2] as NostrEvent).content);
    expect(contents).toHaveLength(5);
    for (const content of contents) expect(content).toMatch(/^charlie/);
  });

  it('a replacing inline REQ is not followed by the stale reader answer', async () => {
    const client = await connect();
    client.sendTogether(['REQ', 'r2', { search: 'bravo' }], ['REQ', 'r2', { kinds: [0] }]);
    await fence(client, 'f');
    const frames = framesOf(client, 'r2');
    expect(frames.map((f) => f[0])).toEqual(['EVENT', 'EOSE']);
    expect((frames[0]![2] as NostrEvent).id).toBe(profile.id);
  });

  it('a disconnect with an answer under way leaves the relay serving others', async () => {
    const quitter = await connect();
    quitter.sendTogether(['REQ', 'q', { search: 'alpha' }], ['COUNT', 'qc', { kinds: [1] }]);
    quitter.socket.terminate();
    const other = await connect();
    const { events } = await other.req('after', { search: 'charlie' });
    expect(events).toHaveLength(5);
  });

  it('NEG-OPEN then NEG-CLOSE before the set is read: no NEG-MSG, no NEG-ERR', async () => {
    const client = await connect();
    client.sendTogether(['NEG-OPEN', 'n', { kinds: [1] }, '6100000200'], ['NEG-CLOSE', 'n']);
    await fence(client, 'f');
    expect(framesOf(client, 'n')).toEqual([]);
    client.send(['NEG-OPEN', 'n2', { kinds: [1] }, '6100000200']);
    const reply = await client.next((f) => f[1] === 'n2');
    expect(reply[0]).toBe('NEG-MSG');
  });
});

describe('query readers and shutdown', () => {
  it('stop() waits for a search under way: its EOSE is sent before the connection closes', async () => {
    const relay = await startTestRelay({ query: { readers: 1 } });
    try {
      const client = await RawClient.connect(relay.url);
      expect((await client.publish(stored[0]!))[2]).toBe(true);
      client.sendTogether(['REQ', 'long', { search: 'alpha' }], ['REQ', 'cheap', { kinds: [0] }]);
      await client.next((f) => f[0] === 'EOSE' && f[1] === 'cheap');
      const closed = client.closed();
      await relay.stop();
      await closed;
      expect(framesOf(client, 'long').map((f) => f[0])).toEqual(['EVENT', 'EOSE']);
    } finally {
      await relay.cleanup();
    }
  });
});

describe('query.readers: 0', () => {
  it('answers everything inline, in the order asked', async () => {
    const relay = await startTestRelay({ query: { readers: 0 } });
    try {
      const client = await RawClient.connect(relay.url);
      expect((await client.publish(profile))[2]).toBe(true);
      client.sendTogether(['COUNT', 'c', { kinds: [0] }], ['REQ', 'big', { limit: 500 }], ['REQ', 'small', { kinds: [0] }]);
      await client.next((f) => f[0] === 'EOSE' && f[1] === 'small');
      expect(client.frames.filter((f) => f[0] === 'COUNT' || f[0] === 'EOSE').map((f) => f[1])).toEqual(['c', 'big', 'small']);
      client.socket.terminate();
    } finally {
      await relay.cleanup();
    }
  });
});
