import { describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { BatchWriter, type OnCommitted } from '../../src/relay/writer.js';
import type { CommittedWrite, EventToWrite, WriteOutcome } from '../../src/store/types.js';

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
  writeBatch(items: EventToWrite[]): CommittedWrite {
    const call = this.batches.length;
    this.batches.push([...items]);
    if (this.failOn(call)) throw new Error(`disk full (call ${call})`);
    return { outcomes: items.map(outcomeFor), commitSeq: call + 1 };
  }
}

/** An onCommitted that calls `each` for every item of the batch, with its outcome and the batch's commit sequence number. */
const eachCommitted =
  (each: (it: EventToWrite, outcome: WriteOutcome, commitSeq: number) => void): OnCommitted =>
  (items, written) => {
    for (const [i, it] of items.entries()) each(it, written.outcomes[i]!, written.commitSeq);
  };

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('BatchWriter', () => {
  it('many writes in one tick → one writeBatch call, outcomes in order', async () => {
    const store = new FakeStore();
    const writer = new BatchWriter(
      (items) => store.writeBatch(items),
      () => {},
    );
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
    const writer = new BatchWriter(
      (items) => store.writeBatch(items),
      () => {},
    );
    const first = [writer.write(item(1)), writer.write(item(2))];
    await Promise.all(first);
    const second = [writer.write(item(3))];
    await Promise.all(second);
    expect(store.batches.map((b) => b.map((i) => i.event.created_at))).toEqual([[1, 2], [3]]);
  });

  it('splits a large queue into batches of at most maxBatch, in order', async () => {
    const store = new FakeStore();
    const writer = new BatchWriter(
      (items) => store.writeBatch(items),
      () => {},
      10,
    );
    const items = Array.from({ length: 25 }, (_, i) => item(i));
    const outcomes = await Promise.all(items.map((it) => writer.write(it)));
    expect(store.batches.map((b) => b.length)).toEqual([10, 10, 5]);
    expect(store.batches.flat()).toEqual(items);
    expect(outcomes).toEqual(items.map(outcomeFor));
  });

  it('onCommitted runs once per batch, with every outcome and the commit sequence number, before any write promise resolves', async () => {
    const log: string[] = [];
    const store = new FakeStore();
    const writer = new BatchWriter(
      (items) => store.writeBatch(items),
      eachCommitted((it, outcome, commitSeq) => {
        expect(outcome).toEqual(outcomeFor(it));
        log.push(`committed ${it.event.created_at} in ${commitSeq}`);
      }),
    );
    const promises = [1, 2, 3].map((n) => writer.write(item(n)).then(() => log.push(`resolved ${n}`)));
    await Promise.all(promises);
    expect(log).toEqual(['committed 1 in 1', 'committed 2 in 1', 'committed 3 in 1', 'resolved 1', 'resolved 2', 'resolved 3']);
  });

  it('a write issued from onCommitted is still committed', async () => {
    const store = new FakeStore();
    let extra: Promise<WriteOutcome> | undefined;
    const writer = new BatchWriter(
      (items) => store.writeBatch(items),
      eachCommitted((it) => {
        if (it.event.created_at === 1 && extra === undefined) extra = writer.write(item(100));
      }),
    );
    await writer.write(item(1));
    expect(extra).toBeDefined();
    await expect(extra).resolves.toEqual(outcomeFor(item(100)));
    await writer.drain();
    expect(store.batches.flat().map((i) => i.event.created_at)).toEqual([1, 100]);
  });

  it('drain resolves at once when idle, and only after the commit when writes are queued', async () => {
    const store = new FakeStore();
    const committed: number[] = [];
    const writer = new BatchWriter(
      (items) => store.writeBatch(items),
      eachCommitted((it) => committed.push(it.event.created_at)),
    );
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
    const writer = new BatchWriter(
      (items) => store.writeBatch(items),
      eachCommitted((it) => committed.push(it.event.created_at)),
    );
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
    const writer = new BatchWriter(
      (items) => store.writeBatch(items),
      eachCommitted((it) => committed.push(it.event.created_at)),
      2,
    );
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map((n) => writer.write(item(n))));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect(committed).toEqual([1, 2, 5]);
    expect(store.batches.map((b) => b.length)).toEqual([2, 2, 1]);
  });

  it('writes queued while idle are flushed on the next turn, not synchronously', async () => {
    const store = new FakeStore();
    const writer = new BatchWriter(
      (items) => store.writeBatch(items),
      () => {},
    );
    void writer.write(item(1));
    await Promise.resolve();
    expect(store.batches).toHaveLength(0);
    await tick();
    await tick();
    expect(store.batches).toHaveLength(1);
  });

  describe('with a commit answered later (the writer thread)', () => {
    /** A commit whose batches are answered when the test says so. */
    class SlowCommit {
      readonly batches: EventToWrite[][] = [];
      private readonly answers: (() => void)[] = [];
      readonly commit = (items: EventToWrite[]): Promise<CommittedWrite> => {
        this.batches.push([...items]);
        const commitSeq = this.batches.length;
        return new Promise((resolve, reject) => {
          this.answers.push(() =>
            items.some((it) => it.event.content === 'fail')
              ? reject(new Error('store writer: disk full'))
              : resolve({ outcomes: items.map(outcomeFor), commitSeq }),
          );
        });
      };
      answerNext(): void {
        this.answers.shift()!();
      }
    }

    it('one batch under way at a time; the writes queued meanwhile form the next batch (group commit)', async () => {
      const slow = new SlowCommit();
      const committed: string[] = [];
      const writer = new BatchWriter(
        slow.commit,
        eachCommitted((it, _outcome, commitSeq) => committed.push(`${it.event.created_at}@${commitSeq}`)),
      );
      const first = [writer.write(item(1)), writer.write(item(2))];
      await tick();
      expect(slow.batches.map((b) => b.map((i) => i.event.created_at))).toEqual([[1, 2]]);

      const later = [3, 4, 5].map((n) => writer.write(item(n)));
      await tick();
      expect(slow.batches).toHaveLength(1); // still waiting for the first commit
      expect(committed).toEqual([]);

      slow.answerNext();
      expect(await Promise.all(first)).toEqual([item(1), item(2)].map(outcomeFor));
      expect(committed).toEqual(['1@1', '2@1']);
      expect(slow.batches.map((b) => b.map((i) => i.event.created_at))).toEqual([
        [1, 2],
        [3, 4, 5],
      ]);

      const drained = writer.drain();
      slow.answerNext();
      await Promise.all(later);
      await drained;
      expect(committed).toEqual(['1@1', '2@1', '3@2', '4@2', '5@2']);
    });

    it('a failed commit rejects its batch only; the next batch is still written', async () => {
      const slow = new SlowCommit();
      const writer = new BatchWriter(slow.commit, () => {});
      const bad = { ...item(1), event: { ...item(1).event, content: 'fail' } };
      const failing = writer.write(bad);
      await tick();
      const next = writer.write(item(2));
      slow.answerNext();
      await expect(failing).rejects.toThrow('disk full');
      await tick();
      slow.answerNext();
      await expect(next).resolves.toEqual(outcomeFor(item(2)));
      await writer.drain();
    });
  });
});
