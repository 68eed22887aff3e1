import { createHash } from 'node:crypto';

/**
 * Recently stored regular events, remembered by the sha256 of the exact `["EVENT",…]` frame that
 * brought them (or re-sent them): a client re-sending the very same bytes gets its `duplicate:` answer
 * without the id hash, and at once when nothing sent before it on its connection is waiting (intake.ts;
 * ingest.ts decideKnown still checks the store, the limits, the policies and NIP-70).
 *
 * Sound because the digest covers the whole frame: equal digests mean equal text, which parses to an
 * equal event whose id was already checked against its serialisation. A forged event reusing a stored id
 * differs in its text, misses, and takes the full path (`invalid:`).
 *
 * Only the 32-byte digest is kept, not the frame or its parsed event: 83 bytes of heap an entry where a
 * 2 KB event cost some 6 KB. Whatever this holds, the main thread's heap grows to several times that
 * before V8 runs a full collection (bench/README.md "Soak"). Bounded by count; the oldest goes first.
 */
export class KnownEvents {
  private readonly digests = new Set<string>();
  /** The digests in the order remembered; the slot at `next` is the oldest once the ring is full. */
  private readonly ring: (string | undefined)[];
  private next = 0;

  constructor(readonly capacity: number = KNOWN_EVENTS_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error('capacity must be a positive integer');
    this.ring = new Array<string | undefined>(capacity).fill(undefined);
  }

  has(digest: string): boolean {
    return this.digests.has(digest);
  }

  remember(digest: string): void {
    if (this.digests.has(digest)) return;
    const oldest = this.ring[this.next];
    // A forgotten digest remembered again sits in two slots; the older one may drop it early (a miss).
    if (oldest !== undefined) this.digests.delete(oldest);
    this.ring[this.next] = digest;
    this.next = (this.next + 1) % this.capacity;
    this.digests.add(digest);
  }

  forget(digest: string): void {
    this.digests.delete(digest);
  }

  get size(): number {
    return this.digests.size;
  }
}

/**
 * 100,000 frames: 100 s of ingest at 1,000 events/s, far longer at a usual rate, in ~8 MB of heap.
 * The 64 MB of frames and parsed events kept before held ~95 MB and let the heap reach ~480 MB.
 */
export const KNOWN_EVENTS_CAPACITY = 100_000;

/** Frames worth looking up: an EVENT frame, written the way clients write them. */
export const isEventFrame = (text: string): boolean => text.startsWith('["EVENT",');

/** The key of a frame: its sha256, as a 32-character one-byte string ('binary' = latin1: one character a byte). */
export const frameDigest = (frame: string): string => createHash('sha256').update(frame).digest('binary');
