import type { NostrEvent } from '../event/types.js';

/** What the one write path did with an event. */
export type WriteOutcome =
  /** Stored (for replaceable/addressable kinds: replaced the older version, if any). */
  | { status: 'stored' }
  /** An event with this id is already stored. */
  | { status: 'duplicate' }
  /** A replaceable/addressable event whose stored version is newer (or equally new with a lower id). */
  | { status: 'older' }
  /** Deleted by its author (NIP-09): the id, or the address up to this created_at, was deleted. */
  | { status: 'deleted' }
  /** NIP-62: its author (or, for a gift wrap, a p-tagged recipient) vanished at or after its created_at. */
  | { status: 'vanished' };

/**
 * What one batch's transaction did: each event's outcome, in input order, and the batch's number in the
 * commit sequence (table commit_seq), which readers compare with the number their answer saw.
 */
export interface CommittedWrite {
  outcomes: WriteOutcome[];
  commitSeq: number;
}

/** An event ready to be written: validated, id checked, signature verified, serialised once. */
export interface EventToWrite {
  event: NostrEvent;
  /** The exact JSON text stored and sent to clients. */
  json: string;
  /**
   * Unix seconds after which the stored row is hidden and pruned (the earlier of this and a NIP-40
   * expiration). Required to store an ephemeral event (retention `keep`); the store refuses them otherwise.
   */
  expiresAt?: number;
  /**
   * NIP-62: set by ingest on a kind 62 whose `relay` tags name this relay (or ALL_RELAYS); the store then
   * deletes what the request covers. A kind 62 without it is stored and deletes nothing.
   */
  vanish?: boolean;
}

/** Cluster mode: what a batch's transaction does besides writing its events. */
export interface ClusterWrite {
  /** A local batch: append the events stored to the outbox (table cluster_outbox) for the stream. */
  outbox?: boolean;
  /** A batch from the stream: record that its messages up to `seq` of `stream` are applied (no outbox). */
  applied?: { stream: string; seq: number };
}
