/** The process's one writer thread (src/store/writer-thread.ts): a connection per file, real SQLite files. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { serialize } from '../../src/event/validate.js';
import { EventStore } from '../../src/store/index.js';
import { WriterThread } from '../../src/store/writer-thread.js';

const item = (content: string) => {
  const event: NostrEvent = {
    id: randomBytes(32).toString('hex'),
    pubkey: randomBytes(32).toString('hex'),
    created_at: 1_700_000_000,
    kind: 1,
    tags: [],
    content,
    sig: randomBytes(64).toString('hex'),
  };
  return { event, json: serialize(event) };
};

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'commons-writer-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('WriterThread', () => {
  it("writes each batch into its own file, answers after the commit with the file's commit sequence number, and keeps the others open when one closes", async () => {
    const stores = ['a', 'b'].map((name) => EventStore.open(join(dir, `${name}.sqlite`), { synchronous: 'full' }));
    const [a, b] = stores.map((store) => new WriterThread(store.location!));
    const [toA, toB] = [item('for a'), item('for b')];
    expect(await a!.write([toA])).toEqual({ outcomes: [{ status: 'stored' }], commitSeq: 1 });
    expect(await b!.write([toB, toB])).toEqual({ outcomes: [{ status: 'stored' }, { status: 'duplicate' }], commitSeq: 1 });
    expect([stores[0]!.has(toA.event.id), stores[0]!.has(toB.event.id)]).toEqual([true, false]);
    expect([stores[1]!.has(toA.event.id), stores[1]!.has(toB.event.id)]).toEqual([false, true]);

    await a!.close();
    await expect(a!.write([item('late')])).rejects.toThrow('closed');
    const more = item('b again');
    expect(await b!.write([more])).toEqual({ outcomes: [{ status: 'stored' }], commitSeq: 2 });
    expect(stores[1]!.has(more.event.id)).toBe(true);
    await b!.close();

    // A new handle after the last one closed starts a fresh thread.
    const again = new WriterThread(stores[0]!.location!);
    const after = item('after restart');
    expect(await again.write([after])).toEqual({ outcomes: [{ status: 'stored' }], commitSeq: 2 });
    expect(stores[0]!.has(after.event.id)).toBe(true);
    await again.close();
    for (const store of stores) store.close();
  });

  it('a batch the store refuses is answered with an error; the next batch is written', async () => {
    const store = EventStore.open(join(dir, 'c.sqlite'), { synchronous: 'full' });
    const writer = new WriterThread(store.location!);
    const ephemeral = item('no expiresAt');
    ephemeral.event.kind = 20000;
    ephemeral.json = serialize(ephemeral.event);
    await expect(writer.write([ephemeral])).rejects.toThrow(/store writer: ephemeral event/);
    expect(await writer.write([item('fine')])).toEqual({ outcomes: [{ status: 'stored' }], commitSeq: 1 }); // the refused batch wrote nothing
    await writer.close();
    store.close();
  });
});
