/** Cluster mode's part of the write path (migration 8): the outbox and the applied stream position, real SQLite files. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { serialize } from '../../src/event/validate.js';
import { ClusterTables } from '../../src/store/cluster-tables.js';
import { EventStore } from '../../src/store/index.js';
import { openReadOnly, openWriterConnection } from '../../src/store/open.js';
import { createWriter } from '../../src/store/write.js';
import { OutboxFullError, WriterThread } from '../../src/store/writer-thread.js';

const item = (content: string, created_at = 1_700_000_000, kind = 1) => {
  const event: NostrEvent = {
    id: randomBytes(32).toString('hex'),
    pubkey: randomBytes(32).toString('hex'),
    created_at,
    kind,
    tags: [],
    content,
    sig: randomBytes(64).toString('hex'),
  };
  return { event, json: serialize(event) };
};

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'commons-cluster-store-'));
  path = join(dir, 'relay.sqlite');
  EventStore.open(path, { synchronous: 'full' }).close();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the write path in cluster mode', () => {
  it('appends to the outbox, in the same transaction, only the events a local batch stored', () => {
    const db = openWriterConnection(path, { synchronous: 'full' });
    const write = createWriter(db);
    const [first, second] = [item('one'), item('two')];
    const expiring = { ...item('kept a while', 1_700_000_000, 20001), expiresAt: 1_700_000_300 };
    const written = write([first, first, second, expiring], { outbox: true });
    expect(written.outcomes.map((outcome) => outcome.status)).toEqual(['stored', 'duplicate', 'stored', 'stored']);
    const tables = new ClusterTables(openReadOnly(path));
    expect(tables.pending(0, 10)).toEqual([
      { id: 1, item: [first.json, null, false] },
      { id: 2, item: [second.json, null, false] },
      { id: 3, item: [expiring.json, 1_700_000_300, false] },
    ]);
    expect(tables.pending(2, 10).map((row) => row.id)).toEqual([3]);
    // Without the flag (single node, or what the stream brought) nothing goes to the outbox.
    write([item('not clustered')]);
    expect(tables.outbox()).toBe(3);
    db.close();
  });

  it('records the stream position with the events of a batch from the stream, never in the outbox, also when it stored nothing', () => {
    const db = openWriterConnection(path, { synchronous: 'full' });
    const write = createWriter(db);
    const tables = new ClusterTables(openReadOnly(path));
    expect(tables.applied('COMMONS')).toBe(0);
    const remote = item('from another node');
    expect(write([remote], { applied: { stream: 'COMMONS', seq: 7 } }).outcomes).toEqual([{ status: 'stored' }]);
    expect(tables.applied('COMMONS')).toBe(7);
    expect(tables.outbox()).toBe(0);
    // Only this node's own messages: the position moves on, no commit of events.
    expect(write([], { applied: { stream: 'COMMONS', seq: 9 } })).toEqual({ outcomes: [], commitSeq: 0 });
    expect(tables.applied('COMMONS')).toBe(9);
    // A redelivered, older position never moves it back.
    write([remote], { applied: { stream: 'COMMONS', seq: 8 } });
    expect(tables.applied('COMMONS')).toBe(9);
    db.close();
  });

  it('refuses a batch when the outbox holds outbox_max_events, and takes them again once the published rows are deleted', async () => {
    const location = { path, options: { synchronous: 'full' as const } };
    const writer = new WriterThread(location, 2);
    await writer.write([item('a'), item('b')]);
    await expect(writer.write([item('c')])).rejects.toBeInstanceOf(OutboxFullError);
    const tables = new ClusterTables(openReadOnly(path));
    expect(tables.outbox()).toBe(2);
    // What the cluster thread sends once the stream acknowledged rows up to id 2.
    const channel = WriterThread.openChannel();
    channel.postMessage({ op: 'outbox-sent', location, upto: 2 });
    await expect.poll(() => tables.outbox()).toBe(0);
    channel.close();
    expect((await writer.write([item('d')])).outcomes).toEqual([{ status: 'stored' }]);
    await writer.close();
  });

  it('appends each NIP-86 change to the outbox with the change itself, and applies the changes of another node with their stream position', () => {
    const here = EventStore.open(path, { synchronous: 'full' });
    here.management.outbox = true;
    const pubkey = 'ab'.repeat(32);
    here.management.put('banned_pubkeys', pubkey, 'spam', 1_700_000_000);
    here.management.allowKind(7);
    here.management.setInfo('name', 'one of three');
    const tables = new ClusterTables(openReadOnly(path));
    const changes = tables.pending(0, 10).map((row) => ('change' in row ? row.change : row.item));
    expect(changes).toEqual([
      ['put', 'banned_pubkeys', pubkey, 'spam', 1_700_000_000],
      ['allowKind', 7],
      ['setInfo', 'name', 'one of three'],
    ]);

    const otherPath = join(dir, 'other.sqlite');
    const other = EventStore.open(otherPath, { synchronous: 'full' });
    const stored = item('banned next');
    other.commit([stored]);
    other.management.applyFromStream([...(changes as never[]), ['deleteEvent', stored.event.id]], 'COMMONS', 4);
    expect(other.management.list('banned_pubkeys')).toEqual([{ key: pubkey, reason: 'spam' }]);
    expect(other.management.allowedKinds()).toEqual([7]);
    expect(other.management.infoOverrides()).toEqual({ name: 'one of three' });
    expect(other.has(stored.event.id)).toBe(false);
    // Applied from the stream, so not in that node's outbox: nothing goes back.
    const otherTables = new ClusterTables(openReadOnly(otherPath));
    expect([otherTables.outbox(), otherTables.applied('COMMONS')]).toEqual([0, 4]);
    here.close();
    other.close();
  });
});
