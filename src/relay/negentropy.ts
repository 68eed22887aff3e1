import type { Config } from '../config/types.js';
import type { CompiledFilter } from '../filter/compile.js';
import * as nip77 from '../nips/nip77.js';
import { authFrame, negErrFrame, negMsgFrame } from '../protocol/frames.js';
import { reason, reject, type Rejection } from '../protocol/prefixes.js';
import type { Client } from './client.js';
import type { NegentropyBudget } from './negentropy-budget.js';
import type { SharedBudget } from '../worker/shared-budget.js';

type KeysResult = nip77.NegStorage | nip77.BudgetRefusal;

/** What the negentropy handler needs from the relay. */
export interface NegentropyDeps {
  config: Pick<Config, 'negentropy' | 'limits'>;
  /** Records and per-IP sessions of the whole process (shared by every site). */
  budget: NegentropyBudget;
  /** Compiles one NEG-OPEN filter under the same rules as a REQ filter. */
  compile(input: unknown): CompiledFilter | Rejection;
  /**
   * Read rules (src/policy/read.ts): the filter as this connection may read it — narrowed, or refused (e.g.
   * `auth-required:` for a restricted-only filter). Called before the set is built. Absent = readable as is.
   */
  checkRead?(client: Client, filter: CompiledFilter): readonly CompiledFilter[] | Rejection;
  /** Rate limits: a NEG-OPEN spends the connection's query budget. Absent = no limit. */
  checkRate?(client: Client): Rejection | undefined;
  /** rate_limits.exempt_ips: such an IP has no cap on its sessions (the process budget still applies). */
  isExempt?(client: Client): boolean;
  /**
   * The set of (created_at, id) of stored events matching the filter, at most `max`, charged to `budget`
   * as it is read (from a reader thread: later); a refusal when it does not fit.
   */
  keys(filter: CompiledFilter, now: number, max: number, budget: SharedBudget): KeysResult | Promise<KeysResult>;
  /** Changes whenever the stored events may have changed: sets read at the same version are equal. */
  storeVersion(): string;
  /** Counts a NEG-OPEN whose set is being read elsewhere among the work drain() waits for. */
  track?(task: Promise<void>): void;
  now(): number;
  /** Logs a refusal the way the relay logs every other one. */
  logRejection(client: Client, message: string): void;
}

/** One set, read once for every NEG-OPEN with the same filters at the same store version. */
interface SharedSet {
  readonly key: string;
  /** Settles when the set is read and admitted (`storage`) or refused (`refusal`). */
  ready: Promise<void> | undefined;
  storage: nip77.NegStorage | undefined;
  refusal: Rejection | undefined;
  /** Sessions using it, open or waiting for it. */
  users: number;
  /** Records charged to the budget (0 until admitted). */
  charged: number;
}

interface Session {
  readonly set: SharedSet;
  readonly ip: string;
  /** Runs from the first answer on. */
  timer: NodeJS.Timeout | undefined;
}

/**
 * NIP-77 sessions of every connection: NEG-OPEN reads the set once (no JSON read), NEG-MSG answers
 * from it, NEG-CLOSE / NEG-ERR / idle timeout / disconnect free it. NEG ids are their own namespace,
 * separate from REQ ids.
 *
 * Memory is bounded three ways: sessions per connection and per IP, and the records of all sets in the
 * process (negentropy.max_total_records). NEG-OPENs with the same filters while nothing was written in
 * between share one set, counted once; a set is dropped with its last session. An event that expires
 * (NIP-40) meanwhile stays in a shared set until the pruner deletes it, as in any open session.
 */
export class NegentropySessions {
  private readonly sessions = new WeakMap<Client, Map<string, Session>>();
  private readonly sets = new Map<string, SharedSet>();

  constructor(private readonly deps: NegentropyDeps) {}

  /** Sessions and records of this site's sessions. */
  usage(): { sessions: number; records: number } {
    let sessions = 0;
    let records = 0;
    for (const set of this.sets.values()) {
      sessions += set.users;
      records += set.charged;
    }
    return { sessions, records };
  }

  open(client: Client, subId: string, filterInput: unknown, message: unknown): void {
    const { budget } = this.deps;
    this.close(client, subId); // NEG-OPEN on an open id replaces it
    const refused = this.checkOpen(client, subId);
    if (refused) return this.refuse(client, subId, refused);
    if (typeof message !== 'string') return this.refuse(client, subId, reject('invalid', 'NEG-OPEN needs a filter and a hex message'));
    const filter = this.deps.compile(filterInput);
    if ('prefix' in filter) return this.refuse(client, subId, filter);
    const readable = this.deps.checkRead ? this.deps.checkRead(client, filter) : [filter];
    if ('prefix' in readable) return this.refuse(client, subId, readable);

    const key = `${filtersKey(readable)}@${this.deps.storeVersion()}`;
    let set = this.sets.get(key);
    const fresh = set === undefined;
    if (set === undefined) {
      if (budget.full()) return this.refuse(client, subId, busy(budget.limit));
      set = { key, ready: undefined, storage: undefined, refusal: undefined, users: 0, charged: 0 };
      this.sets.set(key, set);
    }
    const session: Session = { set, ip: client.ip, timer: undefined };
    let map = this.sessions.get(client);
    if (map === undefined) this.sessions.set(client, (map = new Map()));
    map.set(subId, session);
    set.users++;
    budget.sessionOpened(client.ip);
    if (fresh) this.read(set, readable);
    if (set.ready === undefined) return this.start(client, subId, session, message);
    // Read on a reader thread: the session starts when the set arrives, unless closed or replaced meanwhile.
    this.deps.track?.(
      set.ready.then(() => {
        if (!client.closed && this.sessions.get(client)?.get(subId) === session) this.start(client, subId, session, message);
      }),
    );
  }

  /** The checks before a NEG-OPEN's filter is looked at: enabled, id, rate, sessions per connection and per IP. */
  private checkOpen(client: Client, subId: string): Rejection | undefined {
    const { negentropy, limits } = this.deps.config;
    if (!negentropy.enabled) return reject('unsupported', 'negentropy is disabled on this relay');
    if (subId.length === 0 || subId.length > limits.max_subid_length) {
      return reject('invalid', `subscription id must be 1 to ${limits.max_subid_length} characters`);
    }
    const limited = this.deps.checkRate?.(client);
    if (limited) return limited;
    if ((this.sessions.get(client)?.size ?? 0) >= negentropy.max_sessions) {
      return reject('rate-limited', `at most ${negentropy.max_sessions} open negentropy sessions per connection; close one first`);
    }
    if (this.deps.budget.sessionsFrom(client.ip) >= negentropy.max_sessions_per_ip && !this.deps.isExempt?.(client)) {
      return reject('rate-limited', `at most ${negentropy.max_sessions_per_ip} open negentropy sessions per IP; close one first`);
    }
    return undefined;
  }

  message(client: Client, subId: string, message: unknown): void {
    const session = this.sessions.get(client)?.get(subId);
    if (session?.timer === undefined) return this.refuse(client, subId, reject('closed', 'no open negentropy session with this id'));
    if (typeof message !== 'string') return this.refuse(client, subId, reject('invalid', 'NEG-MSG needs a hex message'));
    session.timer.refresh();
    this.answer(client, subId, session.set.storage!, message);
  }

  /** NEG-CLOSE: frees the session, no reply; an unknown id is answered `closed:`. */
  closeRequested(client: Client, subId: string): void {
    if (!this.close(client, subId)) this.refuse(client, subId, reject('closed', 'no open negentropy session with this id'));
  }

  disconnect(client: Client): void {
    const map = this.sessions.get(client);
    if (map === undefined) return;
    this.sessions.delete(client);
    for (const session of map.values()) this.release(session);
  }

  /** Reads the set's records (charged as they are read), then admits them or records why not. */
  private read(set: SharedSet, filters: readonly CompiledFilter[]): void {
    const keys = this.keysOf(filters, this.deps.config.negentropy.max_records + 1);
    if (!(keys instanceof Promise)) return this.admit(set, keys);
    set.ready = keys.then(
      (result) => this.admit(set, result),
      () => this.settle(set, reject('error', 'could not read the set')),
    );
  }

  private admit(set: SharedSet, result: KeysResult): void {
    const { max_records } = this.deps.config.negentropy;
    const { budget } = this.deps;
    if (result === 'too-large')
      return this.settle(set, reject('blocked', `too many records for this relay's negentropy budget (max ${budget.limit})`));
    if (result === 'busy') return this.settle(set, busy(budget.limit));
    // The set arrives charged: kept, or given back when too large or when every session left meanwhile.
    if (set.users > 0 && result.size <= max_records) {
      set.storage = result;
      set.charged = result.size;
      return;
    }
    budget.give(result.size);
    if (set.users > 0) this.settle(set, reject('blocked', `too many records (max ${max_records})`));
  }

  /** A refused set: its sessions are answered with `refusal`, and a later NEG-OPEN reads afresh. */
  private settle(set: SharedSet, refusal: Rejection): void {
    set.refusal = refusal;
    if (this.sets.get(set.key) === set) this.sets.delete(set.key);
  }

  private start(client: Client, subId: string, session: Session, message: string): void {
    const { storage, refusal } = session.set;
    if (storage === undefined) return this.refuse(client, subId, refusal ?? reject('error', 'could not read the set'));
    session.timer = this.idleTimer(client, subId);
    this.answer(client, subId, storage, message);
  }

  private answer(client: Client, subId: string, storage: nip77.NegStorage, message: string): void {
    // The reply frame must stay within limits.max_message_bytes: hex doubles the binary size.
    const frameSizeLimit = Math.floor((this.deps.config.limits.max_message_bytes - 64 - subId.length) / 2);
    let result: nip77.ReconcileResult;
    try {
      result = nip77.reconcile(storage, message, frameSizeLimit);
    } catch (error) {
      if (!(error instanceof nip77.NegProtocolError)) throw error;
      return this.refuse(client, subId, reject('invalid', `negentropy message: ${error.message}`));
    }
    client.send(negMsgFrame(subId, result.message));
  }

  private idleTimer(client: Client, subId: string): NodeJS.Timeout {
    const timer = setTimeout(() => {
      if (client.closed) return this.disconnect(client);
      this.refuse(client, subId, reject('closed', `negentropy session idle for ${this.deps.config.negentropy.idle_seconds} seconds`));
    }, this.deps.config.negentropy.idle_seconds * 1000);
    timer.unref();
    return timer;
  }

  /** Keys of the union of the (read-rule) parts, oldest first, each id once, charged to the budget. */
  private keysOf(filters: readonly CompiledFilter[], max: number): KeysResult | Promise<KeysResult> {
    const now = this.deps.now();
    const budget = this.deps.budget.forReading;
    if (filters.length === 1) return this.deps.keys(filters[0]!, now, max, budget);
    const parts = filters.map((filter) => this.deps.keys(filter, now, max, budget));
    if (parts.some((part) => part instanceof Promise)) return Promise.all(parts).then((all) => union(all, max, budget));
    return union(parts as KeysResult[], max, budget);
  }

  /** Answers NEG-ERR and closes the session (if open). */
  private refuse(client: Client, subId: string, { prefix, text }: Rejection): void {
    this.close(client, subId);
    const message = reason(prefix, text);
    this.deps.logRejection(client, message);
    client.send(negErrFrame(subId, message));
    // NIP-42: an auth-required refusal is followed by the connection's challenge.
    if (prefix === 'auth-required' && client.challenge !== '') client.send(authFrame(client.challenge));
  }

  private close(client: Client, subId: string): boolean {
    const map = this.sessions.get(client);
    const session = map?.get(subId);
    if (map === undefined || session === undefined) return false;
    map.delete(subId);
    this.release(session);
    return true;
  }

  /** Gives back what a session held; its set goes with its last session. */
  private release(session: Session): void {
    clearTimeout(session.timer);
    this.deps.budget.sessionClosed(session.ip);
    const set = session.set;
    if (--set.users > 0) return;
    if (this.sets.get(set.key) === set) this.sets.delete(set.key);
    this.deps.budget.give(set.charged);
    set.charged = 0;
    set.storage = undefined;
  }
}

const busy = (limit: number): Rejection =>
  reject('rate-limited', `the relay holds as many negentropy records as it may (${limit}) for other sessions; try again later`);

/** The filters as a key: sets sorted, the limit left out (a NEG-OPEN ignores it). */
function filtersKey(filters: readonly CompiledFilter[]): string {
  return JSON.stringify(filters, (name, value: unknown) => {
    if (name === 'limit' || name === 'group') return undefined;
    return value instanceof Set ? [...(value as Set<string | number>)].sort() : value;
  });
}

/** The parts' union, charged with its own size (the parts' charges are given back), or the first refusal. */
function union(parts: readonly KeysResult[], max: number, budget: SharedBudget): KeysResult {
  const sets = parts.filter((part): part is nip77.NegStorage => typeof part !== 'string');
  const charged = sets.reduce((sum, set) => sum + set.size, 0);
  const refusal = parts.find((part): part is nip77.BudgetRefusal => typeof part === 'string');
  if (refusal !== undefined) {
    budget.give(charged);
    return refusal;
  }
  const byId = new Map<string, [number, Uint8Array]>();
  for (const part of sets) {
    for (let i = 0; i < part.size; i++) byId.set(Buffer.from(part.id(i)).toString('hex'), [part.timestamp(i), part.id(i)]);
  }
  const whole = nip77.NegStorage.fromRows([...byId.values()].sort((a, b) => a[0] - b[0] || Buffer.compare(a[1], b[1])).slice(0, max));
  budget.give(charged - whole.size);
  return whole;
}
