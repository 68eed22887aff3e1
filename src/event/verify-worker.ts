/**
 * A verification worker of VerifierPool (verify-pool.ts). Each message is one batch of packed records
 * (id ‖ pubkey ‖ sig, PACKED_BYTES each); the reply carries one byte per record, 1 = valid, in order.
 */
import { parentPort } from 'node:worker_threads';
import { PACKED_BYTES, verifyPacked } from './verify-wasm.js';

export interface BatchRequest {
  batch: number;
  data: Uint8Array;
}
export interface BatchReply {
  batch: number;
  results: Uint8Array;
}

const port = parentPort;
if (!port) throw new Error('verify-worker must run in a worker thread');

port.on('message', ({ batch, data }: BatchRequest) => {
  const count = Math.floor(data.byteLength / PACKED_BYTES);
  const results = new Uint8Array(count);
  for (let i = 0; i < count; i++) results[i] = verifyPacked(data, i * PACKED_BYTES) ? 1 : 0;
  const reply: BatchReply = { batch, results };
  port.postMessage(reply, [results.buffer]);
});
