/**
 * The writer thread (started by WriterThread, writer-thread.ts): a connection per database file (one per
 * virtual host) and the store's one write path (write.ts). The relay's event loop never waits for a
 * commit, an fsync, a WAL checkpoint or the pruner's delete transactions (they wait here instead), and
 * the events that arrive during a commit form the next batch: one fsync covers more events under load.
 */
import { parentPort, type MessagePort } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { NostrEvent } from '../event/types.js';
import { openWriterConnection } from './open.js';
import type { StoreLocation } from './store.js';
import type { CommittedWrite, EventToWrite, WriteOutcome } from './types.js';
import { createWriter } from './write.js';
import type { WireItem, WriterAnnouncement, WriterReply, WriterRequest } from './writer-thread.js';

const port = parentPort;
if (!port) throw new Error('write-worker must run in a worker thread');

interface Open {
  db: Database.Database;
  write(items: readonly EventToWrite[]): CommittedWrite;
}
/** By file path. The relay's own connection created and migrated each file before its first write here. */
const open = new Map<string, Open>();

const connectionTo = ({ path, options }: StoreLocation): Open => {
  let found = open.get(path);
  if (found === undefined) {
    const db = openWriterConnection(path, options);
    found = { db, write: createWriter(db) };
    open.set(path, found);
  }
  return found;
};

const toItem = ([json, expiresAt, vanish]: WireItem): EventToWrite => {
  const item: EventToWrite = { event: JSON.parse(json) as NostrEvent, json };
  if (expiresAt !== null) item.expiresAt = expiresAt;
  if (vanish) item.vanish = true;
  return item;
};

/** Connection threads' channels (server.threads): each writes here, and hears what the others committed. */
const channels = new Set<MessagePort>();

/** The stored events of a batch, for every thread but the one that wrote it (src/fanout/). */
function announce(
  from: MessagePort | typeof port,
  path: string,
  commitSeq: number,
  items: readonly WireItem[],
  outcomes: readonly WriteOutcome[],
): void {
  if (channels.size === 0) return;
  const jsons = items.flatMap(([json], i) => (outcomes[i]!.status === 'stored' ? [json] : []));
  if (jsons.length === 0) return;
  const message: WriterAnnouncement = { op: 'committed', path, commitSeq, jsons };
  for (const endpoint of [port, ...channels]) if (endpoint !== from) endpoint!.postMessage(message);
}

function answer(from: MessagePort | typeof port, request: WriterRequest): void {
  if (request.op === 'ephemeral') {
    const message: WriterAnnouncement = { op: 'ephemeral', path: request.path, json: request.json };
    for (const endpoint of [port, ...channels]) if (endpoint !== from) endpoint!.postMessage(message);
    return;
  }
  if (request.op === 'attach') {
    channels.add(request.channel);
    request.channel.on('message', (next: WriterRequest) => answer(request.channel, next));
    return;
  }
  if (request.op === 'stop') {
    for (const { db } of open.values()) db.close();
    open.clear();
    for (const channel of channels) channel.close();
    port!.close();
    return;
  }
  let reply: WriterReply;
  try {
    if (request.op === 'close') {
      open.get(request.path)?.db.close();
      open.delete(request.path);
      reply = { seq: request.seq, statuses: [], commitSeq: 0 };
    } else {
      const { outcomes, commitSeq } = connectionTo(request.location).write(request.items.map(toItem));
      reply = { seq: request.seq, statuses: outcomes.map((outcome) => outcome.status), commitSeq };
      announce(from, request.location.path, commitSeq, request.items, outcomes);
    }
  } catch (error) {
    reply = { seq: request.seq, error: (error as Error).message };
  }
  from!.postMessage(reply);
}

port.on('message', (request: WriterRequest) => answer(port, request));
