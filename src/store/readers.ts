import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
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

/** Where a pool's requests to one reader thread go: the Worker (the pool that started it) or a port to it. */
interface ReaderEnd {
  postMessage(message: ReaderRequest): void;
}

interface Reader {
  /** Its place in the pool: a port asked for reader `index` reaches the same thread in every pool. */
  readonly index: number;
  /** Resolves once requests can be posted (at once for a thread this pool starts). */
  readonly end: Promise<ReaderEnd>;
  /** The thread, when this pool started it. */
  readonly worker?: Worker;
  /** Requests sent and not answered yet. */
  busy: number;
}

/**
 * Query reader threads, each with its own read-only connection to the database file (WAL: readers and
 * the writer never block each other), answering with the store's own QueryRunner, so answers are identical
 * to inline ones. Each request goes to the least busy reader (a new one while some are not started yet);
 * a reader answers its requests in order.
 *
 * One pool per database file per process (server.threads): the main thread's starts the threads
 * (ReaderPool.start); each other connection thread's pool reaches the same threads through ports
 * (ReaderPool.through), so a process maps the file once per reader, not once per reader per thread.
 */
export class ReaderPool {
  private readonly readers: (Reader | undefined)[] = [];
  private readonly waiting = new Map<number, Waiting>();
  private readonly ports = new Set<MessagePort>();
  private seq = 0;
  private closed = false;

  private constructor(
    private readonly size: number,
    private readonly open: (index: number) => Reader,
  ) {}

  /** Readers this pool starts itself, on demand: another one only when every running reader is busy, up to `size`. */
  static start(path: string, size: number, cacheKiB?: number): ReaderPool {
    const pool: ReaderPool = new ReaderPool(size, (index) => pool.spawn(index, path, cacheKiB));
    return pool;
  }

  /**
   * Readers another pool started (in another thread of the process), each reached through a port asked of
   * `connect` (ReaderPool.connect there) when first needed; a reader that went away is asked for again.
   */
  static through(size: number, connect: (index: number) => Promise<MessagePort>): ReaderPool {
    const pool: ReaderPool = new ReaderPool(size, (index) => pool.reach(index, connect));
    return pool;
  }

  /** Reader threads this pool started and that run now. */
  get started(): number {
    return this.readers.filter((reader) => reader?.worker !== undefined).length;
  }

  /** The thread of reader `index` when this pool started it and it runs (tests stop one to see it replaced). */
  worker(index: number): Worker | undefined {
    return this.readers[index]?.worker;
  }

  /**
   * A port to reader `index` (started now if it does not run) for a pool in another thread
   * (ReaderPool.through); undefined once this pool is closed.
   */
  connect(index: number): MessagePort | undefined {
    if (this.closed || index < 0 || index >= this.size) return undefined;
    const worker = (this.readers[index] ??= this.open(index)).worker;
    if (worker === undefined) return undefined;
    const { port1, port2 } = new MessageChannel();
    worker.postMessage({ op: 'connect', port: port1 }, [port1]);
    return port2;
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

  /**
   * Stops every reader this pool started once its queue is answered (and closes the ports of the other
   * threads' pools to them); closes this pool's own ports. Resolves when its readers have exited.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const port of this.ports) port.close();
    await Promise.all(
      this.readers.map((reader) => {
        const worker = reader?.worker;
        if (worker === undefined) return undefined;
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        worker.postMessage({ op: 'stop' });
        return exited;
      }),
    );
  }

  private send(request: Omit<ReaderRequest, 'seq'>): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('the query readers are closed'));
    let reader: Reader | undefined;
    for (const next of this.readers) if (next !== undefined && (reader === undefined || next.busy < reader.busy)) reader = next;
    const free = this.readers.findIndex((slot) => slot === undefined);
    const room = free >= 0 ? free : this.readers.length < this.size ? this.readers.length : -1;
    if (room >= 0 && (reader === undefined || reader.busy > 0)) this.readers[room] = reader = this.open(room);
    const chosen = reader!;
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject, reader: chosen });
      chosen.busy++;
      // A reader that cannot be reached fails this request through lose().
      chosen.end.then(
        (end) => end.postMessage({ ...request, seq } satisfies ReaderRequest),
        () => undefined,
      );
    });
  }

  /** A reply from `reader`. */
  private receive(reply: ReaderReply, reader: Reader): void {
    const waiting = this.waiting.get(reply.seq);
    if (waiting === undefined) return;
    this.waiting.delete(reply.seq);
    reader.busy--;
    if ('error' in reply) waiting.reject(new Error(`query reader: ${reply.error}`));
    else waiting.resolve(reply.result);
  }

  /** `reader` went away: its requests fail, and the next request that needs it opens it again. */
  private lose(reader: Reader, error: Error): void {
    for (const [seq, waiting] of this.waiting) {
      if (waiting.reader !== reader) continue;
      this.waiting.delete(seq);
      waiting.reject(error);
    }
    reader.busy = 0;
    if (this.readers[reader.index] === reader) this.readers[reader.index] = undefined;
  }

  private spawn(index: number, path: string, cacheKiB: number | undefined): Reader {
    const worker = startWorker('reader-worker', import.meta.url, { name: 'query-reader', workerData: { path, cacheKiB } });
    worker.unref();
    const reader: Reader = { index, end: Promise.resolve(worker), worker, busy: 0 };
    worker.on('message', (reply: ReaderReply) => this.receive(reply, reader));
    worker.on('error', (error) => this.lose(reader, error));
    worker.on('exit', (code) => this.lose(reader, new Error(`query reader exited (code ${code})`)));
    return reader;
  }

  private reach(index: number, connect: (index: number) => Promise<MessagePort>): Reader {
    const reader: Reader = {
      index,
      busy: 0,
      end: connect(index).then((port) => {
        if (this.closed) {
          port.close();
          throw new Error('the query readers are closed');
        }
        this.ports.add(port);
        port.on('message', (reply: ReaderReply) => this.receive(reply, reader));
        port.once('close', () => {
          this.ports.delete(port);
          this.lose(reader, new Error('query reader went away'));
        });
        port.unref();
        return port;
      }),
    };
    reader.end.catch((error: unknown) => this.lose(reader, error instanceof Error ? error : new Error(String(error))));
    return reader;
  }
}
