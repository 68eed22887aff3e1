/**
 * A query reader thread (started by ReaderPool, readers.ts): its own READ-ONLY connection to the relay's
 * WAL database, answering with the store's own QueryRunner (same SQL builder, same statement cache), so
 * a long query never holds the relay's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openReadOnly } from './open.js';
import { QueryRunner } from './query.js';
import type { ReaderRequest, ReaderReply } from './readers.js';

const port = parentPort;
if (!port) throw new Error('reader-worker must run in a worker thread');
const db = openReadOnly((workerData as { path: string }).path);
const runner = new QueryRunner(db);

function run(request: ReaderRequest): unknown {
  switch (request.op) {
    case 'query':
      return runner.query(request.filters, request.now);
    case 'count':
      return runner.count(request.filters, request.now);
    case 'pubkeys':
      return [...runner.pubkeys(request.filters, request.now)];
    case 'keys':
      return runner.keys(request.filters[0]!, request.now, request.max ?? Number.MAX_SAFE_INTEGER);
  }
}

port.on('message', (request: ReaderRequest | { op: 'stop' }) => {
  if (request.op === 'stop') {
    db.close();
    port.close();
    return;
  }
  let reply: ReaderReply;
  try {
    reply = { seq: request.seq, result: run(request) };
  } catch (error) {
    reply = { seq: request.seq, error: (error as Error).message };
  }
  port.postMessage(reply);
});
