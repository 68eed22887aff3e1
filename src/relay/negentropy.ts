import type { Config } from '../config/types.js';
import type { CompiledFilter } from '../filter/compile.js';
import * as nip77 from '../nips/nip77.js';
import { authFrame, negErrFrame, negMsgFrame } from '../protocol/frames.js';
import { reason, type Rejection } from '../protocol/prefixes.js';
import type { Client } from './client.js';

/** What the negentropy handler needs from the relay. */
export interface NegentropyDeps {
  config: Pick<Config, 'negentropy' | 'limits'>;
  /** Compiles one NEG-OPEN filter under the same rules as a REQ filter. */
  compile(input: unknown): CompiledFilter | Rejection;
  /**
   * Read rules (src/policy/read.ts): the filter as this connection may read it — narrowed, or refused (e.g.
   * `auth-required:` for a restricted-only filter). Called before the set is built. Absent = readable as is.
   */
  checkRead?(client: Client, filter: CompiledFilter): readonly CompiledFilter[] | Rejection;
  /** Rate limits: a NEG-OPEN spends the connection's query budget. Absent = no limit. */
  checkRate?(client: Client): Rejection | undefined;
  /** The set of (created_at, id) of stored events matching the filter, at most `max` (from a reader thread: later). */
  keys(filter: CompiledFilter, now: number, max: number): nip77.NegStorage | Promise<nip77.NegStorage>;
  /** Counts a NEG-OPEN whose set is being read elsewhere among the work drain() waits for. */
  track?(task: Promise<void>): void;
  now(): number;
  /** Logs a refusal the way the relay logs every other one. */
  logRejection(client: Client, message: string): void;
}

interface Session {
  storage: nip77.NegStorage;
  timer: NodeJS.Timeout;
}

/**
 * NIP-77 sessions of every connection: NEG-OPEN builds the set once (no JSON read), NEG-MSG answers
 * from it, NEG-CLOSE / NEG-ERR / idle timeout / disconnect free it. NEG ids are their own namespace,
 * separate from REQ ids.
 */
export class NegentropySessions {
  private readonly sessions = new WeakMap<Client, Map<string, Session>>();
  /** NEG-OPENs whose set is still being read (on a reader thread): a token per id, dropped by close. */
  private readonly opening = new WeakMap<Client, Map<string, object>>();

  constructor(private readonly deps: NegentropyDeps) {}

  open(client: Client, subId: string, filterInput: unknown, message: unknown): void {
    const { negentropy, limits } = this.deps.config;
    this.close(client, subId); // NEG-OPEN on an open id replaces it
    if (!negentropy.enabled) return this.refuse(client, subId, 'unsupported', 'negentropy is disabled on this relay');
    if (subId.length === 0 || subId.length > limits.max_subid_length) {
      return this.refuse(client, subId, 'invalid', `subscription id must be 1 to ${limits.max_subid_length} characters`);
    }
    const limited = this.deps.checkRate?.(client);
    if (limited) return this.refuse(client, subId, limited.prefix, limited.text);
    const open = this.sessions.get(client);
    if ((open?.size ?? 0) + (this.opening.get(client)?.size ?? 0) >= negentropy.max_sessions) {
      return this.refuse(client, subId, 'rate-limited', `at most ${negentropy.max_sessions} open negentropy sessions per connection; close one first`);
    }
    if (typeof message !== 'string') return this.refuse(client, subId, 'invalid', 'NEG-OPEN needs a filter and a hex message');
    const filter = this.deps.compile(filterInput);
    if ('prefix' in filter) return this.refuse(client, subId, filter.prefix, filter.text);
    const readable = this.deps.checkRead ? this.deps.checkRead(client, filter) : [filter];
    if ('prefix' in readable) return this.refuse(client, subId, readable.prefix, readable.text);
    const set = this.keysOf(readable, negentropy.max_records + 1);
    if (!(set instanceof Promise)) return this.start(client, subId, set, message);
    // Read on a reader thread: the session starts when the keys arrive, unless closed or replaced meanwhile.
    const token = {};
    let opening = this.opening.get(client);
    if (opening === undefined) this.opening.set(client, (opening = new Map()));
    opening.set(subId, token);
    const current = (): boolean => !client.closed && this.opening.get(client)?.get(subId) === token;
    const task = set.then(
      (set) => {
        if (!current()) return;
        this.opening.get(client)!.delete(subId);
        this.start(client, subId, set, message);
      },
      () => {
        if (current()) this.refuse(client, subId, 'error', 'could not read the set');
      },
    );
    this.deps.track?.(task);
  }

  private start(client: Client, subId: string, storage: nip77.NegStorage, message: string): void {
    const { max_records } = this.deps.config.negentropy;
    if (storage.size > max_records) return this.refuse(client, subId, 'blocked', `too many records (max ${max_records})`);
    const session: Session = { storage, timer: this.idleTimer(client, subId) };
    let map = this.sessions.get(client);
    if (map === undefined) this.sessions.set(client, (map = new Map()));
    map.set(subId, session);
    this.answer(client, subId, session, message);
  }

  message(client: Client, subId: string, message: unknown): void {
    const session = this.sessions.get(client)?.get(subId);
    if (session === undefined) return this.refuse(client, subId, 'closed', 'no open negentropy session with this id');
    if (typeof message !== 'string') return this.refuse(client, subId, 'invalid', 'NEG-MSG needs a hex message');
    session.timer.refresh();
    this.answer(client, subId, session, message);
  }

  /** NEG-CLOSE: frees the session, no reply; an unknown id is answered `closed:`. */
  closeRequested(client: Client, subId: string): void {
    if (!this.close(client, subId)) this.refuse(client, subId, 'closed', 'no open negentropy session with this id');
  }

  disconnect(client: Client): void {
    this.opening.delete(client);
    const map = this.sessions.get(client);
    if (map === undefined) return;
    for (const session of map.values()) clearTimeout(session.timer);
    this.sessions.delete(client);
  }

  private answer(client: Client, subId: string, session: Session, message: string): void {
    // The reply frame must stay within limits.max_message_bytes: hex doubles the binary size.
    const frameSizeLimit = Math.floor((this.deps.config.limits.max_message_bytes - 64 - subId.length) / 2);
    let result: nip77.ReconcileResult;
    try {
      result = nip77.reconcile(session.storage, message, frameSizeLimit);
    } catch (error) {
      if (!(error instanceof nip77.NegProtocolError)) throw error;
      return this.refuse(client, subId, 'invalid', `negentropy message: ${error.message}`);
    }
    client.send(negMsgFrame(subId, result.message));
  }

  private idleTimer(client: Client, subId: string): NodeJS.Timeout {
    const timer = setTimeout(() => {
      if (client.closed) return this.disconnect(client);
      this.refuse(client, subId, 'closed', `negentropy session idle for ${this.deps.config.negentropy.idle_seconds} seconds`);
    }, this.deps.config.negentropy.idle_seconds * 1000);
    timer.unref();
    return timer;
  }

  /** Keys of the union of the (read-rule) parts, oldest first, each id once. */
  private keysOf(filters: readonly CompiledFilter[], max: number): nip77.NegStorage | Promise<nip77.NegStorage> {
    const now = this.deps.now();
    if (filters.length === 1) return this.deps.keys(filters[0]!, now, max);
    const parts = filters.map((filter) => this.deps.keys(filter, now, max));
    if (parts.some((part) => part instanceof Promise)) return Promise.all(parts).then((all) => union(all, max));
    return union(parts as nip77.NegStorage[], max);
  }

  /** Answers NEG-ERR and closes the session (if open). */
  private refuse(client: Client, subId: string, prefix: Rejection['prefix'], text: string): void {
    this.close(client, subId);
    const message = reason(prefix, text);
    this.deps.logRejection(client, message);
    client.send(negErrFrame(subId, message));
    // NIP-42: an auth-required refusal is followed by the connection's challenge.
    if (prefix === 'auth-required' && client.challenge !== '') client.send(authFrame(client.challenge));
  }

  private close(client: Client, subId: string): boolean {
    if (this.opening.get(client)?.delete(subId)) return true;
    const map = this.sessions.get(client);
    const session = map?.get(subId);
    if (map === undefined || session === undefined) return false;
    clearTimeout(session.timer);
    map.delete(subId);
    return true;
  }
}

function union(parts: readonly nip77.NegStorage[], max: number): nip77.NegStorage {
  const byId = new Map<string, [number, Uint8Array]>();
  for (const part of parts) {
    for (let i = 0; i < part.size; i++) byId.set(Buffer.from(part.id(i)).toString('hex'), [part.timestamp(i), part.id(i)]);
  }
  return nip77.NegStorage.fromRows([...byId.values()].sort((a, b) => a[0] - b[0] || Buffer.compare(a[1], b[1])).slice(0, max));
}
