/**
 * NIP-42: authentication of clients to relays. Pure: challenges, relay-URL matching and the checks of a
 * kind-22242 AUTH event. The relay keeps the per-connection state (challenge, authenticated pubkeys).
 */
import { randomBytes } from 'node:crypto';
import { AUTH_KIND } from '../event/limits.js';
import type { NostrEvent } from '../event/types.js';
import { computeId, validateShape } from '../event/validate.js';
import type { Verifier } from '../event/verify.js';
import { reject, type Rejection } from '../protocol/prefixes.js';

export { AUTH_KIND };

/** A fresh random challenge for one connection: 128 bits, hex. */
export function newChallenge(): string {
  return randomBytes(16).toString('hex');
}

/** What an AUTH event is checked against. */
export interface AuthContext {
  /** The challenge this connection was sent. */
  challenge: string;
  /** The relay's configured public URL (config relay.url); '' = match the Host header instead. */
  relayUrl: string;
  /** The Host header the connection came with; '' when it had none. */
  host: string;
  /** Unix seconds. */
  now: number;
  /** How far created_at may lie from now, either way (config auth.max_age_seconds). */
  maxAgeSeconds: number;
}

export type AuthResult =
  | { ok: true; event: NostrEvent }
  /** `id` is set when the event's id was readable, so the answer can be an OK rather than a NOTICE. */
  | { ok: false; id?: string; rejection: Rejection };

/** A relay address reduced for comparison: lower-case host, port only when not 80/443, path without trailing slashes. */
interface Address {
  host: string;
  path: string;
}

/**
 * Normalises a ws:// or wss:// URL scheme-insensitively: `wss://Relay.Example.org/`, `ws://relay.example.org:443`
 * and `wss://relay.example.org` are the same relay (behind a TLS proxy a client may see either scheme).
 */
export function relayAddress(url: string): Address | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') return undefined;
  return { host: hostPort(parsed), path: parsed.pathname.replace(/\/+$/, '') };
}

/** A Host header (`example.org`, `example.org:7777`, `[::1]:7777`) in the form relayAddress gives hosts. */
export function hostAddress(host: string): string | undefined {
  if (host === '' || /[\s/@?#]/.test(host)) return undefined;
  try {
    return hostPort(new URL(`ws://${host}`));
  } catch {
    return undefined;
  }
}

function hostPort(url: URL): string {
  const port = url.port === '80' || url.port === '443' ? '' : url.port;
  return port === '' ? url.hostname.toLowerCase() : `${url.hostname.toLowerCase()}:${port}`;
}

/**
 * Whether an AUTH event's `relay` tag names this relay: the configured public URL (host, port and path)
 * when there is one, otherwise any ws(s) URL whose host matches the Host header of the connection.
 */
export function relayMatches(tagUrl: string, relayUrl: string, host: string): boolean {
  const claimed = relayAddress(tagUrl);
  if (claimed === undefined) return false;
  if (relayUrl !== '') {
    const own = relayAddress(relayUrl);
    return own !== undefined && own.host === claimed.host && own.path === claimed.path;
  }
  const own = hostAddress(host);
  return own !== undefined && own === claimed.host;
}

const tagValue = (event: NostrEvent, name: string): string | undefined => event.tags.find((tag) => tag[0] === name)?.[1];

/** Every check of an AUTH event except the signature, cheapest first. */
function checkAuthEvent(input: unknown, ctx: AuthContext): AuthResult {
  const shape = validateShape(input);
  if (!shape.ok) return { ok: false, id: shape.id, rejection: reject('invalid', shape.message) };
  const event = shape.event;
  const fail = (text: string): AuthResult => ({ ok: false, id: event.id, rejection: reject('invalid', text) });

  if (event.kind !== AUTH_KIND) return fail(`wrong kind: an AUTH event must be kind ${AUTH_KIND}, got ${event.kind}`);
  const age = ctx.now - event.created_at;
  if (age > ctx.maxAgeSeconds) return fail(`created_at is too old: more than ${ctx.maxAgeSeconds} seconds ago`);
  if (-age > ctx.maxAgeSeconds) return fail(`created_at is too far in the future: more than ${ctx.maxAgeSeconds} seconds ahead`);
  const challenge = tagValue(event, 'challenge');
  if (challenge === undefined) return fail('missing challenge tag');
  if (challenge !== ctx.challenge) return fail('wrong challenge: it is not the one this connection was sent');
  const relay = tagValue(event, 'relay');
  if (relay === undefined) return fail('missing relay tag');
  if (!relayMatches(relay, ctx.relayUrl, ctx.host)) return fail(`wrong relay: ${relay.slice(0, 200)} is not this relay's URL`);
  if (computeId(event) !== event.id) return fail('id is not the sha256 of the serialised event');
  return { ok: true, event };
}

/** checkAuthEvent, then the signature with the relay's Verifier (the same one events go through). */
export async function verifyAuthEvent(input: unknown, ctx: AuthContext, verifier: Verifier): Promise<AuthResult> {
  const checked = checkAuthEvent(input, ctx);
  if (!checked.ok) return checked;
  if (!(await verifier.verify(checked.event))) {
    return { ok: false, id: checked.event.id, rejection: reject('invalid', 'bad signature: verification failed') };
  }
  return checked;
}
