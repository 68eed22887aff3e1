/**
 * A query reader thread (started by ReaderPool, readers.ts): its own READ-ONLY connection to the relay's
 * WAL database, answering with the store's own QueryRunner (same SQL builder, same statement cache), so
 * a long query never holds the relay's event loop.
 */
import { parentPort, workerData, type TransferListItem } from 'node:worker_threads';
import { NegStorageBuilder, type NegStorageParts } from '../nips/nip77.js';
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
    case 'keys': {
      // The NIP-77 set is built here, prefix sums included, and its arrays moved (not copied) to the relay.
      const builder = new NegStorageBuilder();
      for (const [createdAt, idHex] of runner.keys(request.filters[0]!, request.now, request.max ?? Number.MAX_SAFE_INTEGER)) builder.add(createdAt, idHex);
      return builder.finish().parts();
    }
  }
}

port.on('message', (request: ReaderRequest | { op: 'stop' }) => {
  if (request.op === 'stop') {
    db.close();
    port.close();
    return;
  }
  let reply: ReaderReply;
  let transfer: TransferListItem[] = [];
  try {
    const result = run(request);
    reply = { seq: request.seq, result };
    if (request.op === 'keys') {
      const { timestamps, ids, prefix } = result as NegStorageParts;
      transfer = [timestamps.buffer, ids.buffer, prefix.buffer] as ArrayBuffer[]; // each its own buffer (NegStorageBuilder.finish)
    }
  } catch (error) {
    reply = { seq: request.seq, error: (error as Error).message };
  }
  port.postMessage(reply, transfer);
});
