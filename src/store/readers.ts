import type { Worker } from 'node:worker_threads';
import type { CompiledFilter } from '../filter/compile.js';
import { NegStorage, type BudgetRefusal, type NegStorageParts } from '../nips/nip77.js';
import type { SharedBudget } from '../worker/shared-budget.js';
import { startWorker } from '../worker/start.js';
import type { PackedAnswer } from './stored-answer.js';

/** One request to a reader thread (reader-worker.ts); `filters` cross by structured clone (Sets included). */
export type ReaderRequest = {
  seq: number;
  op: 'answer' | 'count' | 'pubkeys' | 'keys';
  filters: readonly CompiledFilter[];
  now: number;
  /** answer: `["EVENT","<subscription id>",`, the start of every frame. */
  framePrefix?: string;
  /** keys: at most this many rows. */
  max?: number;
  /** keys: a SharedBudget's buffer and row, charged as the rows are read. */
  budget?: { buffer: SharedArrayBuffer; row: number };
};
export type ReaderReply = { seq: number; result: unknown } | { seq: number; error: string };

interface Waiting {
  resolve(result: unknown): void;
  reject(error: Error): void;
  reader: Reader;
}

interface Reader {
  worker: Worker;
  /** Requests sent and not answered yet. */
  busy: number;
}

/**
 * A few reader threads, each with its own read-only connection to the database file (WAL: readers and
 * the writer never block each other). Each request goes to the least busy reader (a new one while some
 * are not started yet); a reader answers its requests in order. The same QueryRunner as the store's own, so answers are identical to inline ones.
 */
export class ReaderPool {
  private readonly readers: Reader[] = [];
  private readonly waiting = new Map<number, Waiting>();
  private seq = 0;
  private closed = false;

  /** Readers start on demand: another one only when every running reader is busy, up to `size`. */
  constructor(
    private readonly path: string,
    private readonly size: number,
    /** Each reader's SQLite page cache (OpenOptions.cacheKiB); absent = the default. */
    private readonly cacheKiB?: number,
  ) {}

  /** Requests sent and not yet answered, over all readers. */
  get pending(): number {
    return this.waiting.size;
  }

  /** The stored events and the commit sequence number they were read at (src/store/stored-answer.ts). */
  answer(filters: readonly CompiledFilter[], now: number, framePrefix: string): Promise<PackedAnswer> {
    return this.send({ op: 'answer', filters, now, framePrefix }) as Promise<PackedAnswer>;
  }

  count(filters: readonly CompiledFilter[], now: number): Promise<number> {
    return this.send({ op: 'count', filters, now }) as Promise<number>;
  }

  async pubkeys(filters: readonly CompiledFilter[], now: number): Promise<Set<string>> {
    return new Set((await this.send({ op: 'pubkeys', filters, now })) as string[]);
  }

  /**
   * NIP-77: the set of (created_at, id) matching `filter`, at most `max`, built on the reader thread and
   * charged to `budget` as it is read (see nip77.buildStorage).
   */
  async keys(filter: CompiledFilter, now: number, max: number, budget?: SharedBudget): Promise<NegStorage | BudgetRefusal> {
    const result = (await this.send({
      op: 'keys',
      filters: [filter],
      now,
      max,
      ...(budget && { budget: { buffer: budget.buffer, row: budget.row } }),
    })) as NegStorageParts | BudgetRefusal;
    return typeof result === 'string' ? result : NegStorage.fromParts(result);
  }

  /** Stops every reader once its queue is answered; resolves when all have exited. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.readers.map(({ worker }) => {
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        worker.postMessage({ op: 'stop' });
        return exited;
      }),
    );
  }

  private send(request: Omit<ReaderRequest, 'seq'>): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('the query readers are closed'));
    let reader = this.readers.reduce<Reader | undefined>(
      (best, next) => (best === undefined || next.busy < best.busy ? next : best),
      undefined,
    );
    if (reader === undefined || (reader.busy > 0 && this.readers.length < this.size)) this.readers.push((reader = this.spawn()));
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject, reader });
      reader.busy++;
      reader.worker.postMessage({ ...request, seq } satisfies ReaderRequest);
    });
  }

  private spawn(): Reader {
    const worker = startWorker('reader-worker', import.meta.url, {
      name: 'query-reader',
      workerData: { path: this.path, cacheKiB: this.cacheKiB },
    });
    worker.unref();
    const reader: Reader = { worker, busy: 0 };
    worker.on('message', (reply: ReaderReply) => {
      const waiting = this.waiting.get(reply.seq);
      if (waiting === undefined) return;
      this.waiting.delete(reply.seq);
      reader.busy--;
      if ('error' in reply) waiting.reject(new Error(`query reader: ${reply.error}`));
      else waiting.resolve(reply.result);
    });
    const fail = (error: Error): void => {
      for (const [seq, waiting] of this.waiting) {
        if (waiting.reader !== reader) continue;
        this.waiting.delete(seq);
        waiting.reject(error);
      }
      reader.busy = 0;
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      fail(new Error(`query reader exited (code ${code})`));
      if (this.closed) return;
      // A crash: a fresh reader takes its place.
      const index = this.readers.indexOf(reader);
      if (index >= 0) this.readers[index] = this.spawn();
    });
    return reader;
  }
}
