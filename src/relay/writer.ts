import type { CommittedWrite, EventToWrite, WriteOutcome } from '../store/types.js';

/**
 * Writes one batch in one transaction, outcomes in order: synchronously on this thread (the store's
 * own connection), or as a promise answered by the writer thread (src/store/writer-thread.ts).
 */
export type CommitBatch = (items: EventToWrite[]) => CommittedWrite | Promise<CommittedWrite>;

/** Runs once per batch, right after its commit is known and before any of its writes is answered. */
export type OnCommitted = (items: readonly EventToWrite[], written: CommittedWrite) => void;

interface Pending {
  item: EventToWrite;
  resolve: (outcome: WriteOutcome) => void;
  reject: (error: unknown) => void;
}

/**
 * Collects the events accepted during one turn of the event loop and writes them in one transaction,
 * so that with synchronous=FULL one fsync covers the whole batch. With a writer thread one batch is
 * under way at a time and the events accepted meanwhile form the next one (group commit: the busier
 * the relay, the larger the batches).
 *
 * `onCommitted` runs right after the commit is known, before the writes are answered, so an event's
 * live delivery leaves before its OK. With a writer thread a REQ answered meanwhile may already have
 * read the committed events; the batch's commit sequence number tells live delivery which answers did
 * (src/fanout/).
 */
export class BatchWriter {
  private queue: Pending[] = [];
  private scheduled = false;
  private writing = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};

  constructor(
    private readonly commit: CommitBatch,
    private readonly onCommitted: OnCommitted,
    private readonly maxBatch = 1000,
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  write(item: EventToWrite): Promise<WriteOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        this.idle = new Promise((done) => (this.markIdle = done));
        setImmediate(() => this.flush());
      }
    });
  }

  /** Resolves once everything queued so far is committed. */
  drain(): Promise<void> {
    return this.scheduled ? this.idle : Promise.resolve();
  }

  private flush(): void {
    while (!this.writing && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      let result: CommittedWrite | Promise<CommittedWrite>;
      try {
        result = this.commit(batch.map((pending) => pending.item));
      } catch (error) {
        for (const pending of batch) pending.reject(error);
        continue;
      }
      if (!(result instanceof Promise)) {
        this.settle(batch, result);
        continue;
      }
      this.writing = true;
      result
        .then(
          (written) => this.settle(batch, written),
          (error: unknown) => {
            for (const pending of batch) pending.reject(error);
          },
        )
        .finally(() => {
          this.writing = false;
          this.flush();
        });
    }
    if (!this.writing && this.queue.length === 0) {
      this.scheduled = false;
      this.markIdle();
    }
  }

  private settle(batch: Pending[], written: CommittedWrite): void {
    this.onCommitted(
      batch.map((pending) => pending.item),
      written,
    );
    for (const [index, pending] of batch.entries()) pending.resolve(written.outcomes[index]!);
  }
}
