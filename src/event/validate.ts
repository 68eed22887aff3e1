import { createHash } from 'node:crypto';
import type { NostrEvent } from './types.js';

/** 64 lowercase hex characters: an event id or a pubkey. */
export const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;

export type ShapeResult =
  | { ok: true; event: NostrEvent }
  /** `id` is set when the event's id was readable, so the answer can be an OK rather than a NOTICE. */
  | { ok: false; id?: string; message: string };

export const isHex64 = (value: unknown): value is string => typeof value === 'string' && HEX64.test(value);

/**
 * Checks every NIP-01 field's type and format. Unknown top-level fields are dropped: the returned
 * event holds exactly the seven NIP-01 fields.
 */
export function validateShape(input: unknown): ShapeResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, message: 'event must be a JSON object' };
  }
  const raw = input as Record<string, unknown>;
  const id = isHex64(raw.id) ? raw.id : undefined;
  const fail = (message: string): ShapeResult => ({ ok: false, id, message });

  if (id === undefined) return fail("'id' must be 64 lowercase hex characters");
  if (!isHex64(raw.pubkey)) return fail("'pubkey' must be 64 lowercase hex characters");
  if (typeof raw.sig !== 'string' || !HEX128.test(raw.sig)) return fail("'sig' must be 128 lowercase hex characters");
  const kind = raw.kind;
  if (typeof kind !== 'number' || !Number.isInteger(kind) || kind < 0 || kind > 65535) {
    return fail("'kind' must be an integer from 0 to 65535");
  }
  const createdAt = raw.created_at;
  if (typeof createdAt !== 'number' || !Number.isSafeInteger(createdAt) || createdAt < 0) {
    return fail("'created_at' must be a non-negative integer");
  }
  if (typeof raw.content !== 'string') return fail("'content' must be a string");
  if (!isTagList(raw.tags)) return fail("'tags' must be an array of arrays of strings");

  return {
    ok: true,
    event: { id, pubkey: raw.pubkey, created_at: createdAt, kind, tags: raw.tags, content: raw.content, sig: raw.sig },
  };
}

function isTagList(value: unknown): value is string[][] {
  if (!Array.isArray(value)) return false;
  for (const tag of value) {
    if (!Array.isArray(tag)) return false;
    for (const item of tag) if (typeof item !== 'string') return false;
  }
  return true;
}

/** sha256 of the NIP-01 canonical serialisation `[0,pubkey,created_at,kind,tags,content]`, as hex. */
export function computeId(event: NostrEvent): string {
  const canonical = JSON.stringify([0, event.pubkey, event.created_at, event.kind, event.tags, event.content]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** The event as the relay stores and sends it: the seven NIP-01 fields in a fixed order. */
export function serialize(event: NostrEvent): string {
  return JSON.stringify({
    id: event.id,
    pubkey: event.pubkey,
    created_at: event.created_at,
    kind: event.kind,
    tags: event.tags,
    content: event.content,
    sig: event.sig,
  });
}
