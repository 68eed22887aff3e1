import { compileFilters, type CompiledFilter } from '../filter/compile.js';
import * as nip40 from '../nips/nip40.js';
import * as nip45 from '../nips/nip45.js';
import { mayRead, restrictFilters } from '../policy/read.js';
import { closedFrame, eventFramePrefix } from '../protocol/frames.js';
import { reason, type Rejection } from '../protocol/prefixes.js';
import type { EventToWrite } from '../store/types.js';
import { SubscriptionIndex } from '../subs/registry.js';
import type { Client, ClientSubscription } from './client.js';
import { Outbox } from './outbox.js';
import type { PolicyState } from './policy-state.js';
import type { Queries } from './queries.js';
import type { RateLimits } from './rate-limits.js';
import type { RelayCounters } from './counters.js';
import type { RelayMetrics } from './metrics.js';

/** What the subscription side needs from the relay. */
export interface SubscriptionDeps {
  /** The policy state of the moment (a reload replaces it). */
  state(): PolicyState;
  readonly counters: RelayCounters;
  readonly metrics: RelayMetrics;
  readonly rateLimits: RateLimits;
  /** The stored answers. */
  readonly queries: Queries;
  now(): number;
  /** NIP-42: sends the connection's challenge (after an auth-required refusal). */
  sendChallenge(client: Client): void;
  logRejection(client: Client, message: string): void;
}

/**
 * REQ, COUNT and CLOSE, and live delivery: which queries a connection may run (limits, private mode,
 * read rules), the live index of open subscriptions, and each stored event's way to the subscriptions
 * it matches (once serialised, the subscription id spliced in per recipient, src/relay/outbox.ts).
 */
export class Subscriptions {
  private readonly live = new SubscriptionIndex<ClientSubscription>();
  /** Live frames not yet sent, flushed per connection in one write. */
  private readonly outbox = new Outbox();

  constructor(private readonly deps: SubscriptionDeps) {}

  onReq(client: Client, subId: string, inputs: unknown[]): void {
    const started = this.deps.metrics.clock();
    const limited = this.deps.rateLimits.query(client.id);
    if (limited) return this.refuse(client, subId, limited); // the open subscription with this id stays
    const existing = client.subscriptions.get(subId);
    if (existing) this.unsubscribe(existing);
    const filters = this.checkQuery(client, subId, inputs, existing === undefined);
    if (!Array.isArray(filters)) return this.refuse(client, subId, filters);

    // Registered live before the stored answer is read: an answer from a reader thread comes later,
    // and the live events matched meanwhile wait on the subscription (src/relay/queries.ts).
    const subscription: ClientSubscription = { client, subId, filters, framePrefix: eventFramePrefix(subId) };
    client.subscriptions.set(subId, subscription);
    this.live.add(subscription);
    this.deps.counters.subscriptions++;
    this.deps.metrics.subscriptionOpened();
    this.deps.queries.answerReq(subscription, started);
  }

  onCount(client: Client, subId: string, inputs: unknown[]): void {
    const limited = this.deps.rateLimits.query(client.id);
    if (limited) return this.refuse(client, subId, limited);
    const filters = this.checkQuery(client, subId, inputs, false);
    if (!Array.isArray(filters)) return this.refuse(client, subId, filters);
    // NIP-45 hll: only for the canonical queries (reactions, followers, …), over the counted pubkeys.
    this.deps.queries.answerCount(client, subId, filters, nip45.hllOffset(inputs));
  }

  onClose(client: Client, subId: string): void {
    const subscription = client.subscriptions.get(subId);
    if (subscription) this.unsubscribe(subscription);
  }

  /** A connection went away: every subscription it held leaves the live index. */
  disconnect(client: Client): void {
    for (const subscription of client.subscriptions.values()) this.unsubscribe(subscription);
  }

  unsubscribe(subscription: ClientSubscription): void {
    this.live.remove(subscription);
    subscription.client.subscriptions.delete(subscription.subId);
    this.deps.counters.subscriptions--;
  }

  /** Private mode and read rules (src/policy/read.ts): the filters this connection may run, or why not. */
  checkRead(client: Client, filters: CompiledFilter[]): CompiledFilter[] | Rejection {
    const readers = client.authenticated;
    const { config, members, readRules } = this.deps.state();
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
      : {
          prefix: 'restricted',
          text: `kinds ${kinds} are readable only by their author and p-tagged recipients, after AUTH, which this relay does not offer`,
        };
  }

  /** One serialisation per event (the stored JSON), the subscription id spliced in per recipient. */
  broadcast(item: EventToWrite): void {
    if (nip40.isExpired(item.event, this.deps.now())) return;
    const readRules = this.deps.state().readRules;
    let queued = 0;
    for (const subscription of this.live.matching(item.event)) {
      // Read rules: a restricted kind goes only to connections authenticated as its author or a recipient.
      if (subscription.client.closed || !mayRead(item.event, readRules, subscription.client.authenticated)) continue;
      // Already in its stored answer, read while the writer thread was committing the event.
      if (subscription.sentStored?.delete(item.json)) continue;
      // A stored answer still being read on a reader thread: held, sent after its EOSE.
      if (subscription.held !== undefined) subscription.held.push(item.json);
      else {
        this.outbox.queue(subscription.client, subscription.framePrefix, item.json);
        queued++;
      }
    }
    if (queued > 0) this.deps.metrics.liveSent(queued);
  }

  /** The checks REQ and COUNT share: subscription id, number of filters, and each filter. */
  private checkQuery(client: Client, subId: string, inputs: unknown[], opensSubscription: boolean): CompiledFilter[] | Rejection {
    const { limits, search } = this.deps.state().config;
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

  private refuse(client: Client, subId: string, rejection: Rejection): void {
    const message = reason(rejection.prefix, rejection.text);
    this.deps.logRejection(client, message);
    client.send(closedFrame(subId, message));
    // NIP-42: clients re-send after AUTH when CLOSED starts with auth-required:; the challenge follows.
    if (rejection.prefix === 'auth-required') this.deps.sendChallenge(client);
  }
}
