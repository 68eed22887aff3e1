import { finalizeEvent, generateSecretKey, getPublicKey, type EventTemplate } from 'nostr-tools/pure';
import { sha256 } from '@noble/hashes/sha2.js';
import type { NostrEvent } from '../../src/event/types.js';

export interface Keys {
  secret: Uint8Array;
  pubkey: string;
}

export function newKeys(): Keys {
  const secret = generateSecretKey();
  return { secret, pubkey: getPublicKey(secret) };
}

/** The same keys for the same label on every run (for tests whose expectations depend on the keys, such as HLL estimates). */
export function keysFrom(label: string): Keys {
  const secret = sha256(new TextEncoder().encode(label));
  return { secret, pubkey: getPublicKey(secret) };
}

export const now = (): number => Math.floor(Date.now() / 1000);

/** A signed event from `keys`; defaults to a kind-1 note created now. */
export function signed(keys: Keys, template: Partial<EventTemplate> = {}): NostrEvent {
  const event = finalizeEvent({ kind: 1, created_at: now(), tags: [], content: 'hello', ...template }, keys.secret);
  return {
    id: event.id,
    pubkey: event.pubkey,
    created_at: event.created_at,
    kind: event.kind,
    tags: event.tags,
    content: event.content,
    sig: event.sig,
  };
}
