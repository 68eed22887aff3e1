/** Takes tokens from a SharedTokenBuckets table another thread also takes from (test/unit/shared-buckets.test.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { SharedTable, SharedTokenBuckets, type SharedTableBuffers } from '../../src/policy/shared-buckets.js';

const { buffers, tries, count, ready } = workerData as {
  buffers: SharedTableBuffers;
  tries: number;
  count: number;
  ready: SharedArrayBuffer;
};
const buckets = new SharedTokenBuckets(new SharedTable(buffers));
// Both threads start taking together: each counts itself in, then waits (bounded) for the other.
const gate = new Int32Array(ready);
Atomics.add(gate, 0, 1);
for (let waits = 0; Atomics.load(gate, 0) < 2 && waits < 10_000; waits++) Atomics.wait(gate, 0, 1, 1);
let granted = 0;
for (let i = 0; i < tries; i++) if (buckets.take('203.0.113.7', { count, seconds: 3600 }, 1_000)) granted++;
parentPort!.postMessage(granted);
