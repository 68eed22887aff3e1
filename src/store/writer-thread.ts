import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { startWorker } from '../worker/start.js';
import type { ManagementChange } from './management.js';
import type { StoreLocation } from './store.js';
import type { CommittedWrite, EventToWrite, WriteOutcome } from './types.js';

/** One event on its way to the writer thread: its stored JSON (parsed there), expiresAt or null, vanish. */
export type WireItem = [json: string, expiresAt: number | null, vanish: boolean];
export type WriterRequest =
  | {
      op: 'write';
      seq: number;
      location: StoreLocation;
      items: WireItem[];
      /** Cluster mode, a local batch: append what it stores to the outbox, refused when the outbox holds this many. */
      outboxMax?: number;
      /** Cluster mode, a batch from the stream: the last stream message it applies. */
      applied?: { stream: string; seq: number };
    }
  /** Cluster mode: another node's NIP-86 changes, applied with the stream position of their message. */
  | { op: 'manage'; seq: number; location: StoreLocation; changes: ManagementChange[]; applied: { stream: string; seq: number } }
  /** Cluster mode: the stream acknowledged the outbox rows up to id `upto`; they are deleted. */
  | { op: 'outbox-sent'; location: StoreLocation; upto: number }
  /** Closes the connection to this file once the writes sent before are done. */
  | { op: 'close'; seq: number; path: string }
  /** A connection thread's channel (server.threads): its writes come on it, the others' commits go to it. */
  /** wakesOnly: its committed announcements carry no JSON (the cluster thread reads its outbox instead). */
  | { op: 'attach'; channel: MessagePort; wakesOnly: boolean }
  /** An ephemeral event one connection thread accepted, for every other thread (never written). */
  | { op: 'ephemeral'; path: string; json: string }
  /** Something for every other thread of the process (cluster mode: the peers' health); the store does not read it. */
  | { op: 'broadcast'; message: unknown }
  | { op: 'stop' };
/**
 * What another connection thread's batch stored in the file at `path`, or an ephemeral event it accepted
 * for that file's site (sent to every other thread, in the order the writer thread handled them).
 */
export type WriterAnnouncement =
  | { op: 'committed'; path: string; commitSeq: number; jsons: string[] }
  | { op: 'ephemeral'; path: string; json: string }
  /** Cluster mode: another node changed this file's NIP-86 state. */
  | { op: 'managed'; path: string }
  | { op: 'broadcast'; path?: undefined; message: unknown };
/** Hears what the other connection threads committed to one file, and the ephemeral events they accepted. */
export interface ElsewhereListener {
  committed(commitSeq: number, jsons: readonly string[]): void;
  ephemeral(json: string): void;
  /** Another node changed the NIP-86 state (cluster mode). */
  managed(): void;
}
export type WriterReply =
  | { seq: number; statuses: WriteOutcome['status'][]; commitSeq: number }
  | { seq: number; error: string; outboxFull?: true };

/** Cluster mode: the batch was refused because the outbox holds cluster.outbox_max_events (NATS unreachable for long). */
export class OutboxFullError extends Error {}

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

  /** outboxMax (cluster mode): every batch stored through this writer goes to the cluster outbox, which holds at most this many. */
  constructor(
    private readonly location: StoreLocation,
    private readonly outboxMax?: number,
  ) {
    this.thread = SharedThread.acquire();
  }

  /**
   * server.threads, in the coordinator: a channel for one connection thread to the process's writer
   * thread (started now if it was not). Pass it to that thread, which calls joinWriter() with it.
   */
  static openChannel(wakesOnly = false): MessagePort {
    return SharedThread.acquireChannelEnd(wakesOnly);
  }

  /** server.threads, in a connection thread: every WriterThread of this thread writes through `channel`. */
  static joinWriter(channel: MessagePort): void {
    SharedThread.join(channel);
  }

  /** Tells `listener` each message another thread broadcast (broadcast()), in this thread. */
  static onBroadcast(listener: (message: unknown) => void): () => void {
    return SharedThread.onBroadcast(listener);
  }

  /** Tells `listener` each batch another connection thread commits to this file, and each ephemeral event it accepts. */
  onElsewhere(listener: ElsewhereListener): () => void {
    return this.thread.listen(this.location.path, listener);
  }

  /** server.threads: hands an ephemeral event this thread accepted to every other thread (nothing alone). */
  shareEphemeral(json: string): void {
    this.thread.shareEphemeral(this.location.path, json);
  }

  async write(items: readonly EventToWrite[]): Promise<CommittedWrite> {
    if (this.closed) throw new Error('the writer thread is closed');
    const wire = items.map(({ json, expiresAt, vanish }): WireItem => [json, expiresAt ?? null, vanish === true]);
    const { statuses, commitSeq } = await this.thread.request((seq) => ({
      op: 'write',
      seq,
      location: this.location,
      items: wire,
      ...(this.outboxMax !== undefined && { outboxMax: this.outboxMax }),
    }));
    return { outcomes: statuses.map((status) => OUTCOMES[status]), commitSeq };
  }

  /** Lets the batches sent be written, then closes this file's connection (and the thread, if it was the last). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.thread.release(this.location.path);
  }
}

/** What the writer thread is reached through: the worker itself, or a channel to it (a connection thread). */
interface Endpoint {
  postMessage(message: unknown, transfer?: readonly MessagePort[]): void;
  ref(): void;
  unref(): void;
  on(event: 'message', listener: (message: WriterReply | WriterAnnouncement) => void): unknown;
}

/**
 * The process's writer thread, started on the first write, stopped when the last WriterThread closes.
 * In a connection thread (server.threads) it is a channel to the coordinator's writer thread instead,
 * which this thread never starts, closes or stops.
 */
class SharedThread {
  private static current: SharedThread | undefined;
  private static readonly broadcastListeners = new Set<(message: unknown) => void>();

  static onBroadcast(listener: (message: unknown) => void): () => void {
    SharedThread.broadcastListeners.add(listener);
    return () => SharedThread.broadcastListeners.delete(listener);
  }

  private worker: Worker | undefined;
  private readonly waiting = new Map<number, Waiting>();
  private readonly listeners = new Map<string, Set<ElsewhereListener>>();
  /** In the coordinator: channels handed out (no channel, no other thread to tell). */
  private channels = 0;
  private seq = 0;
  private users = 0;

  private constructor(private readonly channel?: MessagePort) {
    if (channel === undefined) return;
    this.receiveFrom(channel);
    channel.unref(); // like the worker: referenced only while a request is under way
  }

  static acquire(): SharedThread {
    const thread = (SharedThread.current ??= new SharedThread());
    thread.users++;
    return thread;
  }

  static join(channel: MessagePort): void {
    SharedThread.current = new SharedThread(channel);
  }

  static acquireChannelEnd(wakesOnly: boolean): MessagePort {
    const thread = (SharedThread.current ??= new SharedThread());
    thread.channels++;
    const { port1, port2 } = new MessageChannel();
    thread.endpoint().postMessage({ op: 'attach', channel: port1, wakesOnly } satisfies WriterRequest, [port1]);
    return port2;
  }

  shareEphemeral(path: string, json: string): void {
    if (this.channel === undefined && this.channels === 0) return;
    this.endpoint().postMessage({ op: 'ephemeral', path, json } satisfies WriterRequest);
  }

  listen(path: string, listener: ElsewhereListener): () => void {
    let set = this.listeners.get(path);
    if (set === undefined) this.listeners.set(path, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  request(message: (seq: number) => WriterRequest): Promise<Written> {
    const endpoint = this.endpoint();
    const seq = ++this.seq;
    // Referenced only while a request is under way: an idle writer never keeps the process alive.
    if (this.waiting.size === 0) endpoint.ref();
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      endpoint.postMessage(message(seq));
    });
  }

  async release(path: string): Promise<void> {
    this.users--;
    if (this.channel !== undefined) return; // the coordinator's writer thread holds the file
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

  private endpoint(): Endpoint {
    return this.channel ?? (this.worker ??= this.spawn());
  }

  private receiveFrom(endpoint: Endpoint): void {
    endpoint.on('message', (reply) => {
      if ('op' in reply && reply.op === 'broadcast') {
        for (const listener of SharedThread.broadcastListeners) listener(reply.message);
        return;
      }
      if ('op' in reply) {
        for (const listener of this.listeners.get(reply.path) ?? []) {
          if (reply.op === 'committed') listener.committed(reply.commitSeq, reply.jsons);
          else if (reply.op === 'ephemeral') listener.ephemeral(reply.json);
          else listener.managed();
        }
        return;
      }
      const waiting = this.waiting.get(reply.seq);
      if (waiting === undefined) return;
      this.waiting.delete(reply.seq);
      if (this.waiting.size === 0 && (this.users > 0 || this.channel !== undefined)) endpoint.unref();
      if ('error' in reply) waiting.reject(reply.outboxFull ? new OutboxFullError(reply.error) : new Error(`store writer: ${reply.error}`));
      else waiting.resolve(reply);
    });
  }

  private spawn(): Worker {
    const worker = startWorker('write-worker', import.meta.url, { name: 'store-writer' });
    worker.unref();
    this.receiveFrom(worker);
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
