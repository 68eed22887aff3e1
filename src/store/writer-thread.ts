import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker/start.js';
import type { StoreLocation } from './store.js';
import type { CommittedWrite, EventToWrite, WriteOutcome } from './types.js';

/** One event on its way to the writer thread: its stored JSON (parsed there), expiresAt or null, vanish. */
export type WireItem = [json: string, expiresAt: number | null, vanish: boolean];
export type WriterRequest =
  | { op: 'write'; seq: number; location: StoreLocation; items: WireItem[] }
  /** Closes the connection to this file once the writes sent before are done. */
  | { op: 'close'; seq: number; path: string }
  | { op: 'stop' };
export type WriterReply = { seq: number; statuses: WriteOutcome['status'][]; commitSeq: number } | { seq: number; error: string };

const OUTCOMES: Readonly<Record<WriteOutcome['status'], WriteOutcome>> = Object.freeze({
  stored: Object.freeze({ status: 'stored' }),
  duplicate: Object.freeze({ status: 'duplicate' }),
  older: Object.freeze({ status: 'older' }),
  deleted: Object.freeze({ status: 'deleted' }),
  vanished: Object.freeze({ status: 'vanished' }),
});

type Written = { statuses: WriteOutcome['status'][]; commitSeq: number };

interface Waiting {
  resolve(written: Written): void;
  reject(error: Error): void;
}

/**
 * The store's write path on a thread of its own (write-worker.ts), for a database file: batches are
 * written in the order sent, each in one transaction, and answered after the commit (synchronous=FULL:
 * after the fsync), so an OK sent on the answer survives a crash.
 *
 * Every WriterThread of the process shares ONE thread, which holds a connection per database file: a
 * process serving many virtual hosts (`hosts:`) pays for one more thread, not one per site. A thread that
 * dies fails the batches under way with an error and is replaced on the next write.
 */
export class WriterThread {
  private readonly thread: SharedThread;
  private closed = false;

  constructor(private readonly location: StoreLocation) {
    this.thread = SharedThread.acquire();
  }

  async write(items: readonly EventToWrite[]): Promise<CommittedWrite> {
    if (this.closed) throw new Error('the writer thread is closed');
    const wire = items.map(({ json, expiresAt, vanish }): WireItem => [json, expiresAt ?? null, vanish === true]);
    const { statuses, commitSeq } = await this.thread.request((seq) => ({ op: 'write', seq, location: this.location, items: wire }));
    return { outcomes: statuses.map((status) => OUTCOMES[status]), commitSeq };
  }

  /** Lets the batches sent be written, then closes this file's connection (and the thread, if it was the last). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.thread.release(this.location.path);
  }
}

/** The process's writer thread, started on the first write, stopped when the last WriterThread closes. */
class SharedThread {
  private static current: SharedThread | undefined;
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, Waiting>();
  private seq = 0;
  private users = 0;

  static acquire(): SharedThread {
    const thread = (SharedThread.current ??= new SharedThread());
    thread.users++;
    return thread;
  }

  request(message: (seq: number) => WriterRequest): Promise<Written> {
    const worker = (this.worker ??= this.spawn());
    const seq = ++this.seq;
    // Referenced only while a request is under way: an idle writer never keeps the process alive.
    if (this.waiting.size === 0) worker.ref();
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      worker.postMessage(message(seq));
    });
  }

  async release(path: string): Promise<void> {
    this.users--;
    if (this.users > 0) {
      if (this.worker !== undefined) await this.request((seq) => ({ op: 'close', seq, path }));
      return;
    }
    if (SharedThread.current === this) SharedThread.current = undefined;
    const worker = this.worker;
    if (worker === undefined) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.ref();
    worker.postMessage({ op: 'stop' } satisfies WriterRequest);
    await exited;
  }

  private spawn(): Worker {
    const worker = startWorker('write-worker', import.meta.url, { name: 'store-writer' });
    worker.unref();
    worker.on('message', (reply: WriterReply) => {
      const waiting = this.waiting.get(reply.seq);
      if (waiting === undefined) return;
      this.waiting.delete(reply.seq);
      if (this.waiting.size === 0 && this.users > 0) worker.unref();
      if ('error' in reply) waiting.reject(new Error(`store writer: ${reply.error}`));
      else waiting.resolve(reply);
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
