import type { Logger } from 'pino';
import type { LiveConnection, LiveSubscription } from '../fanout/subscription.js';

/** One subscription of one connection, as filed for live delivery (src/fanout/). */
export interface ClientSubscription extends LiveSubscription {
  readonly client: Client;
}

/** What the relay needs from a connection (send: the transport enforces the outbound buffer limit); src/server provides it. */
export interface Client extends LiveConnection {
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
}
