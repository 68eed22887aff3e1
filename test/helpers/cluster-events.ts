/**
 * What cluster tests ask of nodes over real WebSockets: publish a batch and collect its OKs, which of a set
 * of ids a node has, and waits until every node has (or has lost) them — each a state polled with REQs, with
 * a limit that only turns a hang into an error naming what is missing.
 */
import type { NostrEvent } from '../../src/event/types.js';
import type { Frame, RawClient } from './client.js';

/** Ids per REQ (limits.max_limit at its default). */
const IDS_PER_REQ = 500;
const POLL_MS = 100;

/** Sends every event at once, then waits for an OK for each; resolves with the OK frames by id. */
export async function publishBatch(client: RawClient, events: readonly NostrEvent[], limitMs = 60_000): Promise<Map<string, Frame>> {
  const wanted = new Set(events.map((e) => e.id));
  const oks = new Map<string, Frame>();
  let scanned = client.frames.length;
  for (const event of events) client.send(['EVENT', event]);
  const deadline = Date.now() + limitMs;
  while (oks.size < wanted.size) {
    for (; scanned < client.frames.length; scanned++) {
      const frame = client.frames[scanned]!;
      if (frame[0] === 'OK' && wanted.has(frame[1] as string)) oks.set(frame[1] as string, frame);
    }
    if (oks.size === wanted.size) break;
    if (client.closeCode !== undefined) throw new Error(`connection closed (${client.closeCode}) with ${oks.size} of ${wanted.size} OKs`);
    if (Date.now() > deadline) throw new Error(`only ${oks.size} of ${wanted.size} OKs within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return oks;
}

/** The OK frames of `oks` that are not OK true. */
export const refusals = (oks: Map<string, Frame>): Frame[] => [...oks.values()].filter((frame) => frame[2] !== true);

let reqCount = 0;

/** Which of `ids` the node behind `client` has stored (REQs by id, 500 at a time). */
export async function storedIds(client: RawClient, ids: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < ids.length; i += IDS_PER_REQ) {
    const chunk = ids.slice(i, i + IDS_PER_REQ);
    const subId = `ids-${++reqCount}`;
    const result = await client.req(subId, { ids: chunk, limit: chunk.length });
    if (result.closed !== undefined) throw new Error(`REQ by ids refused: ${JSON.stringify(result.closed)}`);
    client.send(['CLOSE', subId]);
    for (const event of result.events) found.add(event.id);
  }
  return found;
}

/**
 * Polls until the node behind `client` has every one of `ids` (`present`) or none of them (`!present`);
 * the error names how many are missing (or left) and what `context(those ids)` returns (log tails, diagnostics).
 */
export async function waitUntilStored(
  client: RawClient,
  ids: readonly string[],
  options: { present?: boolean; what: string; limitMs?: number; context?: (wrong: readonly string[]) => string | Promise<string> },
): Promise<void> {
  const present = options.present ?? true;
  const limitMs = options.limitMs ?? 60_000;
  const deadline = Date.now() + limitMs;
  for (;;) {
    const found = await storedIds(client, ids);
    const wrong = present ? ids.filter((id) => !found.has(id)) : ids.filter((id) => found.has(id));
    if (wrong.length === 0) return;
    if (Date.now() > deadline) {
      const state = present ? 'still missing' : 'still stored';
      throw new Error(
        `${options.what}: ${wrong.length} of ${ids.length} ${state} after ${limitMs} ms (e.g. ${wrong[0]})\n${(await options.context?.(wrong)) ?? ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** How many times each event id arrived on subscription `subId` of the client. */
export function deliveries(client: RawClient, subId: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const frame of client.frames) {
    if (frame[0] !== 'EVENT' || frame[1] !== subId) continue;
    const id = (frame[2] as NostrEvent).id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}
