import type { NostrEvent } from '../event/types.js';

/**
 * Recently stored regular events, keyed by the exact text of the `["EVENT",…]` frame that brought
 * them (or re-sent them): a client re-sending the very same bytes gets its `duplicate:` answer without
 * JSON parse, shape checks or the id hash (ingest.ts decideKnown still checks the store, the limits,
 * the policies and NIP-70).
 *
 * Sound because the key is the whole frame: equal text parses to an equal event, whose id was
 * already checked against its serialisation. A forged event reusing a stored id differs in its text,
 * misses, and takes the full path (`invalid:`). Bounded by bytes; the oldest entry goes first.
 */
export class KnownEvents {
  private readonly entries = new Map<string, NostrEvent>();
  private bytes = 0;

  /** `budget`: frame characters kept, counted twice (the frame and its parsed event). */
  constructor(private readonly budget: number = KNOWN_EVENTS_BUDGET) {}

  get(frame: string): NostrEvent | undefined {
    return this.entries.get(frame);
  }

  remember(frame: string, event: NostrEvent): void {
    const cost = 2 * frame.length;
    if (cost > this.budget || this.entries.has(frame)) return;
    this.entries.set(frame, event);
    this.bytes += cost;
    for (const oldest of this.entries.keys()) {
      if (this.bytes <= this.budget) break;
      this.entries.delete(oldest);
      this.bytes -= 2 * oldest.length;
    }
  }

  forget(frame: string): void {
    if (this.entries.delete(frame)) this.bytes -= 2 * frame.length;
  }

  get size(): number {
    return this.entries.size;
  }
}

/** ~64 MB: some 30,000 typical 1 KB events, the recent past a re-broadcasting client resends. */
const KNOWN_EVENTS_BUDGET = 64 * 1024 * 1024;

/** Frames worth looking up: an EVENT frame, written the way clients write them. */
export const isEventFrame = (text: string): boolean => text.startsWith('["EVENT",');
