import { reject, type Rejection } from '../protocol/prefixes.js';
import type { NostrEvent } from './types.js';

/** NIP-42 authentication events travel in AUTH messages; through EVENT they are never stored or broadcast. */
export const AUTH_KIND = 22242;

/** The `limits:` keys (config/relay.yaml) one event is checked against. */
export interface EventLimits {
  max_event_tags: number;
  max_content_length: number;
  created_at: { max_future_seconds: number | null; max_past_seconds: number | null };
}

/** The relay's size and time limits for one event; cheap checks run before hashing and verifying. */
export function checkEventLimits(event: NostrEvent, limits: EventLimits, nowSeconds: number): Rejection | undefined {
  if (event.kind === AUTH_KIND) return reject('invalid', 'kind 22242 is for AUTH messages, not EVENT');
  if (event.tags.length > limits.max_event_tags) {
    return reject('invalid', `event has ${event.tags.length} tags; at most ${limits.max_event_tags} are allowed`);
  }
  // UTF-16 length is an upper bound of the character count; count code points only when it matters.
  if (event.content.length > limits.max_content_length) {
    const characters = [...event.content].length;
    if (characters > limits.max_content_length) {
      return reject('invalid', `content is ${characters} characters; at most ${limits.max_content_length} are allowed`);
    }
  }
  const { max_future_seconds: future, max_past_seconds: past } = limits.created_at;
  if (future !== null && event.created_at > nowSeconds + future) {
    return reject('invalid', `created_at is more than ${future} seconds in the future`);
  }
  if (past !== null && event.created_at < nowSeconds - past) {
    return reject('invalid', `created_at is more than ${past} seconds in the past`);
  }
  return undefined;
}
