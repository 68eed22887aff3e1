import { OutboxFullError } from '../store/writer-thread.js';
import type { Config } from '../config/types.js';
import type { Verifier } from '../event/verify.js';
import type { NostrEvent } from '../event/types.js';
import { validateShape } from '../event/validate.js';
import { verifyAuthEvent } from '../nips/nip42.js';
import { thisRelay, type RelayMatcher } from '../nips/nip62.js';
import type { ProtectedPolicy } from '../nips/nip70.js';
import { noticeFrame, okFrame } from '../protocol/frames.js';
import { reason } from '../protocol/prefixes.js';
import type { EventToWrite } from '../store/types.js';
import type { Client } from './client.js';
import { decideKnown, ingestEvent, type IngestDeps, type IngestOutcome } from './ingest.js';
import { KnownEvents } from './known-events.js';
import type { PolicyState } from './policy-state.js';
import type { RateLimits } from './rate-limits.js';
import type { RelayCounters } from './counters.js';
import type { RelayMetrics } from './metrics.js';

/** What the intake needs from the relay. */
export interface IntakeDeps {
  /** The policy state of the moment (a reload replaces it). */
  state(): PolicyState;
  /** Shutting down: new events are refused with error:. */
  closing(): boolean;
  readonly counters: RelayCounters;
  readonly metrics: RelayMetrics;
  readonly rateLimits: RateLimits;
  readonly verifier: Verifier;
  now(): number;
  /** Delivers an accepted ephemeral event to live subscribers. */
  deliverEphemeral(item: EventToWrite): void;
  /** NIP-42: sends the connection's challenge. */
  sendChallenge(client: Client): void;
  logRejection(client: Client, message: string, id?: string): void;
}

/** A connection's own ingest parts and the deps last built from them. */
interface ConnectionDeps {
  readonly rateLimits: IngestDeps['rateLimits'];
  state: PolicyState;
  deps: IngestDeps;
}

/**
 * EVENT and AUTH: how each enters (ingest.ts), in the order a connection sent them, and how each is
 * answered. Holds the per-connection state of that: the last event's place in line, the EVENTs and AUTHs
 * not answered yet, the connection's own ingest parts, and the duplicate fast path (known-events.ts).
 */
export class EventIntake {
  private readonly inflight = new Set<Promise<void>>();
  /** Per connection, the last event's `placed` promise: events are decided in the order sent. */
  private readonly eventOrder = new WeakMap<Client, Promise<void>>();
  /** Per connection, EVENTs and AUTHs not yet answered; at 0 a known duplicate is answered synchronously. */
  private readonly unanswered = new WeakMap<Client, number>();
  /** Digests of the frames of recently stored regular events: the duplicate fast path (known-events.ts). */
  private readonly knownEvents = new KnownEvents();
  /** Per connection: its NIP-70 and NIP-62 parts, and the ingest deps last built from them (and which state). */
  private readonly connectionDeps = new WeakMap<Client, ConnectionDeps>();

  constructor(private readonly deps: IntakeDeps) {}

  /** A new connection: its IP's event budget and its own ingest parts. */
  connect(client: Client): void {
    const state = this.deps.state();
    const rateLimits = this.deps.rateLimits.events(client.ip);
    this.connectionDeps.set(client, {
      rateLimits,
      state,
      deps: { ...state.ingest, ...connectionPolicies(state.config, client), rateLimits },
    });
  }

  /** Resolves once every EVENT and AUTH under way has been answered. */
  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /**
   * An EVENT. `digest`: frameDigest of its frame, when the frame is written the way clients write them
   * (known-events.ts isEventFrame); the frame of a recently stored event is then a known duplicate.
   */
  onEvent(client: Client, input: unknown, digest?: string): void {
    if (digest !== undefined && this.knownEvents.has(digest)) {
      const shape = validateShape(input);
      if (shape.ok) return this.onKnownEvent(client, shape.event, digest);
    }
    this.ingest(client, input, digest, false);
  }

  /**
   * The very frame of a stored event again: answered now, without the id hash, when nothing sent
   * before it on this connection is still waiting for its answer (an AUTH before it is decided);
   * otherwise the full path without the id hash, after the earlier events.
   */
  private onKnownEvent(client: Client, event: NostrEvent, digest: string): void {
    if (!this.deps.closing() && (this.unanswered.get(client) ?? 0) === 0) {
      const started = this.deps.metrics.clock();
      const outcome = decideKnown(event, this.ingestDepsFor(client));
      if (outcome !== undefined) {
        this.deps.counters.add('eventsReceived', 1);
        return this.answer(client, outcome, event, started);
      }
      this.knownEvents.forget(digest); // no longer stored: the full path decides (e.g. blocked: deleted)
    }
    this.ingest(client, event, digest, true);
  }

  private ingest(client: Client, input: unknown, digest: string | undefined, validated: boolean): void {
    this.deps.counters.add('eventsReceived', 1);
    const started = this.deps.metrics.clock();
    if (this.deps.closing()) {
      const id = (input as { id?: unknown } | null)?.id;
      if (typeof id === 'string') client.send(okFrame(id, false, reason('error', 'relay is shutting down; try again shortly')));
      return this.deps.metrics.eventAnswered('error', input, started);
    }
    const deps = this.ingestDepsFor(client);
    const { outcome, placed } = ingestEvent(input, deps, this.eventOrder.get(client), validated);
    this.eventOrder.set(client, placed);
    this.unanswered.set(client, (this.unanswered.get(client) ?? 0) + 1);
    const task = outcome
      .then((outcome) => {
        if (outcome.type === 'ok' && outcome.stored && digest !== undefined) this.knownEvents.remember(digest);
        this.answer(client, outcome, input, started);
      })
      .catch((error: unknown) => {
        const full = error instanceof OutboxFullError;
        if (full) client.log.warn(error.message);
        else client.log.error({ err: error }, 'error while storing an event');
        const id = (input as { id?: unknown } | null)?.id;
        const why = full ? 'the relay cannot reach its cluster and its outbox is full; try again later' : 'could not store the event';
        if (typeof id === 'string') client.send(okFrame(id, false, reason('error', why)));
        this.deps.metrics.eventAnswered('error', input, started);
      })
      .finally(() => this.settle(client, task));
    this.inflight.add(task);
  }

  /** `input` and `started`: the event as received and when (metrics). */
  private answer(client: Client, outcome: IngestOutcome, input: unknown, started: number): void {
    if (outcome.type === 'notice') {
      this.deps.logRejection(client, outcome.message);
      // Counted before the answer leaves: a client that reads /metrics after its answer sees it counted.
      this.deps.metrics.eventAnswered('invalid', input, started);
      return client.send(noticeFrame(outcome.message));
    }
    if (!outcome.accepted) this.deps.logRejection(client, outcome.message, outcome.id);
    this.deps.metrics.eventAnswered(outcome.outcome, input, started);
    client.send(okFrame(outcome.id, outcome.accepted, outcome.message));
    // NIP-70 (and NIP-42): an auth-required refusal is followed by the connection's challenge.
    if (outcome.outcome === 'auth-required') this.deps.sendChallenge(client);
    if (outcome.ephemeral) this.deps.deliverEphemeral(outcome.ephemeral);
  }

  /** An EVENT or AUTH of this connection has been answered. */
  private settle(client: Client, task: Promise<void>): void {
    this.inflight.delete(task);
    this.unanswered.set(client, (this.unanswered.get(client) ?? 1) - 1);
  }

  /** The connection's ingest deps under the current state (rebuilt once after a reload). */
  private ingestDepsFor(client: Client): IngestDeps {
    const state = this.deps.state();
    const own = this.connectionDeps.get(client);
    if (own === undefined) return state.ingest;
    if (own.state !== state) {
      own.state = state;
      own.deps = { ...state.ingest, ...connectionPolicies(state.config, client), rateLimits: own.rateLimits };
    }
    return own.deps;
  }

  /**
   * NIP-42: always answered with OK (or a NOTICE when no id is readable). Events sent after the AUTH
   * on the same connection wait for its verdict, so AUTH then a protected EVENT may be pipelined.
   */
  onAuth(client: Client, input: unknown): void {
    const readableId = (input as { id?: unknown }).id;
    const id = typeof readableId === 'string' ? readableId : undefined;
    if (!this.deps.state().config.auth.enabled) {
      const message = reason('restricted', 'authentication is disabled');
      this.deps.logRejection(client, message, id);
      return client.send(id === undefined ? noticeFrame(message) : okFrame(id, false, message));
    }
    if (client.challenge === '') {
      // Opened while AUTH was off (a reload turned it on): nothing to sign yet; the challenge follows.
      const message = reason('auth-required', 'no challenge was sent on this connection yet; sign the one that follows');
      client.send(id === undefined ? noticeFrame(message) : okFrame(id, false, message));
      return this.deps.sendChallenge(client);
    }
    // An AUTH costs a signature check like an EVENT, so it spends the same IP budget.
    const flooded = this.deps.rateLimits.eventFromIp(client.ip);
    if (flooded) {
      const message = reason(flooded.prefix, flooded.text);
      this.deps.logRejection(client, message, id);
      return client.send(id === undefined ? noticeFrame(message) : okFrame(id, false, message));
    }
    const context = {
      challenge: client.challenge,
      relayUrl: this.deps.state().config.relay.url,
      host: client.host,
      now: this.deps.now(),
      maxAgeSeconds: this.deps.state().config.auth.max_age_seconds,
    };
    const previous = this.eventOrder.get(client);
    const task = verifyAuthEvent(input, context, this.deps.verifier)
      .then((result) => {
        if (result.ok) {
          client.authenticated.add(result.event.pubkey);
          client.log[this.deps.state().config.logging.connections]({ pubkey: result.event.pubkey }, 'authenticated');
          return client.send(okFrame(result.event.id, true, ''));
        }
        const message = reason(result.rejection.prefix, result.rejection.text);
        this.deps.logRejection(client, message, result.id);
        client.send(result.id === undefined ? noticeFrame(message) : okFrame(result.id, false, message));
      })
      .catch((error: unknown) => {
        client.log.error({ err: error }, 'error while checking an AUTH event');
        if (id !== undefined) client.send(okFrame(id, false, reason('error', 'could not check the AUTH event')));
      })
      .finally(() => this.settle(client, task));
    this.inflight.add(task);
    this.unanswered.set(client, (this.unanswered.get(client) ?? 0) + 1);
    this.eventOrder.set(client, previous === undefined ? task : Promise.all([previous, task]).then(() => undefined));
  }
}

/**
 * The parts of a connection's ingest deps that follow the config (rebuilt after a reload): NIP-70 by
 * auth.enabled — a connection that authenticated keeps its pubkeys when AUTH is turned off — and NIP-62
 * by relay.url, else the Host this connection used.
 */
function connectionPolicies(config: Config, client: Client): { protectedEvents: ProtectedPolicy; isThisRelay: RelayMatcher } {
  const protectedEvents: ProtectedPolicy =
    config.auth.enabled || client.authenticated.size > 0 ? { mode: 'author', authenticated: client.authenticated } : { mode: 'refuse' };
  return { protectedEvents, isThisRelay: thisRelay(config.relay.url, client.host) };
}
