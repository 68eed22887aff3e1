/**
 * The writer thread (started by WriterThread, writer-thread.ts): its own connection to the relay's WAL
 * database and the store's one write path (write.ts). The relay's event loop never waits for a commit,
 * an fsync, a WAL checkpoint or the pruner's delete transactions (they wait here instead), and the
 * events that arrive during a commit form the next batch: one fsync covers more events under load.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { NostrEvent } from '../event/types.js';
import { openWriterConnection, type OpenOptions } from './open.js';
import type { EventToWrite } from './types.js';
import { createWriter } from './write.js';
import type { WireItem, WriterReply, WriterRequest } from './writer-thread.js';

const port = parentPort;
if (!port) throw new Error('write-worker must run in a worker thread');
const { path, options } = workerData as { path: string; options: OpenOptions };
// The relay's own connection created and migrated the file before starting this thread.
const db = openWriterConnection(path, options);
const write = createWriter(db);

const toItem = ([json, expiresAt, vanish]: WireItem): EventToWrite => {
  const item: EventToWrite = { event: JSON.parse(json) as NostrEvent, json };
  if (expiresAt !== null) item.expiresAt = expiresAt;
  if (vanish) item.vanish = true;
  return item;
};

port.on('message', (request: WriterRequest) => {
  if (request.op === 'stop') {
    db.close();
    port.close();
    return;
  }
  let reply: WriterReply;
  try {
    reply = { seq: request.seq, statuses: write(request.items.map(toItem)).map((outcome) => outcome.status) };
  } catch (error) {
    reply = { seq: request.seq, error: (error as Error).message };
  }
  port.postMessage(reply);
});
