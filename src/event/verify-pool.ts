import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker/start.js';
import type { NostrEvent } from './types.js';
import { WasmVerifier, type Verifier } from './verify.js';
import { PACKED_BYTES, packSignature } from './verify-wasm.js';
import { loadNative, NativeVerifier, resolveImplementation, type VerifyImplementation } from './verify-native.js';
import type { BatchReply, BatchRequest, VerifyWorkerData } from './verify-worker.js';

export interface VerifierPoolOptions {
  /** Worker threads; default = number of CPUs; at least 1. */
  size?: number;
  /** Most records posted to one worker in one message (larger batches are split). Default 256. */
  maxBatch?: number;
  /** What the workers run: native libsecp256k1 (the addon must load) or WASM. Default 'wasm'. */
  implementation?: 'native' | 'wasm';
}

interface Request {
  event: NostrEvent;
  resolve(valid: boolean): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  /** Batches posted and not answered, by batch number. */
  pending: Map<number, Request[]>;
  /** Records posted and not answered. */
  load: number;
  online: boolean;
  dead: boolean;
}

/** After this many workers in a row die before coming online, the pool gives up (a broken install). */
const MAX_EARLY_DEATHS = 5;

/**
 * Signature verification off the main thread: a pool of worker_threads, each running the native or
 * the WASM verifier (verify-worker.ts). verify() calls made within one tick are packed into one transferable
 * buffer per worker (least-loaded first) and posted together; the replies resolve the promises.
 *
 * A worker that crashes rejects the promises it held with an Error and is replaced. close() terminates
 * the workers and rejects whatever is still waiting.
 */
export class VerifierPool implements Verifier {
  readonly size: number;
  readonly implementation: 'native' | 'wasm';
  private readonly maxBatch: number;
  private readonly slots: Slot[] = [];
  private queue: Request[] = [];
  private flushScheduled = false;
  private nextBatch = 1;
  private earlyDeaths = 0;
  private closed = false;
  private broken: Error | undefined;

  constructor(options: VerifierPoolOptions = {}) {
    this.size = Math.max(1, Math.floor(options.size ?? availableParallelism()));
    this.maxBatch = Math.max(1, options.maxBatch ?? 256);
    this.implementation = options.implementation ?? 'wasm';
    for (let i = 0; i < this.size; i++) this.slots.push(this.spawn(i));
  }

  verify(event: NostrEvent): Promise<boolean> {
    if (this.closed) return Promise.reject(new Error('verifier pool is closed'));
    if (this.broken) return Promise.reject(this.broken);
    return new Promise<boolean>((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** The worker threads, for tests that need to kill one. */
  get workers(): readonly Worker[] {
    return this.slots.map((slot) => slot.worker);
  }

  /** Records posted to workers and not yet answered. */
  get inFlight(): number {
    return this.slots.reduce((sum, slot) => sum + slot.load, 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new Error('verifier pool closed');
    for (const request of this.queue.splice(0)) request.reject(error);
    await Promise.all(
      this.slots.map(async (slot) => {
        this.fail(slot, error);
        await slot.worker.terminate();
      }),
    );
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed || this.queue.length === 0) return;
    const requests = this.queue;
    this.queue = [];
    const chunk = Math.min(this.maxBatch, Math.ceil(requests.length / this.size));
    for (let start = 0; start < requests.length; start += chunk) {
      this.post(this.leastLoaded(), requests.slice(start, start + chunk));
    }
  }

  private leastLoaded(): Slot {
    let best = this.slots[0]!;
    for (const slot of this.slots) if (slot.load < best.load) best = slot;
    return best;
  }

  private post(slot: Slot, requests: Request[]): void {
    const data = Buffer.allocUnsafeSlow(requests.length * PACKED_BYTES);
    requests.forEach((request, i) => {
      packSignature(request.event, data, i * PACKED_BYTES);
    });
    const batch = this.nextBatch++;
    slot.pending.set(batch, requests);
    if (slot.load === 0) slot.worker.ref();
    slot.load += requests.length;
    const message: BatchRequest = { batch, data };
    slot.worker.postMessage(message, [data.buffer as ArrayBuffer]);
  }

  private spawn(index: number): Slot {
    const worker = spawnVerifyWorker(`verify-${index}`, { implementation: this.implementation });
    worker.unref();
    const slot: Slot = { worker, pending: new Map(), load: 0, online: false, dead: false };
    worker.on('online', () => {
      slot.online = true;
      this.earlyDeaths = 0;
    });
    worker.on('message', ({ batch, results }: BatchReply) => {
      const requests = slot.pending.get(batch);
      if (!requests) return;
      slot.pending.delete(batch);
      slot.load -= requests.length;
      if (slot.load === 0) worker.unref();
      requests.forEach((request, i) => {
        request.resolve(results[i] === 1);
      });
    });
    worker.on('error', (error) => this.replace(index, slot, error));
    worker.on('exit', (code) => this.replace(index, slot, new Error(`signature verification worker exited (code ${code})`)));
    return slot;
  }

  /** A worker died: reject what it held and start another in its place. */
  private replace(index: number, slot: Slot, cause: Error): void {
    if (slot.dead) return;
    const error = new Error(`signature verification failed: worker crashed: ${cause.message}`, { cause });
    this.fail(slot, error);
    if (this.closed) return;
    if (!slot.online && ++this.earlyDeaths >= MAX_EARLY_DEATHS) {
      this.broken = new Error(`signature verification workers fail to start: ${cause.message}`, { cause });
      for (const request of this.queue.splice(0)) request.reject(this.broken);
      return;
    }
    this.slots[index] = this.spawn(index);
  }

  private fail(slot: Slot, error: Error): void {
    slot.dead = true;
    slot.load = Infinity; // never least-loaded again
    for (const requests of slot.pending.values()) for (const request of requests) request.reject(error);
    slot.pending.clear();
  }
}

function spawnVerifyWorker(name: string, workerData: VerifyWorkerData): Worker {
  return startWorker('verify-worker', import.meta.url, { name, workerData });
}

/**
 * The verifier for `verify.workers` and `verify.implementation`: a pool of that many threads, or a
 * verifier on this thread for 0; native libsecp256k1 when chosen or (auto) when its addon loads, else WASM.
 */
export function createVerifier(workers: number, implementation: VerifyImplementation = 'auto'): Verifier {
  const resolved = resolveImplementation(implementation);
  if (workers > 0) return new VerifierPool({ size: workers, implementation: resolved });
  return resolved === 'native' ? new NativeVerifier() : new WasmVerifier();
}

/**
 * The start-up log line naming the verifier createVerifier builds. `slow` when `auto` fell back to WASM
 * (the native addon did not build or load): every signature then costs ~5× the CPU, worth a warning.
 */
export function describeVerifier(
  workers: number,
  implementation: VerifyImplementation,
  addonPath?: string,
): { line: string; slow: boolean } {
  const resolved = resolveImplementation(implementation, addonPath);
  const where = workers > 0 ? `${workers} worker thread${workers === 1 ? '' : 's'}` : 'on the connection thread';
  if (resolved === 'native') return { line: `verify: native libsecp256k1, ${where}`, slow: false };
  const native = loadNative(addonPath);
  if (implementation === 'wasm' || native.ok) return { line: `verify: WASM (verify.implementation: wasm), ${where}`, slow: false };
  return { line: `verify: WASM, ${where}; ${native.reason}: signatures cost ~5x the CPU of the native verifier`, slow: true };
}
