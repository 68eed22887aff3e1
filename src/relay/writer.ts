import type { EventToWrite, WriteOutcome } from '../store/types.js';

interface BatchStore {
  writeBatch(items: EventToWrite[]): WriteOutcome[];
}

interface Pending {
  item: EventToWrite;
  resolve: (outcome: WriteOutcome) => void;
  reject: (error: unknown) => void;
}

/**
 * Collects the events accepted during one turn of the event loop and writes them in one transaction,
 * so that with synchronous=FULL one fsync covers the whole batch. `onCommitted` runs synchronously
 * right after the commit, before any other message is handled: a REQ can then never fall between a
 * write and its live delivery.
 */
export class BatchWriter {
  private queue: Pending[] = [];
  private scheduled = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};

  constructor(
    private readonly store: BatchStore,
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
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      let outcomes: WriteOutcome[];
      try {
        outcomes = this.store.writeBatch(batch.map((pending) => pending.item));
      } catch (error) {
        for (const pending of batch) pending.reject(error);
        continue;
      }
      batch.forEach((pending, index) => {
        const outcome = outcomes[index]!;
        this.onCommitted(pending.item, outcome);
        pending.resolve(outcome);
      });
    }
    this.scheduled = false;
    this.markIdle();
  }
}
