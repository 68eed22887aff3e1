/**
 * Query readers: the routing predicate, and a ReaderPool over a real SQLite file giving exactly the
 * answers of the store's own connection (same QueryRunner), while the main connection keeps writing.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { serialize } from '../../src/event/validate.js';
import { compileFilter, type CompiledFilter } from '../../src/filter/compile.js';
import { needsReader } from '../../src/relay/queries.js';
import { EventStore } from '../../src/store/index.js';
import { ReaderPool } from '../../src/store/readers.js';
import { packAnswer, type PackedAnswer } from '../../src/store/stored-answer.js';
import { SharedBudget } from '../../src/worker/shared-budget.js';
import { within } from '../helpers/wait.js';

const limits = { max_filter_values: 100, max_limit: 500, default_limit: 100 };
const compile = (input: object): CompiledFilter => compileFilter(input, limits, { search: true }) as CompiledFilter;
const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const T0 = 1_700_000_000;
const PREFIX = '["EVENT","sub \\"ü\\"",';
/** The frames of a packed answer, decoded one by one. */
const unpack = ({ frames, ends }: PackedAnswer): string[] =>
  [...ends].map((end, i) => Buffer.from(frames.subarray(i === 0 ? 0 : ends[i - 1]!, end)).toString('utf8'));
const authors = [hex(32), hex(32), hex(32)];
const note = (i: number): NostrEvent => ({
  id: hex(32),
  pubkey: authors[i % 3]!,
  created_at: T0 - i,
  kind: i % 2,
  content: i % 5 === 0 ? 'purple rain' : i % 3 === 0 ? 'grey 🌍 naïve "quoted"' : 'grey',
  sig: hex(64),
  tags: [['t', `t${i % 4}`]],
});

describe('needsReader', () => {
  it('searches always; otherwise when the limits add up to the threshold (ids count one row each)', () => {
    expect(needsReader([compile({ search: 'x', limit: 1 })], 500)).toBe(true);
    expect(needsReader([compile({ kinds: [1] })], 500)).toBe(false);
    expect(needsReader([compile({ kinds: [1], limit: 500 })], 500)).toBe(true);
    expect(needsReader([compile({ kinds: [1], limit: 300 }), compile({ kinds: [0], limit: 200 })], 500)).toBe(true);
    expect(needsReader([compile({ ids: [hex(32), hex(32)], limit: 500 })], 500)).toBe(false);
    expect(needsReader([compile({ kinds: [1], limit: 0 })], 1)).toBe(false);
  });

  it('counts the rows the store can hold when fewer than the limit: replaceable and named addressable events', () => {
    // No limit given = default_limit, here 500: every one of these would go to a reader by its limit alone.
    const compile = (input: object): CompiledFilter =>
      compileFilter(input, { ...limits, default_limit: 500 }, { search: true }) as CompiledFilter;
    const few = Array.from({ length: 10 }, () => hex(32));
    const many = Array.from({ length: 100 }, () => hex(32));
    expect(needsReader([compile({ kinds: [0], authors: [hex(32)] })], 500)).toBe(false);
    expect(needsReader([compile({ kinds: [0, 3, 10002], authors: few })], 500)).toBe(false);
    expect(needsReader([compile({ kinds: [0, 3, 10002], authors: few }), compile({ kinds: [0, 3], authors: many })], 200)).toBe(true);
    expect(needsReader([compile({ kinds: [30023], authors: few, '#d': ['a', 'b'] })], 500)).toBe(false);
    expect(needsReader([compile({ kinds: [30023], authors: few })], 500)).toBe(true);
    expect(needsReader([compile({ kinds: [0, 1], authors: few })], 500)).toBe(true);
    expect(needsReader([compile({ kinds: [0] })], 500)).toBe(true);
    expect(needsReader([compile({ kinds: [0], authors: few, search: 'x' })], 500)).toBe(true);
    expect(needsReader([compile({ '#e': [hex(32)] })], 500)).toBe(true);
  });
});

const shapes = [
  [{ kinds: [1], limit: 50 }],
  [
    { authors: [authors[0]], limit: 500 },
    { '#t': ['t1'], limit: 20 },
  ],
  [{ search: 'purple', limit: 30 }],
  [{ since: T0 - 100, until: T0 - 10 }],
];

/** A database file in a fresh directory holding notes 0 … count − 1, and its store. */
function openNotes(name: string, count: number): { dir: string; path: string; store: EventStore } {
  const dir = mkdtempSync(join(tmpdir(), `commons-${name}-`));
  const path = join(dir, 'relay.sqlite');
  const store = EventStore.open(path, { synchronous: 'normal' });
  store.writeBatch(Array.from({ length: count }, (_, i) => note(i)).map((event) => ({ event, json: serialize(event) })));
  return { dir, path, store };
}

describe('ReaderPool', () => {
  let dir: string;
  let store: EventStore;
  let pool: ReaderPool;

  beforeAll(() => {
    let path: string;
    ({ dir, path, store } = openNotes('readers', 400));
    pool = ReaderPool.start(path, 2);
  });
  afterAll(async () => {
    await pool?.close();
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('query, count, pubkeys and keys agree with the store’s own connection', async () => {
    for (const inputs of shapes) {
      const filters = inputs.map(compile);
      const inline = store.answer(filters, T0);
      const packed = await pool.answer(filters, T0, PREFIX);
      expect(packed.commitSeq).toBe(inline.commitSeq);
      expect(unpack(packed)).toEqual(inline.events.map((json) => `${PREFIX}${json}]`));
      expect(await pool.count(filters, T0)).toBe(store.count(filters, T0));
      expect(await pool.pubkeys(filters, T0)).toEqual(store.pubkeys(filters, T0));
      const set = await pool.keys(filters[0]!, T0, 1000);
      if (typeof set === 'string') throw new Error(`refused: ${set}`);
      const keys = Array.from({ length: set.size }, (_, i) => [set.timestamp(i), Buffer.from(set.id(i)).toString('hex')]);
      expect(keys).toEqual([...store.negentropyKeys(filters[0]!, T0, 1000)].map(([at, id]) => [at, id.toLowerCase()]));
    }
  });

  it('sees what the main connection committed before the request', async () => {
    const filters = [compile({ kinds: [7] })];
    expect(await pool.count(filters, T0)).toBe(0);
    const event = { ...note(1), kind: 7 };
    store.writeBatch([{ event, json: serialize(event) }]);
    expect(unpack(await pool.answer(filters, T0, PREFIX))).toEqual([`${PREFIX}${serialize(event)}]`]);
    expect(unpack(await pool.answer([compile({ kinds: [9999] })], T0, PREFIX))).toEqual([]);
  });

  it('keys charge a budget shared with the reader thread: the set its size, a refusal nothing', async () => {
    const size = (input: object): number => [...store.negentropyKeys(compile(input), T0)].length;
    const [big, first, second] = [{ kinds: [1] }, { authors: [authors[0]] }, { authors: [authors[1]] }];
    const budget = new SharedBudget();
    budget.limit = size(first) + size(second) - 1;
    expect(size(big)).toBeGreaterThan(budget.limit);
    expect(await pool.keys(compile(big), T0, 1000, budget)).toBe('too-large');
    expect(budget.held).toBe(0);
    const set = await pool.keys(compile(first), T0, 1000, budget);
    if (typeof set === 'string') throw new Error(`refused: ${set}`);
    expect(set.size).toBe(size(first));
    expect(budget.held).toBe(size(first));
    expect(await pool.keys(compile(second), T0, 1000, budget)).toBe('busy');
    expect(budget.held).toBe(size(first));
  });

  it('a failing query rejects its promise and the reader keeps serving', async () => {
    const broken = { ...compile({ kinds: [1] }), search: { fts: '"unterminated', phrases: [['x']] } };
    await expect(pool.answer([broken], T0, PREFIX)).rejects.toThrow(/query reader/);
    expect(await pool.count([compile({ kinds: [1] })], T0)).toBe(store.count([compile({ kinds: [1] })], T0));
  });
});

describe('packAnswer', () => {
  it('packs each frame as UTF-8, one after another, whatever the characters', () => {
    const events = ['{"content":"plain"}', '{"content":"naïve café"}', '{"content":"🌍 \\"quoted\\" \\\\ tab\\t"}', '{}'];
    const packed = packAnswer({ events, commitSeq: 7 }, PREFIX);
    expect(unpack(packed)).toEqual(events.map((json) => `${PREFIX}${json}]`));
    expect(packed.frames.byteLength).toBe(packed.ends.at(-1));
    expect(packed.commitSeq).toBe(7);
    expect(packAnswer({ events: [], commitSeq: 1 }, PREFIX)).toMatchObject({ ends: new Uint32Array(0), commitSeq: 1 });
  });
});

describe('ReaderPool.through: a connection thread’s pool over the main thread’s readers', () => {
  let dir: string;
  let store: EventStore;
  let owner: ReaderPool;
  let other: ReaderPool;
  const asked: number[] = [];
  const kinds1 = (): CompiledFilter[] => [compile({ kinds: [1] })];

  beforeAll(() => {
    let path: string;
    ({ dir, path, store } = openNotes('readers-through', 200));
    owner = ReaderPool.start(path, 2);
    // In the relay the port crosses to another thread (src/threads/); here it stays in this one.
    other = ReaderPool.through(2, async (index) => {
      asked.push(index);
      const port = owner.connect(index);
      if (port === undefined) throw new Error('the query readers are closed');
      return port;
    });
  });
  afterAll(async () => {
    await other?.close();
    await owner?.close();
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers as the store does, through the owner’s threads, and starts none of its own', async () => {
    for (const inputs of shapes) {
      const filters = inputs.map(compile);
      expect(unpack(await other.answer(filters, T0, PREFIX))).toEqual(store.answer(filters, T0).events.map((json) => `${PREFIX}${json}]`));
      expect(await other.count(filters, T0)).toBe(store.count(filters, T0));
    }
    expect(other.started).toBe(0);
    expect(owner.started).toBeGreaterThanOrEqual(1);
    expect(asked[0]).toBe(0);
  });

  it('both pools busy at once use at most `size` reader threads between them', async () => {
    const expected = store.count(kinds1(), T0);
    const counts = await Promise.all(Array.from({ length: 24 }, (_, i) => (i % 2 === 0 ? owner : other).count(kinds1(), T0)));
    expect(counts).toEqual(counts.map(() => expected));
    expect(owner.started).toBeLessThanOrEqual(2);
    expect(new Set(asked)).toEqual(new Set(asked.filter((index) => index < 2)));
  });

  it('readers that exit: the other pool asks again for its port and reaches a fresh thread', async () => {
    const expected = store.count(kinds1(), T0);
    expect(await other.count(kinds1(), T0)).toBe(expected);
    const askedBefore = asked.length;
    const gone = [owner.worker(0), owner.worker(1)].filter((worker) => worker !== undefined);
    expect(gone.length).toBeGreaterThan(0);
    await Promise.all(gone.map((worker) => worker.terminate()));
    let answered = -1;
    // Until the port's close is heard a request may fail ("went away"); none hangs, and the next one is answered.
    for (let tries = 0; answered !== expected && tries < 100; tries++) answered = await other.count(kinds1(), T0).catch(() => -1);
    expect(answered).toBe(expected);
    expect(asked.length).toBeGreaterThan(askedBefore);
    const fresh = [owner.worker(0), owner.worker(1)].filter((worker) => worker !== undefined);
    expect(fresh.length).toBeGreaterThan(0);
    for (const worker of fresh) expect(gone).not.toContain(worker);
  });

  it('once the owner is closed, the other pool’s requests fail instead of waiting', async () => {
    await owner.close();
    await expect(within(other.count(kinds1(), T0), 'a request after the owner closed')).rejects.toThrow(/query reader|closed/);
    expect(owner.connect(0)).toBeUndefined();
  });
});
