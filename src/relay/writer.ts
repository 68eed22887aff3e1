import type { EventToWrite, WriteOutcome } from '../store/types.js';

/**
 * Writes one batch in one transaction, outcomes in order: synchronously on this thread (the store's
 * own connection), or as a promise answered by the writer thread (src/store/writer-thread.ts).
 */
export type CommitBatch = (items: EventToWrite[]) => WriteOutcome[] | Promise<WriteOutcome[]>;

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
 * `onCommitted` runs right after the commit is known, before the writes are answered. Inline, that is
 * before any other message is handled, so a REQ never falls between a write and its live delivery.
 * With a writer thread a REQ answered meanwhile may already see the committed events: `underway` holds
 * their JSON so the relay does not deliver them to that subscription a second time.
 */
export class BatchWriter {
  private queue: Pending[] = [];
  private scheduled = false;
  private writing = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};
  /** Stored JSON of the batch being written on the writer thread (empty when writing inline). */
  readonly underway = new Set<string>();

  constructor(
    private readonly commit: CommitBatch,
    private readonly onCommitted: (item: EventToWrite, outcome: WriteOutcome) => void,
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
      let result: WriteOutcome[] | Promise<WriteOutcome[]>;
      try {
        result = this.commit(batch.map((pending) => pending.item));
      } catch (error) {
        for (const pending of batch) pending.reject(error);
        continue;
      }
      if (Array.isArray(result)) {
        this.settle(batch, result);
        continue;
      }
      this.writing = true;
      for (const { item } of batch) this.underway.add(item.json);
      result
        .then(
          (outcomes) => this.settle(batch, outcomes),
          (error: unknown) => {
            for (const pending of batch) pending.reject(error);
          },
        )
        .finally(() => {
          this.underway.clear();
          this.writing = false;
          this.flush();
        });
    }
    if (!this.writing && this.queue.length === 0) {
      this.scheduled = false;
      this.markIdle();
    }
  }

  private settle(batch: Pending[], outcomes: WriteOutcome[]): void {
    batch.forEach((pending, index) => {
      const outcome = outcomes[index]!;
      this.onCommitted(pending.item, outcome);
      pending.resolve(outcome);
    });
  }
}
