import type { NostrEvent } from '../event/types.js';

/** One stored event as live delivery needs it: the parsed event to match, the stored JSON to send. */
export interface CommittedEvent {
  readonly event: NostrEvent;
  readonly json: string;
}

/**
 * What the write path tells live delivery after each commit: the events the batch stored, and the
 * batch's number in the store's commit sequence. A plain, versioned shape, so that it can cross a thread
 * or a network as it is; a consumer refuses a version it does not know.
 */
export interface CommittedBatch {
  readonly v: 1;
  readonly commitSeq: number;
  readonly events: readonly CommittedEvent[];
}

/** Where committed batches are published and who hears them. */
export interface CommittedBus {
  publish(batch: CommittedBatch): void;
  /** `listener` hears every batch published from now on, in order; the function returned stops it. */
  subscribe(listener: (batch: CommittedBatch) => void): () => void;
}

/** The bus of one process: publish() calls every listener at once, in the order they subscribed. */
export class LocalBus implements CommittedBus {
  private readonly listeners = new Set<(batch: CommittedBatch) => void>();

  publish(batch: CommittedBatch): void {
    if (batch.v !== 1) throw new Error(`committed batch version ${String(batch.v)} is not known here`);
    for (const listener of this.listeners) listener(batch);
  }

  subscribe(listener: (batch: CommittedBatch) => void): () => void {
    const own = (batch: CommittedBatch): void => listener(batch);
    this.listeners.add(own);
    return () => this.listeners.delete(own);
  }
}
