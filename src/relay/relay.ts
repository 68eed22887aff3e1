import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { Verifier } from '../event/verify.js';
import { compileFilters, type CompiledFilter } from '../filter/compile.js';
import { closedFrame, countFrame, eoseFrame, eventFramePrefix, noticeFrame, okFrame } from '../protocol/frames.js';
import { parseClientMessage } from '../protocol/parse.js';
import { reason, type Rejection } from '../protocol/prefixes.js';
import type { EventToWrite, WriteOutcome } from '../store/types.js';
import { SubscriptionIndex } from '../subs/registry.js';
import type { Client, ClientSubscription } from './client.js';
import { ingestEvent, type IngestDeps } from './ingest.js';
import { BatchWriter } from './writer.js';

/** What the relay needs from storage. */
export interface RelayStore {
  has(id: string): boolean;
  writeBatch(items: EventToWrite[]): WriteOutcome[];
  query(filters: readonly CompiledFilter[]): string[];
  count(filters: readonly CompiledFilter[]): number;
  stats(): { events: number };
  close(): void;
}

export interface RelayCounters {
  connections: number;
  subscriptions: number;
  eventsReceived: number;
  eventsStored: number;
  startedAt: number;
}

/**
 * The protocol engine: NIP-01 messages in, frames out. It knows nothing of sockets; src/server
 * feeds it text and hands it `Client`s.
 */
export class Relay {
  readonly counters: RelayCounters = { connections: 0, subscriptions: 0, eventsReceived: 0, eventsStored: 0, startedAt: Date.now() };
  private readonly live = new SubscriptionIndex<ClientSubscription>();
  private readonly writer: BatchWriter;
  private readonly inflight = new Set<Promise<void>>();
  /** Per connection, the last event's `placed` promise: events are decided in the order sent. */
  private readonly eventOrder = new WeakMap<Client, Promise<void>>();
  private readonly ingestDeps: IngestDeps;
  private closing = false;

  constructor(
    private readonly config: Config,
    readonly store: RelayStore,
    verifier: Verifier,
    private readonly log: Logger,
    now: () => number = () => Math.floor(Date.now() / 1000),
  ) {
    this.writer = new BatchWriter(store, (item, outcome) => {
      if (outcome.status !== 'stored') return;
      this.counters.eventsStored++;
      try {
        this.broadcast(item);
      } catch (error) {
        this.log.error({ err: error, id: item.event.id }, 'error while delivering an event live');
      }
    });
    this.ingestDeps = {
      limits: config.limits,
      verifier,
      isStored: (id) => store.has(id),
      write: (item) => this.writer.write(item),
      now,
    };
  }

  connect(client: Client): void {
    this.counters.connections++;
    client.log[this.config.logging.connections]('connection opened');
  }

  disconnect(client: Client): void {
    this.counters.connections--;
    for (const subscription of client.subscriptions.values()) this.unsubscribe(subscription);
    client.log[this.config.logging.connections]('connection closed');
  }

  /** Handles one text frame. Never throws: an unexpected error is logged and answered with `error:`. */
  handle(client: Client, text: string): void {
    try {
      this.dispatch(client, text);
    } catch (error) {
      client.log.error({ err: error }, 'error while handling a message');
      client.send(noticeFrame(reason('error', 'internal error while handling your message')));
    }
  }

  /** Stops taking events and waits until the ones under way are written and answered. */
  async drain(): Promise<void> {
    this.closing = true;
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
    await this.writer.drain();
  }

  /** After drain(): closes the store. */
  close(): void {
    this.store.close();
  }

  private dispatch(client: Client, text: string): void {
    const message = parseClientMessage(text);
    switch (message.type) {
      case 'EVENT':
        return this.onEvent(client, message.event);
      case 'REQ':
        return this.onReq(client, message.subId, message.filters);
      case 'COUNT':
        return this.onCount(client, message.subId, message.filters);
      case 'CLOSE': {
        const subscription = client.subscriptions.get(message.subId);
        if (subscription) this.unsubscribe(subscription);
        return;
      }
      case 'malformed':
        this.logRejection(client, message.message);
        return client.send(noticeFrame(message.message));
    }
  }

  private onEvent(client: Client, input: unknown): void {
    this.counters.eventsReceived++;
    if (this.closing) {
      const id = (input as { id?: unknown } | null)?.id;
      if (typeof id === 'string') client.send(okFrame(id, false, reason('error', 'relay is shutting down; try again shortly')));
      return;
    }
    const { outcome, placed } = ingestEvent(input, this.ingestDeps, this.eventOrder.get(client));
    this.eventOrder.set(client, placed);
    const task = outcome
      .then((outcome) => {
        if (outcome.type === 'notice') {
          this.logRejection(client, outcome.message);
          return client.send(noticeFrame(outcome.message));
        }
        if (!outcome.accepted) this.logRejection(client, outcome.message, outcome.id);
        client.send(okFrame(outcome.id, outcome.accepted, outcome.message));
        if (outcome.ephemeral) this.broadcast(outcome.ephemeral);
      })
      .catch((error: unknown) => {
        client.log.error({ err: error }, 'error while storing an event');
        const id = (input as { id?: unknown } | null)?.id;
        if (typeof id === 'string') client.send(okFrame(id, false, reason('error', 'could not store the event')));
      })
      .finally(() => this.inflight.delete(task));
    this.inflight.add(task);
  }

  private onReq(client: Client, subId: string, inputs: unknown[]): void {
    const existing = client.subscriptions.get(subId);
    if (existing) this.unsubscribe(existing);
    const filters = this.checkQuery(client, subId, inputs, existing === undefined);
    if (!Array.isArray(filters)) return this.refuseQuery(client, subId, filters);

    const subscription: ClientSubscription = { client, subId, filters, framePrefix: eventFramePrefix(subId) };
    const stored = this.store.query(filters);
    client.batch(() => {
      for (const json of stored) client.send(`${subscription.framePrefix}${json}]`);
      client.send(eoseFrame(subId));
    });
    client.subscriptions.set(subId, subscription);
    this.live.add(subscription);
    this.counters.subscriptions++;
  }

  private onCount(client: Client, subId: string, inputs: unknown[]): void {
    const filters = this.checkQuery(client, subId, inputs, false);
    if (!Array.isArray(filters)) return this.refuseQuery(client, subId, filters);
    client.send(countFrame(subId, this.store.count(filters)));
  }

  /** The checks REQ and COUNT share: subscription id, number of filters, and each filter. */
  private checkQuery(client: Client, subId: string, inputs: unknown[], opensSubscription: boolean): CompiledFilter[] | Rejection {
    const limits = this.config.limits;
    if (subId.length === 0 || subId.length > limits.max_subid_length) {
      return { prefix: 'invalid', text: `subscription id must be 1 to ${limits.max_subid_length} characters` };
    }
    if (inputs.length === 0) return { prefix: 'invalid', text: 'at least one filter is required' };
    if (inputs.length > limits.max_filters) {
      return { prefix: 'invalid', text: `${inputs.length} filters; at most ${limits.max_filters} are allowed in one request` };
    }
    if (opensSubscription && client.subscriptions.size >= limits.max_subscriptions) {
      return { prefix: 'rate-limited', text: `at most ${limits.max_subscriptions} open subscriptions per connection; close one first` };
    }
    return compileFilters(inputs, limits);
  }

  private refuseQuery(client: Client, subId: string, rejection: Rejection): void {
    const message = reason(rejection.prefix, rejection.text);
    this.logRejection(client, message);
    client.send(closedFrame(subId, message));
  }

  private unsubscribe(subscription: ClientSubscription): void {
    this.live.remove(subscription);
    subscription.client.subscriptions.delete(subscription.subId);
    this.counters.subscriptions--;
  }

  /** One serialisation per event (the stored JSON), the subscription id spliced in per recipient. */
  private broadcast(item: EventToWrite): void {
    for (const subscription of this.live.matching(item.event)) {
      if (!subscription.client.closed) subscription.client.send(`${subscription.framePrefix}${item.json}]`);
    }
  }

  private logRejection(client: Client, message: string, id?: string): void {
    client.log[this.config.logging.rejections]({ id, reason: message }, 'rejected');
  }
}
