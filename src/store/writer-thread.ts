import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker/start.js';
import type { StoreLocation } from './store.js';
import type { EventToWrite, WriteOutcome } from './types.js';

/** One event on its way to the writer thread: its stored JSON (parsed there), expiresAt or null, vanish. */
export type WireItem = [json: string, expiresAt: number | null, vanish: boolean];
export type WriterRequest = { op: 'write'; seq: number; items: WireItem[] } | { op: 'stop' };
export type WriterReply = { seq: number; statuses: WriteOutcome['status'][] } | { seq: number; error: string };

const OUTCOMES: Readonly<Record<WriteOutcome['status'], WriteOutcome>> = Object.freeze({
  stored: Object.freeze({ status: 'stored' }),
  duplicate: Object.freeze({ status: 'duplicate' }),
  older: Object.freeze({ status: 'older' }),
  deleted: Object.freeze({ status: 'deleted' }),
  vanished: Object.freeze({ status: 'vanished' }),
});

interface Waiting {
  resolve(outcomes: WriteOutcome[]): void;
  reject(error: Error): void;
}

/**
 * The store's write path on its own thread and connection (write-worker.ts), for a database file.
 * Batches are written in the order sent, each in one transaction; the answer comes after the commit
 * (synchronous=FULL: after the fsync), so an OK sent on it survives a crash. A thread that dies fails
 * the batches under way with an error and is replaced on the next write.
 */
export class WriterThread {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, Waiting>();
  private seq = 0;
  private closed = false;

  constructor(private readonly location: StoreLocation) {}

  write(items: readonly EventToWrite[]): Promise<WriteOutcome[]> {
    if (this.closed) return Promise.reject(new Error('the writer thread is closed'));
    const worker = (this.worker ??= this.spawn());
    const seq = ++this.seq;
    const wire = items.map(({ json, expiresAt, vanish }): WireItem => [json, expiresAt ?? null, vanish === true]);
    // Referenced only while a batch is under way: an idle writer never keeps the process alive.
    if (this.waiting.size === 0) worker.ref();
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      worker.postMessage({ op: 'write', seq, items: wire } satisfies WriterRequest);
    });
  }

  /** Lets the batches sent be written, then closes the thread's connection; resolves when it has exited. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    if (worker === undefined) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.ref();
    worker.postMessage({ op: 'stop' } satisfies WriterRequest);
    await exited;
  }

  private spawn(): Worker {
    const worker = startWorker('write-worker', import.meta.url, { name: 'store-writer', workerData: this.location });
    worker.unref();
    worker.on('message', (reply: WriterReply) => {
      const waiting = this.waiting.get(reply.seq);
      if (waiting === undefined) return;
      this.waiting.delete(reply.seq);
      if (this.waiting.size === 0 && !this.closed) worker.unref();
      if ('error' in reply) waiting.reject(new Error(`store writer: ${reply.error}`));
      else waiting.resolve(reply.statuses.map((status) => OUTCOMES[status]));
    });
    const fail = (error: Error): void => {
      for (const waiting of this.waiting.values()) waiting.reject(error);
      this.waiting.clear();
      if (this.worker === worker) this.worker = undefined;
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`store writer exited (code ${code})`)));
    return worker;
  }
}
