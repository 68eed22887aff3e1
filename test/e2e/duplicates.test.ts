/**
 * The duplicate fast path (src/relay/known-events.ts, ingest.ts decideKnown): the very frame of a
 * stored event is answered `duplicate:` without the id hash — and nothing else is.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeId } from '../../src/event/validate.js';
import { frameDigest, KNOWN_EVENTS_CAPACITY, KnownEvents } from '../../src/relay/known-events.js';
import { RawClient, type Frame } from '../helpers/client.js';
import { newKeys, signed } from '../helpers/events.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

let relay: TestRelay;
beforeAll(async () => {
  relay = await startTestRelay();
});
afterAll(async () => {
  await relay.stop();
});

const connect = (): Promise<RawClient> => RawClient.connect(relay.url);

/** Sends a raw frame and waits for the OK that answers it. */
async function sendFrame(client: RawClient, frame: string, id: string): Promise<Frame> {
  const start = client.frames.length;
  client.send(frame);
  return client.next((f) => f[0] === 'OK' && f[1] === id && client.frames.indexOf(f) >= start);
}

describe('duplicates', () => {
  it('the same frame again, on this or another connection → OK true duplicate:', async () => {
    const event = signed(newKeys(), { content: 'fast duplicate' });
    const frame = JSON.stringify(['EVENT', event]);
    const client = await connect();
    expect(await sendFrame(client, frame, event.id)).toEqual(['OK', event.id, true, '']);
    for (let i = 0; i < 3; i++)
      expect(await sendFrame(client, frame, event.id)).toEqual(['OK', event.id, true, 'duplicate: already have this event']);
    expect(await sendFrame(await connect(), frame, event.id)).toEqual(['OK', event.id, true, 'duplicate: already have this event']);
  });

  it('a forged event reusing a stored id (other content, same id and sig) is invalid:, never duplicate:', async () => {
    const event = signed(newKeys(), { content: 'the real one' });
    const client = await connect();
    const frame = JSON.stringify(['EVENT', event]);
    await sendFrame(client, frame, event.id);
    await sendFrame(client, frame, event.id); // the real frame is now known
    const forged = { ...event, content: 'the forged one' };
    expect(computeId(forged)).not.toBe(event.id);
    const answer = await sendFrame(client, JSON.stringify(['EVENT', forged]), event.id);
    expect(answer.slice(0, 3)).toEqual(['OK', event.id, false]);
    expect(answer[3]).toMatch(/^invalid: /);
    // Same event, other bytes (whitespace, field order): the full path, still a duplicate.
    const reordered = `["EVENT", ${JSON.stringify(Object.fromEntries(Object.entries(event).reverse()))}]`;
    expect(await sendFrame(client, reordered, event.id)).toEqual(['OK', event.id, true, 'duplicate: already have this event']);
  });

  it('a known frame whose event was deleted since (NIP-09) → blocked:, not duplicate:', async () => {
    const keys = newKeys();
    const event = signed(keys, { content: 'to be deleted' });
    const frame = JSON.stringify(['EVENT', event]);
    const client = await connect();
    await sendFrame(client, frame, event.id);
    expect((await sendFrame(client, frame, event.id))[3]).toMatch(/^duplicate: /);
    const deletion = signed(keys, { kind: 5, tags: [['e', event.id]], content: '' });
    expect(await client.publish(deletion)).toEqual(['OK', deletion.id, true, '']);
    expect(await sendFrame(client, frame, event.id)).toEqual(['OK', event.id, false, 'blocked: deleted by its author']);
  });

  it('pipelined new and known frames each get their own answer', async () => {
    const keys = newKeys();
    const known = Array.from({ length: 5 }, (_, i) => signed(keys, { content: `known ${i}` }));
    const client = await connect();
    for (const event of known) await sendFrame(client, JSON.stringify(['EVENT', event]), event.id);
    const fresh = Array.from({ length: 5 }, (_, i) => signed(keys, { content: `fresh ${i}` }));
    const order = fresh.flatMap((event, i) => [event, known[i]!]);
    const start = client.frames.length;
    for (const event of order) client.send(JSON.stringify(['EVENT', event]));
    // As on the full path, a duplicate's answer may overtake the answer of a write still under way.
    const answers = await Promise.all(
      order.map((event) => client.next((f) => f[0] === 'OK' && f[1] === event.id && client.frames.indexOf(f) >= start)),
    );
    expect(answers.map((f) => f[3])).toEqual(order.map((_, i) => (i % 2 === 0 ? '' : 'duplicate: already have this event')));
    expect(client.frames.slice(start).filter((f) => f[0] === 'OK')).toHaveLength(order.length);
  });
});

describe('KnownEvents', () => {
  it('holds at most its capacity, the oldest dropped first', () => {
    const known = new KnownEvents(3);
    const digests = Array.from({ length: 8 }, (_, i) => frameDigest(`["EVENT",{"n":${i}}]`));
    for (const digest of digests) known.remember(digest);
    expect(known.size).toBe(3);
    expect(digests.map((digest) => known.has(digest))).toEqual([false, false, false, false, false, true, true, true]);
  });

  it('the default capacity bounds the process: N + k frames leave N', () => {
    const known = new KnownEvents();
    for (let i = 0; i < KNOWN_EVENTS_CAPACITY + 5_000; i++) known.remember(`frame ${i}`);
    expect(known.size).toBe(KNOWN_EVENTS_CAPACITY);
    expect(known.has('frame 4999')).toBe(false);
    expect(known.has('frame 5000')).toBe(true);
  });

  it('remembering a known digest again takes no second slot; forget drops it', () => {
    const known = new KnownEvents(2);
    known.remember('a');
    known.remember('a');
    known.remember('b');
    expect([known.has('a'), known.has('b'), known.size]).toEqual([true, true, 2]);
    known.forget('a');
    expect([known.has('a'), known.size]).toEqual([false, 1]);
  });

  it('keys a frame by 32 bytes of sha256, whatever its length', () => {
    const frame = JSON.stringify(['EVENT', signed(newKeys(), { content: 'x'.repeat(4000) })]);
    expect(frameDigest(frame)).toHaveLength(32);
    expect(Buffer.from(frameDigest(frame), 'latin1')).toEqual(createHash('sha256').update(frame).digest());
    expect(frameDigest(`${frame} `)).not.toBe(frameDigest(frame));
  });
});
