import { randomBytes } from 'node:crypto';
import type { NostrEvent } from '../../src/event/types.js';
import type { Frame, RawClient } from './client.js';
import { newKeys, signed } from './events.js';

/**
 * Proves that every frame the relay wrote to `client` before this call has been received, so a test
 * can assert that something did NOT arrive. Returns the marker event's id (a subscription of the
 * test's own may match the marker too).
 *
 * `client` opens a marker subscription for a fresh key, `publisher` publishes a marker event, and we
 * wait for it on `client`. The relay writes live EVENTs to subscribers before it sends the
 * publisher's OK, and frames on one socket arrive in order, so anything written to `client` for an
 * event published (and OK'd) earlier arrives before the marker. Messages `client` sent earlier (e.g.
 * CLOSE) are handled before the marker REQ. Uses one subscription slot for the duration of the call.
 * The marker is ephemeral (kind 29999) unless `markerKind` says otherwise: it is not stored, so later
 * queries on a relay that tests share do not find it.
 */
export async function barrier(client: RawClient, publisher: RawClient, markerKind = 29_999): Promise<string> {
  const keys = newKeys();
  const subId = `barrier-${randomBytes(4).toString('hex')}`;
  const opened = await client.req(subId, { authors: [keys.pubkey] });
  if (opened.closed) throw new Error(`barrier subscription refused: ${JSON.stringify(opened.closed)}`);
  const marker = signed(keys, { kind: markerKind, content: 'barrier' });
  const ok = await publisher.publish(marker);
  if (ok[2] !== true) throw new Error(`barrier event refused: ${JSON.stringify(ok)}`);
  await client.next((f) => f[0] === 'EVENT' && f[1] === subId && (f[2] as NostrEvent).id === marker.id);
  client.send(['CLOSE', subId]);
  return marker.id;
}

/** Events received on `client` for `subId` (all of them, or from frame index `from` on). */
export function eventsFor(client: RawClient, subId: string, from = 0): NostrEvent[] {
  return client.frames
    .slice(from)
    .filter((f) => f[0] === 'EVENT' && f[1] === subId)
    .map((f) => f[2] as NostrEvent);
}

/** Frames received on `client` for `subId` with the given verb (from frame index `from` on). */
export function framesFor(client: RawClient, verb: string, subId: string, from = 0): Frame[] {
  return client.frames.slice(from).filter((f) => f[0] === verb && f[1] === subId);
}

/** Ids of events, in the order given. */
export const idsOf = (events: readonly { id: string }[]): string[] => events.map((e) => e.id);

/** Events sorted the way NIP-01 wants initial results: newest first, ties lowest id first. */
export function newestFirst<E extends { id: string; created_at: number }>(events: readonly E[]): E[] {
  return [...events].sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** A random lowercase token, for tag values no other test uses. */
export const token = (prefix = 't'): string => `${prefix}-${randomBytes(6).toString('hex')}`;
