import { compileFilters, type CompiledFilter } from '../filter/compile.js';
import * as nip45 from '../nips/nip45.js';
import { restrictFilters } from '../policy/read.js';
import { closedFrame, eventFramePrefix } from '../protocol/frames.js';
import { reason, type Rejection } from '../protocol/prefixes.js';
import type { Fanout } from '../fanout/fanout.js';
import type { Client, ClientSubscription } from './client.js';
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
  /** Live delivery (src/fanout/). */
  readonly fanout: Fanout;
  now(): number;
  /** NIP-42: sends the connection's challenge (after an auth-required refusal). */
  sendChallenge(client: Client): void;
  logRejection(client: Client, message: string): void;
}

/**
 * REQ, COUNT and CLOSE: which queries a connection may run (limits, private mode, read rules), and its
 * open subscriptions, filed for live delivery (src/fanout/) before their stored answer is read.
 */
export class Subscriptions {
  constructor(private readonly deps: SubscriptionDeps) {}

  onReq(client: Client, subId: string, inputs: unknown[]): void {
    const started = this.deps.metrics.clock();
    const limited = this.deps.rateLimits.query(client.id);
    if (limited) return this.refuse(client, subId, limited); // the open subscription with this id stays
    const existing = client.subscriptions.get(subId);
    if (existing) this.unsubscribe(existing);
    const filters = this.checkQuery(client, subId, inputs, existing === undefined);
    if (!Array.isArray(filters)) return this.refuse(client, subId, filters);

    // Filed live before the stored answer is read: the live events matched meanwhile wait on the
    // subscription and follow its EOSE (src/fanout/fanout.ts).
    const subscription: ClientSubscription = { client, subId, filters, framePrefix: eventFramePrefix(subId) };
    client.subscriptions.set(subId, subscription);
    this.deps.fanout.open(subscription);
    this.deps.counters.add('subscriptions', 1);
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
    this.deps.fanout.close(subscription);
    subscription.client.subscriptions.delete(subscription.subId);
    this.deps.counters.add('subscriptions', -1);
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
