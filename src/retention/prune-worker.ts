/**
 * The retention pruner's worker thread (started by Pruner, pruner.ts): its own connection to the relay's
 * WAL database, running one pass per 'pass' message with the same statements as the CLI
 * (src/store/retention.ts). Reads never block the relay; each delete is one short IMMEDIATE transaction,
 * and after every step the worker sleeps at least WRITER_GAP_MS (longer after a long step), so a relay
 * write that found the lock taken gets it at its busy handler's next retry (1, 3, 8 ms …) instead of
 * waiting behind a run of transactions.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { openWriterConnection } from '../store/open.js';
import { RetentionStatements } from '../store/retention.js';
import type { StoreLocation } from '../store/store.js';
import { drivePass, type PassResult } from './pass.js';
import { compileRetention, type RetentionRule } from './rules.js';

export interface PassRequest {
  type: 'pass';
  now: number;
  rules: RetentionRule[];
  maxBatch: number;
  targetStepMs: number;
  /** Rows per step to start from: where the last pass's adaptation ended (a thread lives for one pass). */
  batch: number;
}
export type ToPruneWorker = PassRequest | { type: 'stop' };
export type FromPruneWorker = { type: 'done'; result: PassResult; batch: number } | { type: 'failed'; message: string; stack?: string };

const WRITER_GAP_MS = 5;

const port = parentPort;
if (!port) throw new Error('prune-worker must run in a worker thread');
const { path, options } = workerData as StoreLocation;
const db = openWriterConnection(path, options);
const store = { retention: new RetentionStatements(db) };
const state = { batch: 50 };
let stopping = false;
let passing: Promise<void> | undefined;

port.on('message', (message: ToPruneWorker) => {
  if (message.type === 'stop') {
    stopping = true;
    void (passing ?? Promise.resolve()).finally(() => {
      db.close();
      port.close();
    });
    return;
  }
  if (stopping) return;
  state.batch = message.batch;
  passing = drivePass(store, compileRetention(message.rules), message.now, {
    maxBatch: message.maxBatch,
    targetStepMs: message.targetStepMs,
    state,
    pause: (stepMs) => sleep(Math.max(WRITER_GAP_MS, stepMs)),
    stopped: () => stopping,
  })
    .then((result) => port.postMessage({ type: 'done', result, batch: state.batch } satisfies FromPruneWorker))
    .catch((error: Error) => port.postMessage({ type: 'failed', message: error.message, stack: error.stack } satisfies FromPruneWorker))
    .finally(() => (passing = undefined));
});
