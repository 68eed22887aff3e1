/**
 * A verification worker of VerifierPool (verify-pool.ts). Each message is one batch of packed records
 * (id ‖ pubkey ‖ sig, PACKED_BYTES each); the reply carries one byte per record, 1 = valid, in order.
 * workerData.implementation picks native libsecp256k1 (one addon call per batch) or WASM.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadNative, type PackedBatchCheck } from './verify-native.js';
import { PACKED_BYTES, verifyPacked } from './verify-wasm.js';

export interface BatchRequest {
  batch: number;
  data: Uint8Array;
}
export interface BatchReply {
  batch: number;
  results: Uint8Array;
}
export interface VerifyWorkerData {
  implementation: 'native' | 'wasm';
}

const port = parentPort;
if (!port) throw new Error('verify-worker must run in a worker thread');

const wasmBatch: PackedBatchCheck = (bytes, offset, count, results) => {
  for (let i = 0; i < count; i++) results[i] = verifyPacked(bytes, offset + i * PACKED_BYTES) ? 1 : 0;
};

function batchCheck(): PackedBatchCheck {
  if ((workerData as VerifyWorkerData | undefined)?.implementation !== 'native') return wasmBatch;
  const native = loadNative();
  // The main thread loaded it before starting this worker; failing here means the install changed under us.
  if (!native.ok) throw new Error(native.reason);
  return native.verifyPacked;
}
const check = batchCheck();

port.on('message', ({ batch, data }: BatchRequest) => {
  const count = Math.floor(data.byteLength / PACKED_BYTES);
  const results = new Uint8Array(count);
  check(data, 0, count, results);
  const reply: BatchReply = { batch, results };
  port.postMessage(reply, [results.buffer]);
});
