/**
 * NIP-86: the relay's management state. Holds the admin-edited lists in memory (loaded from SQLite at
 * start, written through on every change), turns them into write policies that read the live sets, and
 * answers authorised JSON-RPC requests. Transport-free: src/server/http.ts hands it the request.
 */
import { kindSet } from '../config/kinds.js';
import type { Config } from '../config/types.js';
import type { Verifier } from '../event/verify.js';
import { handleRequest, type ListedEvent, type ListedIp, type ListedPubkey, type ManagementOps, RPC_CONTENT_TYPE } from '../nips/nip86.js';
import { verifyHttpAuth } from '../nips/nip98.js';
import { normaliseIp } from '../net/ip.js';
import { policy, type Pipeline, type Policy } from '../policy/pipeline.js';
import { reject } from '../protocol/prefixes.js';
import type { InfoField, ListedEntry, ManagedList, ManagementTables } from '../store/management.js';

/** A POST on the relay URL, as the transport read it. */
export interface RpcHttpRequest {
  /** The client's address (behind a trusted proxy, the one X-Forwarded-For names). */
  ip: string;
  contentType: string;
  authorization: string;
  host: string;
  path: string;
  body: Uint8Array;
}

export interface RpcHttpResponse {
  status: number;
  body: string;
  /** The admin whose NIP-98 token was accepted (for the log). */
  admin?: string;
}

type Entries = Map<string, string>;

/** The management state one relay owns. */
export class Management implements ManagementOps {
  private readonly entries: Record<ManagedList, Entries>;
  private readonly kinds: Set<number>;
  private overrides: Partial<Record<InfoField, string>>;
  private admins: ReadonlySet<string>;
  /** Called after blockip with the normalised address: the server closes that IP's connections. */
  onIpBlocked: (ip: string) => void = () => {};
  /**
   * Called after something NIP-11 shows changed — a name, description or icon, or a persisted pubkey or
   * kind list (restricted_writes) —: cached documents are rebuilt.
   */
  onInfoChanged: () => void = () => {};
  /** Called after any change this relay made to the persisted state (server.threads: the other threads re-read it). */
  onPersisted: () => void = () => {};
  private effective: Config | undefined;

  constructor(
    private config: Config,
    private readonly tables: ManagementTables,
    private readonly verifier: Verifier,
    private readonly now: () => number,
  ) {
    this.admins = new Set(config.management.admins);
    this.entries = { banned_pubkeys: new Map(), allowed_pubkeys: new Map(), banned_events: new Map(), blocked_ips: new Map() };
    this.kinds = new Set();
    this.overrides = {};
    this.reread();
  }

  /**
   * Reads the persisted lists and overrides again (another connection thread changed them). The maps
   * are refilled in place: the policies built from them see the change at once.
   */
  reread(): void {
    for (const name of Object.keys(this.entries) as ManagedList[]) {
      const entries = this.entries[name];
      entries.clear();
      for (const row of this.tables.list(name)) entries.set(row.key, row.reason);
    }
    this.kinds.clear();
    for (const kind of this.tables.allowedKinds()) this.kinds.add(kind);
    this.overrides = this.tables.infoOverrides();
    this.changed();
  }

  /** Another node changed the persisted state (cluster mode): re-read it and close connections from IPs now blocked. */
  changedElsewhere(): void {
    this.reread();
    for (const ip of this.entries.blocked_ips.keys()) this.onIpBlocked(ip);
  }

  /**
   * Hot reload (Relay.reconfigure): later policies() and effectiveConfig() follow `config`, and the next
   * request is checked against its management.admins and relay.url.
   */
  reconfigure(config: Config): void {
    this.config = config;
    this.admins = new Set(config.management.admins);
    this.effective = undefined;
  }

  /** Whether the API is on (management.admins non-empty). */
  get enabled(): boolean {
    return this.admins.size > 0;
  }

  /**
   * The config as the relay enforces it: the NIP-86 overrides of info.name / description / icon applied,
   * banned pubkeys added to write.pubkeys.deny, allowed pubkeys to write.pubkeys.allow and allowed kinds to
   * write.kinds.allow (alone when the config allows "*"), the way policies() applies them — so NIP-11's
   * restricted_writes and the page tell the truth. Banned events and blocked IPs have no place there.
   */
  effectiveConfig(): Config {
    return (this.effective ??= withLists(this.config, this.overrides, this.entries, this.kinds));
  }

  /** Drops the cached effective config and tells the listener. */
  private changed(): void {
    this.effective = undefined;
    this.onInfoChanged();
  }

  isIpBlocked(ip: string): boolean {
    if (this.entries.blocked_ips.size === 0) return false;
    return this.entries.blocked_ips.has(normaliseIp(ip) ?? ip);
  }

  /**
   * The write pipeline with the management rules applied: banned events and pubkeys first; the persisted
   * pubkey allow list joins write.pubkeys.allow (union) and the persisted kind allow list joins
   * write.kinds.allow (union; a config list of "*" restricts nothing, so the persisted list alone decides).
   */
  policies(base: Pipeline): Pipeline {
    const config = this.config;
    const bannedEvents = this.entries.banned_events;
    const bannedPubkeys = this.entries.banned_pubkeys;
    const allowedPubkeys = this.entries.allowed_pubkeys;
    const configPubkeys = new Set(config.write.pubkeys.allow);
    const configKindsOpen = config.write.kinds.allow.includes('*');
    const configKinds = configKindsOpen ? new Set<number>() : kindSet(config.write.kinds.allow);
    const blockedText = (): string => {
      const howToJoin = config.write.blocked_message;
      // The name as overridden by an admin now, else the one of the config these policies were built from.
      const name = this.overrides.name ?? config.info.name;
      return `only members of ${name} can post here${howToJoin === '' ? '' : ` — ${howToJoin}`}`;
    };
    const rules: Policy[] = [
      policy('management.banned_events', (event) =>
        bannedEvents.has(event.id) ? reject('blocked', 'this event is banned from this relay') : undefined,
      ),
      policy('management.banned_pubkeys', (event) =>
        bannedPubkeys.has(event.pubkey) ? reject('blocked', 'this pubkey is banned from this relay') : undefined,
      ),
      policy('write.pubkeys.allow', (event) => {
        if (configPubkeys.size === 0 && allowedPubkeys.size === 0) return undefined;
        return configPubkeys.has(event.pubkey) || allowedPubkeys.has(event.pubkey) ? undefined : reject('blocked', blockedText());
      }),
      policy('write.kinds.allow', (event) => {
        if (configKindsOpen && this.kinds.size === 0) return undefined;
        return configKinds.has(event.kind) || this.kinds.has(event.kind)
          ? undefined
          : reject('blocked', `kind ${event.kind} is not accepted here`);
      }),
    ];
    // The two allow rules above replace the config's own (same names), keeping the rest in order.
    const replaced = new Set(['write.pubkeys.allow', 'write.kinds.allow']);
    return Object.freeze([...rules, ...base.filter((rule) => !replaced.has(rule.name))]);
  }

  // ManagementOps ------------------------------------------------------------------------------------

  private put(name: ManagedList, key: string, reason: string): void {
    this.tables.put(name, key, reason, this.now());
    this.entries[name].set(key, reason);
    if (SHOWN_LISTS.has(name)) this.changed();
    this.onPersisted();
  }

  private remove(name: ManagedList, key: string): void {
    this.tables.remove(name, key);
    if (this.entries[name].delete(key) && SHOWN_LISTS.has(name)) this.changed();
    this.onPersisted();
  }

  private listed(name: ManagedList): ListedEntry[] {
    return [...this.entries[name]].map(([key, reason]) => ({ key, reason }));
  }

  /** A ban lifts an allowance of the same key, and an allowance lifts a ban. */
  banPubkey(pubkey: string, reason: string): void {
    this.remove('allowed_pubkeys', pubkey);
    this.put('banned_pubkeys', pubkey, reason);
  }

  allowPubkey(pubkey: string, reason: string): void {
    this.remove('banned_pubkeys', pubkey);
    this.put('allowed_pubkeys', pubkey, reason);
  }

  bannedPubkeys(): ListedPubkey[] {
    return this.listed('banned_pubkeys').map(({ key, reason }) => withReason({ pubkey: key }, reason));
  }

  allowedPubkeys(): ListedPubkey[] {
    return this.listed('allowed_pubkeys').map(({ key, reason }) => withReason({ pubkey: key }, reason));
  }

  banEvent(id: string, reason: string): void {
    this.put('banned_events', id, reason);
    this.tables.deleteEvent(id);
  }

  allowEvent(id: string): void {
    this.remove('banned_events', id);
  }

  bannedEvents(): ListedEvent[] {
    return this.listed('banned_events').map(({ key, reason }) => withReason({ id: key }, reason));
  }

  allowKind(kind: number): void {
    this.tables.allowKind(kind);
    this.kinds.add(kind);
    this.changed();
    this.onPersisted();
  }

  disallowKind(kind: number): void {
    this.tables.disallowKind(kind);
    this.kinds.delete(kind);
    this.changed();
    this.onPersisted();
  }

  allowedKinds(): number[] {
    return [...this.kinds].sort((a, b) => a - b);
  }

  blockIp(ip: string, reason: string): void {
    this.put('blocked_ips', ip, reason);
    this.onIpBlocked(ip);
  }

  unblockIp(ip: string): void {
    this.remove('blocked_ips', ip);
  }

  blockedIps(): ListedIp[] {
    return this.listed('blocked_ips').map(({ key, reason }) => withReason({ ip: key }, reason));
  }

  changeInfo(field: InfoField, value: string): void {
    this.tables.setInfo(field, value);
    this.overrides = { ...this.overrides, [field]: value };
    this.changed();
    this.onPersisted();
  }

  // HTTP ---------------------------------------------------------------------------------------------

  /** One POST on the relay URL: content type, NIP-98 authorization, admin check, then the method. */
  async handleHttp(request: RpcHttpRequest): Promise<RpcHttpResponse> {
    const error = (status: number, message: string): RpcHttpResponse => ({
      status,
      body: JSON.stringify({ result: null, error: message }),
    });
    if (!this.enabled) return error(401, 'unauthorized: the management API is off on this relay (management.admins is empty)');
    if (request.contentType.split(';')[0]!.trim().toLowerCase() !== RPC_CONTENT_TYPE) {
      return error(415, `unsupported content type: use ${RPC_CONTENT_TYPE}`);
    }
    const auth = await verifyHttpAuth(
      request.authorization,
      { relayUrl: this.config.relay.url, host: request.host, path: request.path, method: 'POST', body: request.body, now: this.now() },
      this.verifier,
    );
    if (!auth.ok) return error(401, `unauthorized: ${auth.error}`);
    if (!this.admins.has(auth.event.pubkey)) return error(401, 'unauthorized: this pubkey is not an admin of this relay');
    const response = handleRequest(Buffer.from(request.body).toString('utf8'), this);
    return { status: 200, body: JSON.stringify(response), admin: auth.event.pubkey };
  }
}

/** The lists the effective config (NIP-11, the page) shows. */
const SHOWN_LISTS: ReadonlySet<ManagedList> = new Set(['banned_pubkeys', 'allowed_pubkeys']);

function withLists(
  config: Config,
  overrides: Partial<Record<InfoField, string>>,
  entries: Record<ManagedList, Entries>,
  kinds: ReadonlySet<number>,
): Config {
  const banned = entries.banned_pubkeys;
  const allowed = entries.allowed_pubkeys;
  if (Object.keys(overrides).length === 0 && banned.size === 0 && allowed.size === 0 && kinds.size === 0) return config;
  const union = <T>(base: readonly T[], more: Iterable<T>): T[] => [...new Set([...base, ...more])];
  const { write } = config;
  const kindsOpen = write.kinds.allow.includes('*');
  return {
    ...config,
    info: { ...config.info, ...overrides },
    write: {
      ...write,
      pubkeys: { ...write.pubkeys, deny: union(write.pubkeys.deny, banned.keys()), allow: union(write.pubkeys.allow, allowed.keys()) },
      kinds: {
        ...write.kinds,
        allow: kinds.size === 0 ? write.kinds.allow : kindsOpen ? [...kinds].sort((a, b) => a - b) : union(write.kinds.allow, kinds),
      },
    },
  };
}

function withReason<T extends object>(entry: T, reason: string): T & { reason?: string } {
  return reason === '' ? entry : { ...entry, reason };
}
