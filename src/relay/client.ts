import type { Logger } from 'pino';
import type { CompiledFilter } from '../filter/compile.js';

/** One subscription of one connection, as filed in the live index. */
export interface ClientSubscription {
  readonly client: Client;
  readonly subId: string;
  readonly filters: readonly CompiledFilter[];
  /** `["EVENT","<subId>",` built once, spliced in front of each event's stored JSON. */
  readonly framePrefix: string;
  /**
   * While the stored answer is computed on a reader thread: the live events (stored JSON) matched
   * meanwhile, sent after EOSE (src/relay/queries.ts). Undefined once the answer is sent.
   */
  held?: string[] | undefined;
  /** Events of its stored answer that the writer thread had not yet reported committed (not sent again live). */
  sentStored?: Set<string> | undefined;
}

/** What the relay needs from a connection; the transport (src/server) provides it. */
export interface Client {
  readonly id: number;
  readonly ip: string;
  readonly log: Logger;
  /** The Host header the connection came with ('' when none): the relay URL NIP-42 AUTH is checked against when relay.url is empty. */
  readonly host: string;
  readonly subscriptions: Map<string, ClientSubscription>;
  /** NIP-42: this connection's challenge, set by the relay on connect ('' while AUTH is disabled). */
  challenge: string;
  /** NIP-42: every pubkey this connection has authenticated as (several are allowed). */
  readonly authenticated: Set<string>;
  /** Sends one text frame; the transport enforces the outbound buffer limit. */
  send(frame: string): void;
  /** Runs `sends` with the socket corked, so a burst of frames leaves in few syscalls. */
  batch(sends: () => void): void;
  readonly closed: boolean;
}
