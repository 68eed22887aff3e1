/**
 * storage.writer_thread (src/store/writer-thread.ts, src/relay/writer.ts): events are written on a thread
 * of their own; OK comes after the commit, live delivery after the relay hears of it. A REQ answered while
 * a batch is being committed may already read its events from the database: they must then not be sent to
 * that subscription a second time when the commit is reported.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, type Frame } from '../helpers/client.js';
import { newKeys, signed } from '../helpers/events.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

const EVENTS = 400;
const SUBSCRIPTIONS = 40;

describe.each([true, false])('storage.writer_thread: %s', (writerThread) => {
  let relay: TestRelay;
  beforeAll(async () => {
    // The reader asks for ~5.6 MB and shares this process's event loop with the relay, so on a loaded machine
    // it can fall behind by more than the default outbound limit; slow readers are backpressure.test.ts's subject.
    relay = await startTestRelay({
      storage: { writer_thread: writerThread },
      limits: { max_subscriptions: SUBSCRIPTIONS + 5, max_outbound_bytes: 64 * 1024 * 1024 },
    });
  });
  afterAll(async () => {
    await relay.cleanup();
  });

  it('subscriptions opened while events are being written get each event exactly once, stored or live', async () => {
    const keys = newKeys();
    const tag = `race-${writerThread}`;
    const events = Array.from({ length: EVENTS }, (_, i) =>
      signed(keys, { kind: 1, content: `race ${i}`, tags: [['t', tag]], created_at: 1_700_000_000 + i }),
    );
    const publisher = await RawClient.connect(relay.url);
    const reader = await RawClient.connect(relay.url);
    const oks = Promise.all(events.map((event) => publisher.next((f) => f[0] === 'OK' && f[1] === event.id, 20_000)));
    // Published in bursts while REQs arrive between them, so REQs are answered while batches are under way.
    for (let i = 0; i < SUBSCRIPTIONS; i++) {
      publisher.sendTogether(
        ...events.slice((i * EVENTS) / SUBSCRIPTIONS, ((i + 1) * EVENTS) / SUBSCRIPTIONS).map((event) => ['EVENT', event]),
      );
      // Limits that hold every event: under query.reader_min_limit (500) answered inline, at it on a reader thread.
      reader.send(['REQ', `s${i}`, { kinds: [1], '#t': [tag], limit: i % 2 === 0 ? EVENTS + 10 : 500 }]);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const answers = await oks;
    expect(answers.every((ok) => ok[2] === true)).toBe(true);
    // Every subscription is open before the last OK, so each must end up with all events.
    await reader.next((f) => f[0] === 'EOSE' && f[1] === `s${SUBSCRIPTIONS - 1}`, 20_000);
    const received = (): Map<string, string[]> => {
      const bySub = new Map<string, string[]>();
      for (const frame of reader.frames as Frame[]) {
        if (frame[0] !== 'EVENT') continue;
        const list = bySub.get(frame[1] as string) ?? [];
        list.push((frame[2] as { id: string }).id);
        bySub.set(frame[1] as string, list);
      }
      return bySub;
    };
    const deadline = Date.now() + 20_000;
    while ([...received().values()].reduce((n, ids) => n + new Set(ids).size, 0) < EVENTS * SUBSCRIPTIONS && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const bySub = received();
    expect(bySub.size).toBe(SUBSCRIPTIONS);
    for (const [subId, ids] of bySub) {
      expect(new Set(ids).size, subId).toBe(EVENTS);
      expect(ids.length, `${subId} got an event twice`).toBe(EVENTS);
    }
    await publisher.close();
    await reader.close();
  });
});
