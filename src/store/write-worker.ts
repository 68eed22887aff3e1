/**
 * The writer thread (started by WriterThread, writer-thread.ts): a connection per database file (one per
 * virtual host) and the store's one write path (write.ts). The relay's event loop never waits for a
 * commit, an fsync, a WAL checkpoint or the pruner's delete transactions (they wait here instead), and
 * the events that arrive during a commit form the next batch: one fsync covers more events under load.
 */
import { parentPort, type MessagePort } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { NostrEvent } from '../event/types.js';
import { ManagementTables } from './management.js';
import { openWriterConnection } from './open.js';
import type { StoreLocation } from './store.js';
import type { ClusterWrite, CommittedWrite, EventToWrite, WriteOutcome } from './types.js';
import { createWriter } from './write.js';
import type { WireItem, WriterAnnouncement, WriterReply, WriterRequest } from './writer-thread.js';

const port = parentPort;
if (!port) throw new Error('write-worker must run in a worker thread');

interface Open {
  db: Database.Database;
  write(items: readonly EventToWrite[], cluster?: ClusterWrite): CommittedWrite;
  /** Cluster mode: rows in cluster_outbox (counted when first needed). */
  outbox?: number;
  /** Cluster mode: the NIP-86 tables, for the other nodes' changes. */
  management?: ManagementTables;
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
/** Channels told only that a batch was committed (its JSON omitted): the cluster thread's. */
const wakesOnly = new Set<MessagePort>();

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
  const wake: WriterAnnouncement = { op: 'committed', path, commitSeq, jsons: [] };
  for (const endpoint of [port, ...channels]) {
    if (endpoint !== from) endpoint!.postMessage(wakesOnly.has(endpoint as MessagePort) ? wake : message);
  }
}

function answer(from: MessagePort | typeof port, request: WriterRequest): void {
  if (request.op === 'ephemeral' || request.op === 'broadcast') {
    const message: WriterAnnouncement = request.op === 'ephemeral' ? { op: 'ephemeral', path: request.path, json: request.json } : request;
    for (const endpoint of [port, ...channels]) if (endpoint !== from) endpoint!.postMessage(message);
    return;
  }
  if (request.op === 'attach') {
    channels.add(request.channel);
    if (request.wakesOnly) wakesOnly.add(request.channel);
    request.channel.on('message', (next: WriterRequest) => answer(request.channel, next));
    // Its thread ended (stopped, or died and was replaced by another with a channel of its own).
    request.channel.once('close', () => {
      channels.delete(request.channel);
      wakesOnly.delete(request.channel);
    });
    return;
  }
  if (request.op === 'stop') {
    for (const { db } of open.values()) db.close();
    open.clear();
    for (const channel of channels) channel.close();
    port!.close();
    return;
  }
  if (request.op === 'outbox-sent') {
    // A failed delete leaves the rows to be published again: the stream and the other nodes drop duplicates.
    try {
      const target = connectionTo(request.location);
      const { changes } = target.db.prepare('DELETE FROM cluster_outbox WHERE id <= ?').run(request.upto);
      if (target.outbox !== undefined) target.outbox = Math.max(0, target.outbox - changes);
    } catch {}
    return;
  }
  let reply: WriterReply;
  try {
    if (request.op === 'manage') {
      const target = connectionTo(request.location);
      (target.management ??= new ManagementTables(target.db)).applyFromStream(request.changes, request.applied.stream, request.applied.seq);
      reply = { seq: request.seq, statuses: [], commitSeq: 0 };
      const message: WriterAnnouncement = { op: 'managed', path: request.location.path };
      for (const endpoint of [port, ...channels]) if (endpoint !== from) endpoint!.postMessage(message);
    } else if (request.op === 'close') {
      open.get(request.path)?.db.close();
      open.delete(request.path);
      reply = { seq: request.seq, statuses: [], commitSeq: 0 };
    } else {
      const target = connectionTo(request.location);
      const cluster = clusterWrite(target, request);
      const { outcomes, commitSeq } = target.write(request.items.map(toItem), cluster);
      if (cluster?.outbox === true) target.outbox! += outcomes.filter((outcome) => outcome.status === 'stored').length;
      reply = { seq: request.seq, statuses: outcomes.map((outcome) => outcome.status), commitSeq };
      announce(from, request.location.path, commitSeq, request.items, outcomes);
    }
  } catch (error) {
    reply = { seq: request.seq, error: (error as Error).message, ...(error instanceof OutboxFull && { outboxFull: true }) };
  }
  from!.postMessage(reply);
}

class OutboxFull extends Error {}

/** What a write request asks of cluster mode; throws when the outbox is full (the batch is refused, nothing lost). */
function clusterWrite(target: Open, request: Extract<WriterRequest, { op: 'write' }>): ClusterWrite | undefined {
  if (request.applied !== undefined) return { applied: request.applied };
  if (request.outboxMax === undefined) return undefined;
  target.outbox ??= target.db.prepare<[], number>('SELECT count(*) FROM cluster_outbox').pluck().get()!;
  if (target.outbox >= request.outboxMax) {
    throw new OutboxFull(
      `the cluster outbox is full (${target.outbox} events not yet published, cluster.outbox_max_events): is NATS reachable?`,
    );
  }
  return { outbox: true };
}

port.on('message', (request: WriterRequest) => answer(port, request));
