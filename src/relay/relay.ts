import type { MessagePort } from 'node:worker_threads';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import { unixNow } from '../event/clock.js';
import type { NostrEvent } from '../event/types.js';
import type { Verifier } from '../event/verify.js';
import { compileFilters } from '../filter/compile.js';
import * as nip40 from '../nips/nip40.js';
import { newChallenge } from '../nips/nip42.js';
import { authFrame, noticeFrame } from '../protocol/frames.js';
import { negOpenFilter, parseClientMessage } from '../protocol/parse.js';
import type { MemberSet } from '../policy/membership.js';
import { reason } from '../protocol/prefixes.js';
import { Pruner } from '../retention/pruner.js';
import { planReload, type ReloadPlan } from '../config/reload.js';
import type { EventToWrite } from '../store/types.js';
import type { Client } from './client.js';
import { Counters, type RelayCounters } from './counters.js';
import type { RelayStore } from './relay-store.js';
import { frameDigest, isEventFrame } from './known-events.js';
import { NegentropySessions } from './negentropy.js';
import { NegentropyBudget } from './negentropy-budget.js';
import { Queries, readerCount, type QueryReaders } from './queries.js';
import { Subscriptions } from './subscriptions.js';
import { RateLimits, type SharedRateLimits } from './rate-limits.js';
import { BatchWriter, type CommitBatch } from './writer.js';
import { Fanout } from '../fanout/fanout.js';
import { LocalBus, type CommittedBus, type CommittedEvent } from '../fanout/committed.js';
import { EventIntake } from './intake.js';
import { WriterThread } from '../store/writer-thread.js';
import type { Management } from './management.js';
import { buildPolicyState, retiredMembers, type PolicyParts, type PolicyState } from './policy-state.js';
import { NO_METRICS, type RelayMetrics } from './metrics.js';
import { BackupSchedule } from './backups.js';

export interface RelayOptions {
  /** Unix seconds. */
  now?: () => number;
  /** NIP-86 state (src/relay/management.ts): its bans and allow lists join the write policies. */
  management?: Management;
  /** The clock in milliseconds, for rate limits. */
  nowMs?: () => number;
  /** NIP-77 records and sessions per IP of the whole process; absent = this relay's own. */
  negentropyBudget?: NegentropyBudget;
  /** What GET /metrics reports of this relay; absent = metrics off. */
  metrics?: RelayMetrics;
  /** server.threads: this thread's row of counters shared by every connection thread; absent = its own. */
  counters?: RelayCounters;
  /** server.threads: the per-IP and per-pubkey rate limit tables every connection thread shares, and this thread's row; absent = its own. */
  sharedRateLimits?: { tables: SharedRateLimits; row: number };
  /** Runs the retention pruner and the periodic backups (false in connection threads: the main thread's relay does). */
  prunes?: boolean;
  /** The query readers (server.threads: the main thread's, shared); absent = query.readers of its own (auto = 1). */
  queryReaders?: QueryReaders;
}

/**
 * The protocol engine: NIP-01 messages in, frames out. It knows nothing of sockets; src/server
 * feeds it text and hands it `Client`s.
 */
export class Relay {
  /** Totals of every connection thread (server.threads); this thread adds its own. */
  readonly counters: RelayCounters;
  /** What GET /metrics reports of this relay (src/relay/metrics.ts); NO_METRICS = metrics off. */
  readonly metrics: RelayMetrics;
  private readonly now: () => number;
  /** NIP-86 state (src/relay/management.ts): its bans and allow lists join the write policies. */
  private readonly management: Management | undefined;
  private readonly writer: BatchWriter;
  /** storage.writer_thread with a database file: commits happen there, off the event loop. */
  private readonly writerThread: WriterThread | undefined;
  /** Everything derived from the config; replaced whole by reconfigure(). */
  private state: PolicyState;
  private readonly parts: PolicyParts;
  private closing = false;
  /** NIP-77 sessions (NEG ids are their own namespace, apart from REQ ids). */
  private readonly negentropy: NegentropySessions;
  /** Retention and NIP-40: a pass every PRUNE_INTERVAL_MS, in small batches (src/retention/pruner.ts). */
  readonly pruner: Pruner;
  /** backup.every: a checked copy of the database now and then (src/relay/backups.ts). */
  readonly backups: BackupSchedule;
  /** rate_limits: read from this.config on every check; the server asks it about new connections. */
  readonly rateLimits: RateLimits;
  /** Stored answers of REQ, COUNT and NEG-OPEN: inline, or on reader threads for the long ones. */
  private readonly queries: Queries;
  /** REQ, COUNT and CLOSE (src/relay/subscriptions.ts). */
  private readonly subscriptions: Subscriptions;
  /** Live delivery to this relay's subscriptions (src/fanout/). */
  private readonly fanout: Fanout;
  /** Committed batches of this relay's store, published after each commit; the fan-out listens. */
  readonly committed: CommittedBus = new LocalBus();
  /** EVENT and AUTH, in the order each connection sent them (src/relay/intake.ts). */
  private readonly intake: EventIntake;

  constructor(
    config: Config,
    readonly store: RelayStore,
    verifier: Verifier,
    private readonly log: Logger,
    options: RelayOptions = {},
  ) {
    const now = (this.now = options.now ?? unixNow);
    const nowMs = options.nowMs ?? Date.now;
    const metrics = (this.metrics = options.metrics ?? NO_METRICS);
    const management = (this.management = options.management);
    this.counters = options.counters ?? new Counters();
    const negentropyBudget = options.negentropyBudget ?? new NegentropyBudget(() => this.config.negentropy.max_total_records);
    this.rateLimits = new RateLimits(() => this.config.rate_limits, nowMs, options.sharedRateLimits);
    const location = store.location;
    const outboxMax = config.cluster.enabled ? config.cluster.outbox_max_events : undefined;
    this.writerThread = config.storage.writer_thread && location !== undefined ? new WriterThread(location, outboxMax) : undefined;
    const thread = this.writerThread;
    const commit = thread ? (items: EventToWrite[]) => thread.write(items) : (items: EventToWrite[]) => store.commit(items);
    this.writer = new BatchWriter(metrics === NO_METRICS ? commit : timedCommit(commit, metrics), (items, written) => {
      const events: CommittedEvent[] = [];
      items.forEach((item, i) => {
        if (written.outcomes[i]!.status === 'stored') events.push({ event: item.event, json: item.json });
      });
      this.counters.add('eventsStored', events.length);
      if (events.length === 0) return;
      try {
        this.committed.publish({ v: 1, commitSeq: written.commitSeq, events });
      } catch (error) {
        this.log.error({ err: error, commitSeq: written.commitSeq }, 'error while delivering events live');
      }
    });
    this.fanout = new Fanout({
      readRules: () => this.state.readRules,
      now,
      liveSent: (frames) => metrics.liveSent(frames),
    });
    this.committed.subscribe((batch) => this.fanout.committed(batch));
    // server.threads: the batches the other connection threads commit to this store, and the ephemeral
    // events they accept, in the order the writer thread relayed them. Without a subscription here there
    // is nothing to parse: a subscription opened later reads these events from the store.
    this.writerThread?.onElsewhere({
      committed: (commitSeq, jsons) => {
        if (this.fanout.size === 0) return;
        try {
          const events = jsons.map((json): CommittedEvent => ({ event: JSON.parse(json) as NostrEvent, json }));
          this.committed.publish({ v: 1, commitSeq, events });
        } catch (error) {
          this.log.error({ err: error, commitSeq }, 'error while delivering events committed by another thread');
        }
      },
      ephemeral: (json) => {
        if (this.fanout.size > 0) this.fanout.ephemeral({ event: JSON.parse(json) as NostrEvent, json });
      },
      managed: () => this.management?.changedElsewhere(),
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
    this.pruner.onPass = (report) => metrics.pruned(report);
    this.backups = new BackupSchedule(location?.path, () => this.state.config.backup, log, nowMs);
    if (options.prunes !== false) {
      this.pruner.start();
      this.backups.start();
    }
    const current = (): PolicyState => this.state;
    this.intake = new EventIntake({
      state: current,
      closing: () => this.closing,
      counters: this.counters,
      metrics,
      rateLimits: this.rateLimits,
      verifier,
      now,
      deliverEphemeral: (item) => {
        this.fanout.ephemeral(item);
        this.writerThread?.shareEphemeral(item.json);
      },
      sendChallenge: (client) => this.sendChallenge(client),
      logRejection: (client, message, id) => this.logRejection(client, message, id),
    });
    this.queries = new Queries({
      store,
      readers: options.queryReaders ?? { count: readerCount(config.query.readers, 1) },
      minLimit: () => this.state.config.query.reader_min_limit,
      now,
      unsubscribe: (subscription) => this.subscriptions.unsubscribe(subscription),
      fanout: this.fanout,
      metrics,
      log,
    });
    this.subscriptions = new Subscriptions({
      state: current,
      counters: this.counters,
      metrics,
      rateLimits: this.rateLimits,
      queries: this.queries,
      fanout: this.fanout,
      now,
      sendChallenge: (client) => this.sendChallenge(client),
      logRejection: (client, message) => this.logRejection(client, message),
    });
    this.negentropy = new NegentropySessions({
      get config() {
        return current().config;
      },
      budget: negentropyBudget,
      compile: (input) => {
        const { limits, search } = this.state.config;
        const one = negOpenFilter(input);
        if ('prefix' in one) return one;
        const compiled = compileFilters([one.filter], limits, { search: search.enabled });
        return Array.isArray(compiled) ? compiled[0]! : compiled;
      },
      checkRead: (client, filter) => this.subscriptions.checkRead(client, [filter]),
      checkRate: (client) => this.rateLimits.query(client.id),
      isExempt: (client) => this.rateLimits.isExempt(client.ip),
      keys: (filter, now, max, budget) => this.queries.keys(filter, now, max, budget),
      storeVersion: () => store.version(),
      track: (task) => this.queries.track(task),
      now,
      logRejection: (client, message) => this.logRejection(client, message),
    });
  }

  /** NIP-77 sessions and the records of their sets, on this relay. */
  negentropyUsage(): { sessions: number; records: number } {
    return this.negentropy.usage();
  }

  /** server.threads: a port to this relay's query reader `index`, for another connection thread's relay (src/threads/). */
  readerPort(index: number): MessagePort | undefined {
    return this.queries.readerPort(index);
  }

  /** Query reader threads this relay started and that run now (0 in a connection thread: it uses the main thread's). */
  get readersStarted(): number {
    return this.queries.readersStarted;
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
    if (!isDeepStrictEqual(previous.config.backup, plan.config.backup)) this.backups.reschedule();
    return plan;
  }

  connect(client: Client): void {
    this.counters.add('connections', 1);
    this.metrics.connectionOpened();
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
    this.counters.add('connections', -1);
    this.subscriptions.disconnect(client);
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
    await this.backups.stop();
    this.members?.stop();
    await this.intake.drain();
    await this.writer.drain();
    await this.writerThread?.close();
    await this.queries.drain();
  }

  /** After drain(): closes the store. */
  close(): void {
    void this.pruner.stop();
    void this.backups.stop();
    this.members?.stop();
    this.queries.close();
    void this.writerThread?.close();
    this.store.close();
  }

  private dispatch(client: Client, text: string): void {
    const message = parseClientMessage(text);
    switch (message.type) {
      case 'EVENT':
        return this.intake.onEvent(client, message.event, isEventFrame(text) ? frameDigest(text) : undefined);
      case 'REQ':
        return this.subscriptions.onReq(client, message.subId, message.filters);
      case 'COUNT':
        return this.subscriptions.onCount(client, message.subId, message.filters);
      case 'AUTH':
        return this.intake.onAuth(client, message.event);
      case 'NEG-OPEN':
        return this.negentropy.open(client, message.subId, message.filter, message.message);
      case 'NEG-MSG':
        return this.negentropy.message(client, message.subId, message.message);
      case 'NEG-CLOSE':
        return this.negentropy.closeRequested(client, message.subId);
      case 'CLOSE':
        return this.subscriptions.onClose(client, message.subId);
      case 'malformed':
        this.logRejection(client, message.message);
        return client.send(noticeFrame(message.message));
    }
  }

  private logRejection(client: Client, message: string, id?: string): void {
    client.log[this.state.config.logging.rejections]({ id, reason: message }, 'rejected');
  }
}

/** `commit`, reporting each batch's size and commit time (inline, or the round trip to the writer thread). */
function timedCommit(commit: CommitBatch, metrics: RelayMetrics): CommitBatch {
  return (items) => {
    const started = metrics.clock();
    const result = commit(items);
    if (!(result instanceof Promise)) {
      metrics.batchCommitted(items.length, metrics.clock() - started);
      return result;
    }
    return result.then((written) => {
      metrics.batchCommitted(items.length, metrics.clock() - started);
      return written;
    });
  };
}
