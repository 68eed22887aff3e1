/**
 * A query reader thread (started by ReaderPool, readers.ts): its own READ-ONLY connection to the relay's
 * WAL database, answering with the store's own QueryRunner (same SQL builder, same statement cache), so
 * a long query never holds the relay's event loop.
 */
import { parentPort, workerData, type MessagePort, type TransferListItem } from 'node:worker_threads';
import { buildStorage, type NegStorageParts } from '../nips/nip77.js';
import { SharedBudget } from '../worker/shared-budget.js';
import { openReadOnly } from './open.js';
import { QueryRunner } from './query.js';
import type { ReaderRequest, ReaderReply } from './readers.js';
import { framedAnswers, packAnswer, type PackedAnswer } from './stored-answer.js';

const port = parentPort;
if (!port) throw new Error('reader-worker must run in a worker thread');
const { path, cacheKiB } = workerData as { path: string; cacheKiB?: number };
const db = openReadOnly(path, cacheKiB);
const runner = new QueryRunner(db);
const answer = framedAnswers(db, runner);

function run(request: ReaderRequest): unknown {
  switch (request.op) {
    case 'answer': {
      const answered = answer(request.filters, request.now, request.framePrefix!);
      return 'events' in answered ? packAnswer(answered, request.framePrefix!) : answered;
    }
    case 'count':
      return runner.count(request.filters, request.now);
    case 'pubkeys':
      return [...runner.pubkeys(request.filters, request.now)];
    case 'keys': {
      // The NIP-77 set is built here, prefix sums included, charged to the relay's budget as it is read,
      // and its arrays moved (not copied) to the relay. A refusal ('too-large' | 'busy') is a string.
      const rows = runner.keys(request.filters[0]!, request.now, request.max ?? Number.MAX_SAFE_INTEGER);
      const set = buildStorage(rows, request.budget ? new SharedBudget(request.budget.buffer, request.budget.row) : undefined);
      return typeof set === 'string' ? set : set.parts();
    }
  }
}

/** Answers `request` on the port it came from. */
function serve(from: MessagePort, request: ReaderRequest): void {
  let reply: ReaderReply;
  let transfer: TransferListItem[] = [];
  try {
    const result = run(request);
    reply = { seq: request.seq, result };
    if (request.op === 'answer') {
      const { frames, ends } = result as PackedAnswer;
      transfer = [frames.buffer, ends.buffer] as ArrayBuffer[]; // each its own buffer (packAnswer)
    } else if (request.op === 'keys' && typeof result !== 'string') {
      const { timestamps, ids, prefix } = result as NegStorageParts;
      transfer = [timestamps.buffer, ids.buffer, prefix.buffer] as ArrayBuffer[]; // each its own buffer (NegStorageBuilder.finish)
    }
  } catch (error) {
    reply = { seq: request.seq, error: (error as Error).message };
  }
  from.postMessage(reply, transfer);
}

/** Ports from the pools of the process's other connection threads (ReaderPool.connect). */
const ports = new Set<MessagePort>();

port.on('message', (request: ReaderRequest | { op: 'stop' } | { op: 'connect'; port: MessagePort }) => {
  switch (request.op) {
    case 'stop':
      for (const other of ports) other.close();
      db.close();
      port.close();
      return;
    case 'connect': {
      const other = request.port;
      ports.add(other);
      other.on('message', (asked: ReaderRequest) => serve(other, asked));
      other.once('close', () => ports.delete(other));
      return;
    }
    default:
      serve(port, request);
  }
});
