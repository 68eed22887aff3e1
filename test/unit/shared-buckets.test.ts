/**
 * Rate-limit state shared by connection threads (src/policy/shared-buckets.ts): the same answers as
 * TokenBuckets on one thread, a bounded table, open-connection counts never evicted, and no token lost
 * or granted twice when two threads take from one bucket at once. What one thread counted (open
 * connections, a budget's units) can be dropped when it dies, leaving the others' counts.
 */
import { describe, expect, it } from 'vitest';
import { TokenBuckets, type Rate } from '../../src/policy/rate-limit.js';
import { SharedCounts, SharedTable, SharedTokenBuckets } from '../../src/policy/shared-buckets.js';
import { SharedBudget } from '../../src/worker/shared-budget.js';
import { startWorker } from '../../src/worker/start.js';

const RATE: Rate = { count: 3, seconds: 10 };

describe('SharedTokenBuckets', () => {
  it('answers like TokenBuckets: a burst, then refusals, then a refill over time, per key', () => {
    const shared = new SharedTokenBuckets();
    const local = new TokenBuckets();
    const script: [key: string, atMs: number][] = [
      ['a', 0],
      ['a', 0],
      ['a', 0],
      ['a', 0],
      ['b', 0],
      ['a', 3_000],
      ['a', 3_400],
      ['a', 10_000],
      ['a', 10_000],
      ['a', 10_000],
      ['a', 10_001],
    ];
    const answers = script.map(([key, at]) => [shared.take(key, RATE, at), local.take(key, RATE, at)]);
    for (const [sharedAnswer, localAnswer] of answers) expect(sharedAnswer).toBe(localAnswer);
    expect(answers.map(([answer]) => answer)).toEqual([true, true, true, false, true, false, true, true, true, false, false]);
  });

  it('a full table gives a new key the least recently used slot; the old key comes back with a full bucket', () => {
    const table = new SharedTable(SharedTable.allocate(8));
    const buckets = new SharedTokenBuckets(table);
    for (let i = 0; i < 200; i++) buckets.take(`key${i}`, RATE, i);
    expect(table.size).toBe(8);
    for (let i = 0; i < 3; i++) expect(buckets.take('key0', RATE, 1_000)).toBe(true);
  });

  it('two threads taking from one bucket at once are granted exactly its tokens', async () => {
    const table = new SharedTable();
    const ready = new SharedArrayBuffer(4);
    const count = 100_000;
    const run = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const worker = startWorker('shared-buckets-worker', new URL('../helpers/relay.ts', import.meta.url).href, {
          workerData: { buffers: table.buffers, tries: count, count, ready },
        });
        worker.once('message', (granted: number) => resolve(granted));
        worker.once('error', reject);
      });
    const [first, second] = await Promise.all([run(), run()]);
    expect(first! + second!).toBe(count);
  });
});

describe('SharedCounts', () => {
  it('counts per key, frees a key at 0, and never gives away a slot that counts open connections', () => {
    const table = new SharedTable(SharedTable.allocate(8));
    const counts = new SharedCounts(table);
    for (let i = 0; i < 8; i++) counts.add(`ip${i}`, 1, i);
    const buckets = new SharedTokenBuckets(table);
    expect(buckets.take('newcomer', RATE, 100)).toBe(true); // no slot to be had: not limited
    for (let i = 0; i < 8; i++) expect(counts.get(`ip${i}`)).toBe(1);
    counts.add('ip0', -1, 200);
    expect(counts.get('ip0')).toBe(0);
    expect(table.size).toBe(7);
  });

  it('counts in one column per thread: get() sums them; clearColumn() drops those of one thread and frees keys nothing else counts', () => {
    const table = new SharedTable(SharedTable.allocate(8, 2));
    const [first, second] = [new SharedCounts(table, 0), new SharedCounts(table, 1)];
    first.add('a', 1, 0);
    second.add('a', 2, 0);
    second.add('b', 1, 0);
    expect([first.get('a'), second.get('a'), first.get('b')]).toEqual([3, 3, 1]);
    table.clearColumn(1);
    expect([first.get('a'), first.get('b'), table.size]).toEqual([1, 0, 1]);
  });
});

describe('SharedBudget', () => {
  it('sums what every row holds against one limit; release() gives back one row', () => {
    const buffer = SharedBudget.cellsFor(2);
    const [first, second] = [new SharedBudget(buffer, 0), new SharedBudget(buffer, 1)];
    first.limit = 10;
    expect([first.charge(6), second.charge(5), second.charge(4)]).toEqual([true, false, true]);
    expect(first.held).toBe(10);
    SharedBudget.release(buffer, 1);
    expect([first.held, first.charge(4)]).toEqual([6, true]);
  });
});
