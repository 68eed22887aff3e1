import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { Verifier } from '../event/verify.js';
import { compileFilters, type CompiledFilter } from '../filter/compile.js';
import * as nip40 from '../nips/nip40.js';
import * as nip45 from '../nips/nip45.js';
import { newChallenge } from '../nips/nip42.js';
import { authFrame, closedFrame, eventFramePrefix, noticeFrame } from '../protocol/frames.js';
import { parseClientMessage } from '../protocol/parse.js';
import type { MemberSet } from '../policy/membership.js';
import { mayRead, restrictFilters } from '../policy/read.js';
import { reason, type Rejection } from '../protocol/prefixes.js';
import { Pruner, type PruneStatements } from '../retention/pruner.js';
import { planReload, type ReloadPlan } from '../config/reload.js';
import type { EventToWrite, WriteOutcome } from '../store/types.js';
import type { StoreLocation } from '../store/store.js';
import { SubscriptionIndex } from '../subs/registry.js';
import type { Client, ClientSubscription } from './client.js';
import { isEventFrame } from './known-events.js';
import { NegentropySessions } from './negentropy.js';
import { Queries } from './queries.js';
import { RateLimits } from './rate-limits.js';
import { BatchWriter } from './writer.js';
import { EventIntake } from './intake.js';
import { WriterThread } from '../store/writer-thread.js';
import { Outbox } from './outbox.js';
import type { Management } from './management.js';
import { buildPolicyState, retiredMembers, type PolicyParts, type PolicyState } from './policy-state.js';

/** What the relay needs from storage. */
export interface RelayStore {
  has(id: string): boolean;
  writeBatch(items: EventToWrite[]): WriteOutcome[];
  /** Events expired at `now` (NIP-40) are left out of query and count. */
  query(filters: readonly CompiledFilter[], now: number): string[];
  count(filters: readonly CompiledFilter[], now: number): number;
  /** NIP-77: (created_at, id) of matching unexpired events, oldest first, at most `max`; no JSON read. */
  negentropyKeys(filter: CompiledFilter, now: number, max: number): [number, Uint8Array][];
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
  /** storage.writer_thread with a database file: commits happen there, off the event loop. */
  private readonly writerThread: WriterThread | undefined;
  /** Everything derived from the config; replaced whole by reconfigure(). */
  private state: PolicyState;
  private readonly parts: PolicyParts;
  private closing = false;
  /** Live frames not yet sent, flushed per connection in one write (src/relay/outbox.ts). */
  private readonly outbox = new Outbox();
  /** NIP-77 sessions (NEG ids are their own namespace, apart from REQ ids). */
  private readonly negentropy: NegentropySessions;
  /** Retention and NIP-40: a pass every PRUNE_INTERVAL_MS, in small batches (src/retention/pruner.ts). */
  readonly pruner: Pruner;
  /** rate_limits: read from this.config on every check; the server asks it about new connections. */
  readonly rateLimits: RateLimits;
  /** Stored answers of REQ, COUNT and NEG-OPEN: inline, or on reader threads for the long ones. */
  private readonly queries: Queries;
  /** EVENT and AUTH, in the order each connection sent them (src/relay/intake.ts). */
  private readonly intake: EventIntake;

  constructor(
    config: Config,
    readonly store: RelayStore,
    verifier: Verifier,
    private readonly log: Logger,
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
    /** NIP-86 state (src/relay/management.ts): its bans and allow lists join the write policies. */
    private readonly management?: Management,
    /** The clock in milliseconds, for rate limits. */
    nowMs: () => number = Date.now,
  ) {
    this.rateLimits = new RateLimits(() => this.config.rate_limits, nowMs);
    const location = store.location;
    this.writerThread = config.storage.writer_thread && location !== undefined ? new WriterThread(location) : undefined;
    const thread = this.writerThread;
    const commit = thread ? (items: EventToWrite[]) => thread.write(items) : (items: EventToWrite[]) => store.writeBatch(items);
    this.writer = new BatchWriter(commit, (item, outcome) => {
      if (outcome.status !== 'stored') return;
      this.counters.eventsStored++;
      try {
        this.broadcast(item);
      } catch (error) {
        this.log.error({ err: error, id: item.event.id }, 'error while delivering an event live');
      }
    });
    this.parts = {
      verifier,
      isStored: (id) => store.has(id),
      write: (item) => this.writer.write(item),
      now,
      log,
      management,
    };
    this.state = buildPolicyState(config, this.parts);
    this.pruner = new Pruner(store, () => this.state.retention, now, log, nip40.PRUNE_INTERVAL_MS);
    this.pruner.start();
    const current = (): PolicyState => this.state;
    this.intake = new EventIntake({
      state: current,
      closing: () => this.closing,
      counters: this.counters,
      rateLimits: this.rateLimits,
      verifier,
      now,
      broadcast: (item) => this.broadcast(item),
      sendChallenge: (client) => this.sendChallenge(client),
      logRejection: (client, message, id) => this.logRejection(client, message, id),
    });
    this.queries = new Queries({
      store,
      readers: config.query.readers,
      minLimit: () => this.state.config.query.reader_min_limit,
      now,
      unsubscribe: (subscription) => this.unsubscribe(subscription),
      underway: this.writer.underway,
      log,
    });
    this.negentropy = new NegentropySessions({
      get config() {
        return current().config;
      },
      compile: (input) => {
        const { limits, search } = this.state.config;
        const compiled = compileFilters([input], limits, { search: search.enabled });
        return Array.isArray(compiled) ? compiled[0]! : compiled;
      },
      checkRead: (client, filter) => this.checkRead(client, [filter]),
      checkRate: (client) => this.rateLimits.query(client.id),
      keys: (filter, now, max) => this.queries.keys(filter, now, max),
      track: (task) => this.queries.track(task),
      now,
      logRejection: (client, message) => this.logRejection(client, message),
    });
  }

  /** The config the relay runs with (after reloads: the reloadable keys of the last one applied). */
  get config(): Config {
    return this.state.config;
  }

  /** members.enabled: the live member set (the file re-read when it changes). */
  get members(): MemberSet | undefined {
    return this.state.members;
  }

  /**
   * Hot reload: applies the changed reloadable keys of `next` in one swap (connections stay open and
   * judge their next event by the new policy); changed restart-only keys keep their running value.
   * A plan with conflicts is not applied.
   */
  reconfigure(next: Config): ReloadPlan {
    const previous = this.state;
    const plan = planReload(previous.config, next);
    if (plan.conflicts.length > 0 || plan.config === previous.config) return plan;
    this.management?.reconfigure(plan.config);
    try {
      this.state = buildPolicyState(plan.config, this.parts, previous);
    } catch (error) {
      this.management?.reconfigure(previous.config);
      throw error;
    }
    retiredMembers(previous, this.state)?.stop();
    return plan;
  }

  connect(client: Client): void {
    this.counters.connections++;
    const config = this.state.config;
    client.log[config.logging.connections]('connection opened');
    this.rateLimits.connectionOpened(client.ip);
    this.intake.connect(client);
    if (config.auth.enabled) this.sendChallenge(client);
  }

  /**
   * NIP-42: sends the connection's challenge (on connect, and again after an auth-required refusal). A
   * connection opened while AUTH was off (a reload turned it on) gets its first challenge here.
   */
  private sendChallenge(client: Client): void {
    if (!this.config.auth.enabled) return;
    if (client.challenge === '') client.challenge = newChallenge();
    client.send(authFrame(client.challenge));
  }

  disconnect(client: Client): void {
    this.counters.connections--;
    for (const subscription of client.subscriptions.values()) this.unsubscribe(subscription);
    this.negentropy.disconnect(client);
    this.rateLimits.connectionClosed(client.ip, client.id);
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
    await this.pruner.stop();
    this.members?.stop();
    await this.intake.drain();
    await this.writer.drain();
    await this.writerThread?.close();
    await this.queries.drain();
  }

  /** After drain(): closes the store. */
  close(): void {
    void this.pruner.stop();
    this.members?.stop();
    this.queries.close();
    void this.writerThread?.close();
    this.store.close();
  }

  private dispatch(client: Client, text: string): void {
    if (isEventFrame(text)) {
      const known = this.intake.known(text);
      if (known !== undefined) return this.intake.onKnownEvent(client, text, known);
    }
    const message = parseClientMessage(text);
    switch (message.type) {
      case 'EVENT':
        return this.intake.onEvent(client, message.event, text);
      case 'REQ':
        return this.onReq(client, message.subId, message.filters);
      case 'COUNT':
        return this.onCount(client, message.subId, message.filters);
      case 'AUTH':
        return this.intake.onAuth(client, message.event);
      case 'NEG-OPEN':
        return this.negentropy.open(client, message.subId, message.filter, message.message);
      case 'NEG-MSG':
        return this.negentropy.message(client, message.subId, message.message);
      case 'NEG-CLOSE':
        return this.negentropy.closeRequested(client, message.subId);
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

  private onReq(client: Client, subId: string, inputs: unknown[]): void {
    const limited = this.rateLimits.query(client.id);
    if (limited) return this.refuseQuery(client, subId, limited); // the open subscription with this id stays
    const existing = client.subscriptions.get(subId);
    if (existing) this.unsubscribe(existing);
    const filters = this.checkQuery(client, subId, inputs, existing === undefined);
    if (!Array.isArray(filters)) return this.refuseQuery(client, subId, filters);

    // Registered live before the stored answer is read: an answer from a reader thread comes later,
    // and the live events matched meanwhile wait on the subscription (src/relay/queries.ts).
    const subscription: ClientSubscription = { client, subId, filters, framePrefix: eventFramePrefix(subId) };
    client.subscriptions.set(subId, subscription);
    this.live.add(subscription);
    this.counters.subscriptions++;
    this.queries.answerReq(subscription);
  }

  private onCount(client: Client, subId: string, inputs: unknown[]): void {
    const limited = this.rateLimits.query(client.id);
    if (limited) return this.refuseQuery(client, subId, limited);
    const filters = this.checkQuery(client, subId, inputs, false);
    if (!Array.isArray(filters)) return this.refuseQuery(client, subId, filters);
    // NIP-45 hll: when the first filter has a tag attribute, over the pubkeys of every counted event.
    this.queries.answerCount(client, subId, filters, nip45.hllOffset(inputs[0]));
  }

  /** The checks REQ and COUNT share: subscription id, number of filters, and each filter. */
  private checkQuery(client: Client, subId: string, inputs: unknown[], opensSubscription: boolean): CompiledFilter[] | Rejection {
    const { limits, search } = this.state.config;
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
    const compiled = compileFilters(inputs, limits, { search: search.enabled });
    return Array.isArray(compiled) ? this.checkRead(client, compiled) : compiled;
  }

  /** Private mode and read rules (src/policy/read.ts): the filters this connection may run, or why not. */
  private checkRead(client: Client, filters: CompiledFilter[]): CompiledFilter[] | Rejection {
    const readers = client.authenticated;
    const { config, members, readRules } = this.state;
    if (config.read.private) {
      if (readers.size === 0) return { prefix: 'auth-required', text: `${config.info.name} is private: authenticate as a member to read` };
      if (![...readers].some((pubkey) => members?.has(pubkey))) {
        return { prefix: 'restricted', text: `only members of ${config.info.name} can read here` };
      }
    }
    const readable = restrictFilters(filters, readRules, readers);
    if (readable !== 'auth-required') return readable;
    const kinds = [...readRules.restricted].join(', ');
    return config.auth.enabled
      ? { prefix: 'auth-required', text: `kinds ${kinds} are readable only by their author and p-tagged recipients; authenticate first` }
      : { prefix: 'restricted', text: `kinds ${kinds} are readable only by their author and p-tagged recipients, after AUTH, which this relay does not offer` };
  }

  private refuseQuery(client: Client, subId: string, rejection: Rejection): void {
    const message = reason(rejection.prefix, rejection.text);
    this.logRejection(client, message);
    client.send(closedFrame(subId, message));
    // NIP-42: clients re-send after AUTH when CLOSED starts with auth-required:; the challenge follows.
    if (rejection.prefix === 'auth-required') this.sendChallenge(client);
  }

  private unsubscribe(subscription: ClientSubscription): void {
    this.live.remove(subscription);
    subscription.client.subscriptions.delete(subscription.subId);
    this.counters.subscriptions--;
  }

  /** One serialisation per event (the stored JSON), the subscription id spliced in per recipient. */
  private broadcast(item: EventToWrite): void {
    if (nip40.isExpired(item.event, this.now())) return;
    const readRules = this.state.readRules;
    for (const subscription of this.live.matching(item.event)) {
      // Read rules: a restricted kind goes only to connections authenticated as its author or a recipient.
      if (subscription.client.closed || !mayRead(item.event, readRules, subscription.client.authenticated)) continue;
      // Already in its stored answer, read while the writer thread was committing the event.
      if (subscription.sentStored?.delete(item.json)) continue;
      // A stored answer still being read on a reader thread: held, sent after its EOSE.
      if (subscription.held !== undefined) subscription.held.push(item.json);
      else this.outbox.queue(subscription.client, subscription.framePrefix, item.json);
    }
  }

  private logRejection(client: Client, message: string, id?: string): void {
    client.log[this.state.config.logging.rejections]({ id, reason: message }, 'rejected');
  }
}
