/**
 * Token buckets and open-connection counts shared by every connection thread (server.threads): a table
 * of slots in SharedArrayBuffers, keyed by a 64-bit hash of the key (an IP key, a kind class and
 * pubkey), so an IP's budget is one budget whichever thread its connections landed on.
 *
 * One lock guards a whole table: an operation holds it for a hash probe and a little arithmetic, well
 * under a microsecond. Memory is fixed: a key whose probe window is full takes the least recently used
 * slot that counts no open connection, and comes back full, as an evicted TokenBuckets bucket does.
 */
import { refill, type Rate } from './rate-limit.js';

/** Per slot: [hash high, hash low (0 = empty), open connections] and [tokens, last use ms]. */
const INTS_PER_SLOT = 3;
const FLOATS_PER_SLOT = 2;
/** Slots probed from a key's home slot. */
const WINDOW = 8;
const DEFAULT_SLOTS = 1 << 15;

/** The buffers of one table, to pass to another thread (workerData). */
export interface SharedTableBuffers {
  readonly lock: SharedArrayBuffer;
  readonly ints: SharedArrayBuffer;
  readonly floats: SharedArrayBuffer;
}

export class SharedTable {
  private readonly lock: Int32Array;
  private readonly ints: Int32Array;
  private readonly floats: Float64Array;
  private readonly slots: number;

  constructor(readonly buffers: SharedTableBuffers = SharedTable.allocate()) {
    this.lock = new Int32Array(buffers.lock);
    this.ints = new Int32Array(buffers.ints);
    this.floats = new Float64Array(buffers.floats);
    this.slots = this.ints.length / INTS_PER_SLOT;
  }

  static allocate(slots = DEFAULT_SLOTS): SharedTableBuffers {
    return {
      lock: new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT),
      ints: new SharedArrayBuffer(slots * INTS_PER_SLOT * Int32Array.BYTES_PER_ELEMENT),
      floats: new SharedArrayBuffer(slots * FLOATS_PER_SLOT * Float64Array.BYTES_PER_ELEMENT),
    };
  }

  /** Keys held. */
  get size(): number {
    let used = 0;
    for (let slot = 0; slot < this.slots; slot++) if (this.ints[slot * INTS_PER_SLOT + 1] !== 0) used++;
    return used;
  }

  /**
   * Runs `use` on `key`'s slot with the table locked. `fresh`: the slot was just given to the key (its
   * values are to be set). Without `create`, a key that has no slot is not given one (`use` is not run).
   */
  locked<T>(key: string, create: boolean, use: (slot: Slot, fresh: boolean) => T): T | undefined {
    const [high, low] = hash(key);
    while (Atomics.compareExchange(this.lock, 0, 0, 1) !== 0) Atomics.wait(this.lock, 0, 1, 1);
    try {
      const home = (high >>> 0) % this.slots;
      let free = -1;
      let oldest = -1;
      for (let step = 0; step < WINDOW; step++) {
        const slot = (home + step) % this.slots;
        const at = slot * INTS_PER_SLOT;
        if (this.ints[at + 1] === low && this.ints[at] === high) return use(this.slot(slot), false);
        if (this.ints[at + 1] === 0) {
          if (free < 0) free = slot;
        } else if (this.ints[at + 2] === 0 && (oldest < 0 || this.lastUse(slot) < this.lastUse(oldest))) oldest = slot;
      }
      if (!create) return undefined;
      const slot = free >= 0 ? free : oldest;
      if (slot < 0) return undefined; // every slot of the window counts open connections
      this.ints[slot * INTS_PER_SLOT] = high;
      this.ints[slot * INTS_PER_SLOT + 1] = low;
      this.ints[slot * INTS_PER_SLOT + 2] = 0;
      return use(this.slot(slot), true);
    } finally {
      Atomics.store(this.lock, 0, 0);
      Atomics.notify(this.lock, 0, 1);
    }
  }

  /** Frees `key`'s slot. */
  forget(key: string): void {
    this.locked(key, false, (slot) => slot.free());
  }

  private lastUse(slot: number): number {
    return this.floats[slot * FLOATS_PER_SLOT + 1]!;
  }

  private slot(slot: number): Slot {
    const { ints, floats } = this;
    const i = slot * INTS_PER_SLOT;
    const f = slot * FLOATS_PER_SLOT;
    return {
      get tokens() {
        return floats[f]!;
      },
      set tokens(value: number) {
        floats[f] = value;
      },
      get at() {
        return floats[f + 1]!;
      },
      set at(value: number) {
        floats[f + 1] = value;
      },
      get open() {
        return ints[i + 2]!;
      },
      set open(value: number) {
        ints[i + 2] = value;
      },
      free: () => {
        ints[i] = 0;
        ints[i + 1] = 0;
        ints[i + 2] = 0;
      },
    };
  }
}

/** One slot's values, valid inside locked(). */
export interface Slot {
  tokens: number;
  /** Last use (ms): the bucket's refill time, and the recency eviction goes by. */
  at: number;
  /** Connections open from the key. */
  open: number;
  free(): void;
}

/** TokenBuckets' take() and forget() over a shared table. */
export class SharedTokenBuckets {
  constructor(readonly table: SharedTable = new SharedTable()) {}

  take(key: string, rate: Rate, nowMs: number): boolean {
    return (
      this.table.locked(key, true, (slot, fresh) => {
        const tokens = fresh ? rate.count : refill(slot, rate, nowMs);
        slot.at = fresh ? nowMs : Math.max(slot.at, nowMs);
        slot.tokens = tokens >= 1 ? tokens - 1 : tokens;
        return tokens >= 1;
      }) ?? true // no slot to be had: not limited (the window is full of open connections' keys)
    );
  }

  forget(key: string): void {
    this.table.forget(key);
  }
}

/** Counts per key (open connections, NIP-77 sessions); a key is kept only while it counts any. */
export interface Counts {
  get(key: string): number;
  add(key: string, delta: number, nowMs: number): void;
}

/** Counts of one thread. */
export class LocalCounts implements Counts {
  private readonly counts = new Map<string, number>();

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  add(key: string, delta: number): void {
    const left = this.get(key) + delta;
    if (left > 0) this.counts.set(key, left);
    else this.counts.delete(key);
  }
}

/** Counts over a shared table, for every thread. */
export class SharedCounts implements Counts {
  constructor(readonly table: SharedTable = new SharedTable()) {}

  get(key: string): number {
    return this.table.locked(key, false, (slot) => slot.open) ?? 0;
  }

  add(key: string, delta: number, nowMs: number): void {
    this.table.locked(key, delta > 0, (slot, fresh) => {
      if (fresh) slot.tokens = Number.NaN; // not a bucket: this table only counts
      slot.open = Math.max(0, slot.open + delta);
      slot.at = nowMs;
      if (slot.open === 0) slot.free();
    });
  }
}

/** Two 32-bit FNV-1a hashes of the key's UTF-16 code units (different offsets); the low one never 0. */
function hash(key: string): [high: number, low: number] {
  let high = 0x811c9dc5;
  let low = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < key.length; i++) {
    const unit = key.charCodeAt(i);
    high = Math.imul(high ^ unit, 0x01000193);
    low = Math.imul(low ^ unit, 0x5bd1e995) ^ (low >>> 15);
  }
  return [high | 0, low | 0 || 1];
}
