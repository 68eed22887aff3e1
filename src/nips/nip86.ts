/**
 * NIP-86 relay management API: the JSON-RPC request shape and the method table. Pure: each handler checks
 * its params and calls the relay's management state (src/relay/management.ts) through `ManagementOps`.
 * HTTP and NIP-98 authorization are done before this (src/relay/management.ts, src/server/http.ts).
 */
import { checkPubkey } from '../config/values.js';
import { isHex64 } from '../event/validate.js';
import { normaliseIp } from '../net/ip.js';

export const RPC_CONTENT_TYPE = 'application/nostr+json+rpc';

export interface ListedPubkey {
  pubkey: string;
  reason?: string;
}
export interface ListedEvent {
  id: string;
  reason?: string;
}
export interface ListedIp {
  ip: string;
  reason?: string;
}

/** What the methods act on; every change is persisted and applied at once by the implementation. */
export interface ManagementOps {
  banPubkey(pubkey: string, reason: string): void;
  allowPubkey(pubkey: string, reason: string): void;
  bannedPubkeys(): ListedPubkey[];
  allowedPubkeys(): ListedPubkey[];
  banEvent(id: string, reason: string): void;
  allowEvent(id: string): void;
  bannedEvents(): ListedEvent[];
  allowKind(kind: number): void;
  disallowKind(kind: number): void;
  allowedKinds(): number[];
  blockIp(ip: string, reason: string): void;
  unblockIp(ip: string): void;
  blockedIps(): ListedIp[];
  changeInfo(field: 'name' | 'description' | 'icon', value: string): void;
}

export type RpcResponse = { result: unknown; error: null } | { result: null; error: string };

class ParamError extends Error {}

type Handler = (params: readonly unknown[], ops: ManagementOps) => unknown;

const param = (params: readonly unknown[], index: number, what: string): string => {
  const value = params[index];
  if (typeof value !== 'string') throw new ParamError(`param ${index + 1} must be ${what}`);
  return value;
};
const optionalReason = (params: readonly unknown[], index: number): string => {
  const value = params[index];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new ParamError(`param ${index + 1} (reason) must be a string`);
  return value.slice(0, 1000);
};
const pubkeyParam = (params: readonly unknown[]): string => {
  const raw = param(params, 0, 'a pubkey (64 hex characters or npub)');
  const checked = raw === '' ? { ok: false as const } : checkPubkey(raw.toLowerCase() === raw ? raw : raw.toLowerCase());
  if (!checked.ok) throw new ParamError('param 1 must be a pubkey (64 hex characters or npub)');
  return checked.value as string;
};
const idParam = (params: readonly unknown[]): string => {
  const raw = param(params, 0, 'an event id (64 hex characters)').toLowerCase();
  if (!isHex64(raw)) throw new ParamError('param 1 must be an event id (64 hex characters)');
  return raw;
};
const kindParam = (params: readonly unknown[]): number => {
  const value = params[0];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw new ParamError('param 1 must be a kind (an integer from 0 to 65535)');
  }
  return value;
};

const ipParam = (params: readonly unknown[]): string => {
  const ip = normaliseIp(param(params, 0, 'an IP address'));
  if (ip === undefined) throw new ParamError('param 1 must be an IPv4 or IPv6 address');
  return ip;
};
const textParam = (params: readonly unknown[], what: string, max: number): string => {
  const value = param(params, 0, what);
  if (value.length > max) throw new ParamError(`param 1 must be at most ${max} characters`);
  return value;
};
const iconParam = (params: readonly unknown[]): string => {
  const value = textParam(params, 'an http(s) URL', 2000);
  if (value === '') return value;
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return value;
  } catch {
    // reported below
  }
  throw new ParamError('param 1 must be an http(s) URL (or "" to remove the icon)');
};

/** A method that changes something answers `true` once the change is made. */
const answersTrue =
  (change: (params: readonly unknown[], ops: ManagementOps) => void): Handler =>
  (params, ops) => {
    change(params, ops);
    return true;
  };

/** The method table; `supportedmethods` lists exactly its keys. */
const METHODS: Readonly<Record<string, Handler>> = {
  supportedmethods: () => Object.keys(METHODS),
  banpubkey: answersTrue((p, ops) => ops.banPubkey(pubkeyParam(p), optionalReason(p, 1))),
  listbannedpubkeys: (_, ops) => ops.bannedPubkeys(),
  allowpubkey: answersTrue((p, ops) => ops.allowPubkey(pubkeyParam(p), optionalReason(p, 1))),
  listallowedpubkeys: (_, ops) => ops.allowedPubkeys(),
  banevent: answersTrue((p, ops) => ops.banEvent(idParam(p), optionalReason(p, 1))),
  allowevent: answersTrue((p, ops) => ops.allowEvent(idParam(p))),
  listbannedevents: (_, ops) => ops.bannedEvents(),
  allowkind: answersTrue((p, ops) => ops.allowKind(kindParam(p))),
  disallowkind: answersTrue((p, ops) => ops.disallowKind(kindParam(p))),
  listallowedkinds: (_, ops) => ops.allowedKinds(),
  blockip: answersTrue((p, ops) => ops.blockIp(ipParam(p), optionalReason(p, 1))),
  unblockip: answersTrue((p, ops) => ops.unblockIp(ipParam(p))),
  listblockedips: (_, ops) => ops.blockedIps(),
  changerelayname: answersTrue((p, ops) => ops.changeInfo('name', textParam(p, 'a name', 200))),
  changerelaydescription: answersTrue((p, ops) => ops.changeInfo('description', textParam(p, 'a description', 5000))),
  changerelayicon: answersTrue((p, ops) => ops.changeInfo('icon', iconParam(p))),
};

/** Parses a request body (text) and runs its method; every problem is an `error`, never a throw. */
export function handleRequest(body: string, ops: ManagementOps): RpcResponse {
  let request: unknown;
  try {
    request = JSON.parse(body);
  } catch {
    return { result: null, error: 'invalid request: the body is not JSON' };
  }
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    return { result: null, error: 'invalid request: expected {"method": …, "params": […]}' };
  }
  const { method, params = [] } = request as { method?: unknown; params?: unknown };
  if (typeof method !== 'string') return { result: null, error: 'invalid request: method must be a string' };
  if (!Array.isArray(params)) return { result: null, error: 'invalid request: params must be an array' };
  const handler = Object.hasOwn(METHODS, method) ? METHODS[method] : undefined;
  if (handler === undefined) return { result: null, error: `unsupported method: ${method.slice(0, 100)}` };
  try {
    return { result: handler(params, ops), error: null };
  } catch (error) {
    if (error instanceof ParamError) return { result: null, error: `invalid params: ${error.message}` };
    throw error;
  }
}
