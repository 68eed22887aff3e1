/**
 * The background Pruner: a file store is pruned by a worker thread with its own connection (it keeps
 * deleting while the main thread is blocked; the main connection writes meanwhile; stop() waits for it);
 * a ':memory:' store is pruned on the event loop.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { serialize } from '../../src/event/validate.js';
import { Pruner } from '../../src/retention/pruner.js';
import { compileRetention } from '../../src/retention/rules.js';
import { EventStore } from '../../src/store/index.js';
import { waitFor } from '../helpers/wait.js';

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const T0 = 1_700_000_000;
const AUTHORS = Array.from({ length: 10 }, () => hex(32));
const silent = pino({ level: 'silent' });

const note = (created_at: number, pubkey = AUTHORS[created_at % AUTHORS.length]!): NostrEvent => ({
  id: hex(32),
  pubkey,
  created_at,
  kind: 1,
  content: 'x',
  sig: hex(64),
  tags: [['t', 'x']],
});
const write = (store: EventStore, events: NostrEvent[]): void => {
  store.writeBatch(events.map((event) => ({ event, json: serialize(event) })));
};
/** `n` notes one second apart, newest at T0. */
const fill = (store: EventStore, n: number): void =>
  write(
    store,
    Array.from({ length: n }, (_, i) => note(T0 - i)),
  );
/** Threads of this process (a worker thread is one). */
const threads = (): number => readdirSync('/proc/self/task').length;
/** Keeps the newest 1,000 seconds. */
const keepNewest = compileRetention([{ kinds: ['*'], max_age: 1000 }]);

let dir: string;
let store: EventStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'commons-pruner-'));
  store = EventStore.open(join(dir, 'relay.sqlite'), { synchronous: 'normal' });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Pruner with a file store (worker thread)', () => {
  it('keeps deleting while the main thread is blocked, and the main connection writes meanwhile', async () => {
    fill(store, 3000);
    // Small steps: the pass lasts many steps, so it is still under way when the main thread blocks.
    const pruner = new Pruner(
      store,
      () => keepNewest,
      () => T0,
      silent,
      60_000,
      10,
    );
    const done = pruner.run();
    let written = 0;
    const writing = setInterval(() => {
      write(store, [note(T0, hex(32))]);
      written++;
    }, 1);
    while (store.stats().events >= 3000 + written) await new Promise((resolve) => setTimeout(resolve, 5));
    // Block the event loop: deletions go on only if they run on another thread.
    const blockedAt = store.stats().events;
    const until = Date.now() + 10_000;
    while (store.stats().events === blockedAt && Date.now() < until) {
      // busy: no timer, no message, no setImmediate runs here
    }
    expect(store.stats().events).toBeLessThan(blockedAt);
    const result = await done;
    clearInterval(writing);
    expect(written).toBeGreaterThan(0);
    expect(result.rules[0]!.max_age).toBe(3000 - 1001);
    expect(store.stats().events).toBe(1001 + written);
    await pruner.stop();
  });

  it('stop() waits for the worker to close its connection; nothing is deleted after it', async () => {
    fill(store, 6000);
    const pruner = new Pruner(
      store,
      () => keepNewest,
      () => T0,
      silent,
      60_000,
      5,
    );
    const before = threads();
    const done = pruner.run();
    while (store.stats().events === 6000) await new Promise((resolve) => setTimeout(resolve, 5));
    await pruner.stop();
    const left = store.stats().events;
    await done;
    // Once the worker's thread is gone nothing can delete any more.
    await waitFor(() => threads() <= before, 'the pruner thread gone');
    expect(store.stats().events).toBe(left);
    expect(left).toBeGreaterThan(1001);
    expect((await pruner.run()).steps).toBe(0);
  });

  it('a pass reads the retention and the clock when it starts (moved clock, new rules)', async () => {
    fill(store, 3000);
    let now = T0;
    let retention = keepNewest;
    const pruner = new Pruner(
      store,
      () => retention,
      () => now,
      silent,
      60_000,
    );
    expect((await pruner.run()).rules[0]!.max_age).toBe(3000 - 1001);
    now += 500;
    expect((await pruner.run()).rules[0]!.max_age).toBe(500);
    retention = compileRetention([{ kinds: [1], max_per_pubkey: 10 }]);
    expect((await pruner.run()).rules[0]!.max_per_pubkey).toBe(501 - AUTHORS.length * 10);
    expect(store.stats().events).toBe(AUTHORS.length * 10);
    await pruner.stop();
  });
});

describe('Pruner threads', () => {
  it('a thread lives only while its pass runs (the process is back to its thread count after each pass)', async () => {
    fill(store, 2000);
    const pruner = new Pruner(
      store,
      () => keepNewest,
      () => T0,
      silent,
      60_000,
    );
    const before = threads();
    for (let pass = 0; pass < 2; pass++) {
      await pruner.run();
      await waitFor(() => threads() <= before, `the thread of pass ${pass} gone`);
      expect(threads()).toBe(before);
    }
    expect(store.stats().events).toBe(1001);
    await pruner.stop();
  });
});

describe('Pruner with a :memory: store (event loop)', () => {
  it('prunes in steps on the event loop', async () => {
    const memory = EventStore.open(':memory:', { synchronous: 'normal' });
    fill(memory, 3000);
    const pruner = new Pruner(
      memory,
      () => keepNewest,
      () => T0,
      silent,
      60_000,
      100,
    );
    const result = await pruner.run();
    expect(result.rules[0]!.max_age).toBe(3000 - 1001);
    expect(result.steps).toBeGreaterThan(10);
    expect(memory.stats().events).toBe(1001);
    await pruner.stop();
    memory.close();
  });
});
