import type { CompiledFilter } from '../filter/compile.js';
import type { PruneStatements } from '../retention/pruner.js';
import type { StoreLocation } from '../store/store.js';
import type { PackedAnswer, StoredAnswer } from '../store/stored-answer.js';
import type { CommittedWrite, EventToWrite } from '../store/types.js';

/** What the relay needs from storage. */
export interface RelayStore {
  has(id: string): boolean;
  /** Writes a batch in one transaction: outcomes in order, and the batch's commit sequence number. */
  commit(items: EventToWrite[]): CommittedWrite;
  /**
   * The stored answer as EVENT frames (`framePrefix` + JSON + `]`) in one buffer, or its JSON strings when
   * several filters are live. Events expired at `now` (NIP-40) are left out of answers and counts.
   */
  answerFrames(filters: readonly CompiledFilter[], now: number, framePrefix: string): StoredAnswer | PackedAnswer;
  count(filters: readonly CompiledFilter[], now: number): number;
  /** NIP-77: (created_at, id in hex) of matching unexpired events, oldest first, at most `max`; no JSON read. */
  negentropyKeys(filter: CompiledFilter, now: number, max: number): Iterable<[createdAt: number, idHex: string]>;
  /** Changes whenever the stored events may have changed (NIP-77 sets read at one version are shared). */
  version(): string;
  /** NIP-45 hll: distinct pubkeys (hex) of the events query/count would return. */
  pubkeys(filters: readonly CompiledFilter[], now: number): Set<string>;
  /** NIP-40: deletes at most `maxRows` events expired at `now`; returns how many. */
  deleteExpired(now: number, maxRows: number): number;
  /** Bounded statements the retention pruner runs. */
  readonly retention: PruneStatements;
  /** The database file: the pruner then runs in a worker thread with its own connection. */
  readonly location?: StoreLocation | undefined;
  stats(): { events: number };
  close(): void;
}
