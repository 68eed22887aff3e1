/**
 * NIP-98 HTTP auth, as NIP-86 requires it: an `Authorization: Nostr <base64 event>` header carrying a
 * kind-27235 event for this URL, this method and this exact body. Pure, except the signature, which is
 * checked with the relay's Verifier.
 */
import { createHash } from 'node:crypto';
import type { NostrEvent } from '../event/types.js';
import { computeId, validateShape } from '../event/validate.js';
import type { Verifier } from '../event/verify.js';
import { hostAddress, relayAddress } from './nip42.js';

const HTTP_AUTH_KIND = 27235;
/** How far created_at may lie from the relay's clock, either way (NIP-98 suggests 60 s). */
const MAX_AGE_SECONDS = 60;

export interface HttpAuthContext {
  /** The relay's configured public URL (relay.url, ws/wss); '' = the request's Host header instead. */
  relayUrl: string;
  /** The request's Host header ('' when none). */
  host: string;
  /** The request path (the relay answers NIP-86 on `/` only). */
  path: string;
  /** Upper-case HTTP method of the request. */
  method: string;
  /** The raw request body. */
  body: Uint8Array;
  /** Unix seconds. */
  now: number;
}

export type HttpAuthResult = { ok: true; event: NostrEvent } | { ok: false; error: string };

const sha256Hex = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/**
 * Whether a `u` tag names this relay. http↔ws and https↔wss are the same address (a client posts to the
 * https:// form of a wss:// relay URL; behind a TLS proxy either scheme may be seen), as are default ports
 * and a trailing slash. With relay.url configured, host, port and path must match it; otherwise the host
 * must match the request's Host header and the path the request's.
 */
function urlMatches(u: string, ctx: Pick<HttpAuthContext, 'relayUrl' | 'host' | 'path'>): boolean {
  const claimed = relayAddress(u.replace(/^http(s?):/i, 'ws$1:'));
  if (claimed === undefined) return false;
  if (ctx.relayUrl !== '') {
    const own = relayAddress(ctx.relayUrl);
    return own !== undefined && own.host === claimed.host && own.path === claimed.path;
  }
  const own = hostAddress(ctx.host);
  return own !== undefined && own === claimed.host && ctx.path.replace(/\/+$/, '') === claimed.path;
}

const tagValue = (event: NostrEvent, name: string): string | undefined => event.tags.find((tag) => tag[0] === name)?.[1];

/** Decodes the header and runs every check except the signature, cheapest first. */
function checkHttpAuth(header: string, ctx: HttpAuthContext): HttpAuthResult {
  const fail = (error: string): HttpAuthResult => ({ ok: false, error });
  if (header === '') return fail('missing Authorization header (NIP-98: "Nostr <base64 kind-27235 event>")');
  const match = /^Nostr\s+(\S+)$/i.exec(header.trim());
  if (match === null) return fail('Authorization header must be "Nostr <base64 event>"');
  let input: unknown;
  try {
    input = JSON.parse(Buffer.from(match[1]!, 'base64').toString('utf8'));
  } catch {
    return fail('Authorization token is not base64-encoded JSON');
  }
  const shape = validateShape(input);
  if (!shape.ok) return fail(`Authorization event is malformed: ${shape.message}`);
  const event = shape.event;
  if (event.kind !== HTTP_AUTH_KIND) return fail(`Authorization event must be kind ${HTTP_AUTH_KIND}, got ${event.kind}`);
  const age = ctx.now - event.created_at;
  if (Math.abs(age) > MAX_AGE_SECONDS) return fail(`Authorization event created_at is more than ${MAX_AGE_SECONDS} seconds from now`);
  const u = tagValue(event, 'u');
  if (u === undefined) return fail('Authorization event has no u tag');
  if (!urlMatches(u, ctx)) return fail(`Authorization event u tag ${JSON.stringify(u.slice(0, 200))} is not this relay's URL`);
  const method = tagValue(event, 'method');
  if (method === undefined || method.toUpperCase() !== ctx.method.toUpperCase()) {
    return fail(`Authorization event method tag must be ${ctx.method}`);
  }
  const payload = tagValue(event, 'payload');
  if (payload === undefined) return fail('Authorization event has no payload tag (required: sha256 hex of the body)');
  if (payload.toLowerCase() !== sha256Hex(ctx.body)) return fail('Authorization event payload tag is not the sha256 of the body');
  if (computeId(event) !== event.id) return fail('Authorization event id is not the sha256 of the serialised event');
  return { ok: true, event };
}

/** checkHttpAuth, then the signature. */
export async function verifyHttpAuth(header: string, ctx: HttpAuthContext, verifier: Verifier): Promise<HttpAuthResult> {
  const checked = checkHttpAuth(header, ctx);
  if (!checked.ok) return checked;
  if (!(await verifier.verify(checked.event))) return { ok: false, error: 'Authorization event signature is invalid' };
  return checked;
}
