import { describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { BatchWriter } from '../../src/relay/writer.js';
import type { EventToWrite, WriteOutcome } from '../../src/store/types.js';

const item = (n: number): EventToWrite => {
  const event: NostrEvent = {
    id: n.toString(16).padStart(64, '0'),
    pubkey: 'b'.repeat(64),
    created_at: n,
    kind: 1,
    tags: [],
    content: `#${n}`,
    sig: 'c'.repeat(128),
  };
  return { event, json: JSON.stringify(event) };
};

const outcomeFor = (it: EventToWrite): WriteOutcome => {
  const statuses = ['stored', 'duplicate', 'older'] as const;
  return { status: statuses[it.event.created_at % 3]! };
};

/** A fake store that records each batch; `failOn(i)` makes the i-th writeBatch call (0-based) throw. */
class FakeStore {
  readonly batches: EventToWrite[][] = [];
  constructor(private readonly failOn: (call: number) => boolean = () => false) {}
  writeBatch(items: EventToWrite[]): WriteOutcome[] {
    const call = this.batches.length;
    this.batches.push([...items]);
    if (this.failOn(call)) throw new Error(`disk full (call ${call})`);
    return items.map(outcomeFor);
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('BatchWriter', () => {
  it('many writes in one tick → one writeBatch call, outcomes in order', async () => {
    const store = new FakeStore();
    const writer = new BatchWriter(store, () => {});
    const items = Array.from({ length: 50 }, (_, i) => item(i));
    const promises = items.map((it) => writer.write(it));
    expect(writer.pending).toBe(50);
    expect(store.batches).toHaveLength(0); // nothing is written synchronously
    const outcomes = await Promise.all(promises);
    expect(store.batches).toHaveLength(1);
    expect(store.batches[0]).toEqual(items);
    expect(outcomes).toEqual(items.map(outcomeFor));
    expect(writer.pending).toBe(0);
  });

  it('writes in different ticks go in different batches', async () => {
    const store = new FakeStore();
    const writer = new BatchWriter(store, () => {});
    const first = [writer.write(item(1)), writer.write(item(2))];
    await Promise.all(first);
    const second = [writer.write(item(3))];
    await Promise.all(second);
    expect(store.batches.map((b) => b.map((i) => i.event.created_at))).toEqual([[1, 2], [3]]);
  });

  it('splits a large queue into batches of at most maxBatch, in order', async () => {
    const store = new FakeStore();
    const writer = new BatchWriter(store, () => {}, 10);
    const items = Array.from({ length: 25 }, (_, i) => item(i));
    const outcomes = await Promise.all(items.map((it) => writer.write(it)));
    expect(store.batches.map((b) => b.length)).toEqual([10, 10, 5]);
    expect(store.batches.flat()).toEqual(items);
    expect(outcomes).toEqual(items.map(outcomeFor));
  });

  it('onCommitted runs for every item, with its outcome, before any write promise resolves', async () => {
    const log: string[] = [];
    const store = new FakeStore();
    const writer = new BatchWriter(store, (it, outcome) => {
      expect(outcome).toEqual(outcomeFor(it));
      log.push(`committed ${it.event.created_at}`);
    });
    const promises = [1, 2, 3].map((n) => writer.write(item(n)).then(() => log.push(`resolved ${n}`)));
    await Promise.all(promises);
    expect(log).toEqual(['committed 1', 'committed 2', 'committed 3', 'resolved 1', 'resolved 2', 'resolved 3']);
  });

  it('a write issued from onCommitted is still committed', async () => {
    const store = new FakeStore();
    let extra: Promise<WriteOutcome> | undefined;
    const writer = new BatchWriter(store, (it) => {
      if (it.event.created_at === 1 && extra === undefined) extra = writer.write(item(100));
    });
    await writer.write(item(1));
    expect(extra).toBeDefined();
    await expect(extra).resolves.toEqual(outcomeFor(item(100)));
    await writer.drain();
    expect(store.batches.flat().map((i) => i.event.created_at)).toEqual([1, 100]);
  });

  it('drain resolves at once when idle, and only after the commit when writes are queued', async () => {
    const store = new FakeStore();
    const committed: number[] = [];
    const writer = new BatchWriter(store, (it) => committed.push(it.event.created_at));
    await writer.drain();
    expect(store.batches).toHaveLength(0);

    const promises = [writer.write(item(1)), writer.write(item(2))];
    const drained = writer.drain();
    let done = false;
    void drained.then(() => (done = true));
    await Promise.resolve();
    expect(done).toBe(false);
    await drained;
    expect(store.batches).toHaveLength(1);
    expect(committed).toEqual([1, 2]);
    await Promise.all(promises);

    // and again for a second round
    void writer.write(item(3));
    await writer.drain();
    expect(committed).toEqual([1, 2, 3]);
    expect(writer.pending).toBe(0);
  });

  it('a throwing store rejects every pending promise of that batch, calls no onCommitted, and the writer recovers', async () => {
    const store = new FakeStore((call) => call === 0);
    const committed: number[] = [];
    const writer = new BatchWriter(store, (it) => committed.push(it.event.created_at));
    const results = await Promise.allSettled([1, 2, 3].map((n) => writer.write(item(n))));
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(Error);
      expect(String((r as PromiseRejectedResult).reason)).toContain('disk full');
    }
    expect(committed).toEqual([]);
    await writer.drain(); // must not hang after a failure

    await expect(writer.write(item(4))).resolves.toEqual(outcomeFor(item(4)));
    expect(committed).toEqual([4]);
  });

  it('a failure in one batch does not affect the other batches of the same flush', async () => {
    const store = new FakeStore((call) => call === 1);
    const committed: number[] = [];
    const writer = new BatchWriter(store, (it) => committed.push(it.event.created_at), 2);
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map((n) => writer.write(item(n))));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect(committed).toEqual([1, 2, 5]);
    expect(store.batches.map((b) => b.length)).toEqual([2, 2, 1]);
  });

  it('writes queued while idle are flushed on the next turn, not synchronously', async () => {
    const store = new FakeStore();
    const writer = new BatchWriter(store, () => {});
    void writer.write(item(1));
    await Promise.resolve();
    expect(store.batches).toHaveLength(0);
    await tick();
    await tick();
    expect(store.batches).toHaveLength(1);
  });
});
