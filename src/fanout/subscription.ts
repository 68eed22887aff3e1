import type { CompiledFilter } from '../filter/compile.js';

/** What live delivery needs from a connection. */
export interface LiveConnection {
  /** NIP-42: the pubkeys it authenticated as (read rules). */
  readonly authenticated: ReadonlySet<string>;
  readonly closed: boolean;
  /** One text frame: a string, or its UTF-8 bytes. */
  send(frame: string | Uint8Array): void;
  /** Runs `sends` with the socket corked, so a burst of frames leaves in few syscalls. */
  batch(sends: () => void): void;
}

/** A live event matched while the subscription's stored answer was being read, and its batch. */
export interface HeldEvent {
  readonly json: string;
  /** Its batch's commit sequence number; Infinity for an ephemeral event (never in a stored answer). */
  readonly commitSeq: number;
}

/** One subscription of one connection, as filed for live delivery. */
export interface LiveSubscription {
  readonly client: LiveConnection;
  readonly subId: string;
  readonly filters: readonly CompiledFilter[];
  /** `["EVENT","<subId>",` built once, spliced in front of each event's stored JSON. */
  readonly framePrefix: string;
  /** While the stored answer is read: the live events matched meanwhile, sent after EOSE. */
  held?: HeldEvent[] | undefined;
  /** The commit sequence number the stored answer was read at: the batches up to it were in the answer. */
  answeredAt?: number;
}
