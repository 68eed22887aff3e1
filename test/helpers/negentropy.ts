import { nip77 } from 'nostr-tools';
import { computeId, serialize } from '../../src/event/validate.js';
import type { NostrEvent } from '../../src/event/types.js';
import { EventStore } from '../../src/store/store.js';
import type { RawClient } from './client.js';

const { Negentropy, NegentropyStorageVector } = nip77;

export interface NegResult {
  need: Set<string>;
  have: Set<string>;
  rounds: number;
  /** Longest NEG-MSG frame received, in bytes. */
  maxFrame: number;
}

/** Drives nostr-tools' initiator over a raw socket until it is done (then NEG-CLOSE). */
export async function negSync(
  client: RawClient,
  subId: string,
  filter: object,
  items: ReadonlyArray<readonly [number, string]>,
  frameSizeLimit = 60000,
): Promise<NegResult> {
  const vector = new NegentropyStorageVector();
  for (const [createdAt, id] of items) vector.insert(createdAt, id);
  vector.seal();
  const neg = new Negentropy(vector, frameSizeLimit);
  const need = new Set<string>();
  const have = new Set<string>();
  let rounds = 0;
  let maxFrame = 0;
  let message: string | null = neg.initiate();
  let from = client.frames.length;
  client.send(['NEG-OPEN', subId, filter, message]);
  while (message !== null) {
    const frame = await client.next(
      (f) => client.frames.indexOf(f) >= from && (f[0] === 'NEG-MSG' || f[0] === 'NEG-ERR') && f[1] === subId,
      20000,
    );
    if (frame[0] === 'NEG-ERR') throw new Error(`NEG-ERR ${String(frame[2])}`);
    maxFrame = Math.max(maxFrame, JSON.stringify(frame).length);
    rounds++;
    message = neg.reconcile(
      frame[2] as string,
      (id) => have.add(id),
      (id) => need.add(id),
    );
    if (message !== null) {
      from = client.frames.length;
      client.send(['NEG-MSG', subId, message]);
    }
  }
  client.send(['NEG-CLOSE', subId]);
  return { need, have, rounds, maxFrame };
}

/** A kind-1 event with a correct id and a fake signature (the store does not verify). */
export function fakeEvent(pubkey: string, createdAt: number, content: string): NostrEvent {
  const event: NostrEvent = { id: '', pubkey, created_at: createdAt, kind: 1, tags: [], content, sig: '0'.repeat(128) };
  event.id = computeId(event);
  return event;
}

/** Writes events straight into a relay database file (before the relay opens it). */
export function fillStore(path: string, events: NostrEvent[]): void {
  const store = EventStore.open(path, { synchronous: 'normal' });
  try {
    for (let i = 0; i < events.length; i += 5000) {
      store.writeBatch(events.slice(i, i + 5000).map((event) => ({ event, json: serialize(event) })));
    }
  } finally {
    store.close();
  }
}
