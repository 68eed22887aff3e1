/**
 * Token buckets and open-connection counts shared by every connection thread (server.threads): a table
 * of slots in SharedArrayBuffers, keyed by a 64-bit hash of the key (an IP key, a kind class and
 * pubkey), so an IP's budget is one budget whichever thread its connections landed on.
 *
 * One lock guards a whole table: an operation holds it for a hash probe and a little arithmetic, well
 * under a microsecond. Memory is fixed: a key whose probe window is full takes the least recently used
 * slot that counts no open connection, and comes back full, as an evicted TokenBuckets bucket does.
 *
 * Open connections are counted per thread (a column per thread row), so that what a thread that died
 * counted can be dropped (clearColumn) without touching the other threads' counts.
 */
import { refill, type Rate } from './rate-limit.js';

/** Per slot: [hash high, hash low (0 = empty), open connections per thread…] and [tokens, last use ms]. */
const KEY_INTS = 2;
const FLOATS_PER_SLOT = 2;
/** Slots probed from a key's home slot. */
const WINDOW = 8;

/** The buffers of one table, to pass to another thread (workerData). */
export interface SharedTableBuffers {
  readonly lock: SharedArrayBuffer;
  readonly ints: SharedArrayBuffer;
  readonly floats: SharedArrayBuffer;
}

export class SharedTable {
  static readonly DEFAULT_SLOTS = 1 << 15;
  private readonly lock: Int32Array;
  private readonly ints: Int32Array;
  private readonly floats: Float64Array;
  private readonly slots: number;
  /** Ints per slot: the key's two, then one count per column. */
  private readonly width: number;

  constructor(readonly buffers: SharedTableBuffers = SharedTable.allocate()) {
    this.lock = new Int32Array(buffers.lock);
    this.ints = new Int32Array(buffers.ints);
    this.floats = new Float64Array(buffers.floats);
    this.slots = this.floats.length / FLOATS_PER_SLOT;
    this.width = this.ints.length / this.slots;
  }

  /** `columns`: the threads that count open connections in it (server.threads). */
  static allocate(slots = SharedTable.DEFAULT_SLOTS, columns = 1): SharedTableBuffers {
    return {
      lock: new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT),
      ints: new SharedArrayBuffer(slots * (KEY_INTS + columns) * Int32Array.BYTES_PER_ELEMENT),
      floats: new SharedArrayBuffer(slots * FLOATS_PER_SLOT * Float64Array.BYTES_PER_ELEMENT),
    };
  }

  /** Keys held. */
  get size(): number {
    let used = 0;
    for (let slot = 0; slot < this.slots; slot++) if (this.ints[slot * this.width + 1] !== 0) used++;
    return used;
  }

  /**
   * Runs `use` on `key`'s slot with the table locked. `fresh`: the slot was just given to the key (its
   * values are to be set). Without `create`, a key that has no slot is not given one (`use` is not run).
   */
  locked<T>(key: string, create: boolean, use: (slot: Slot, fresh: boolean) => T): T | undefined {
    const [high, low] = hash(key);
    this.acquire();
    try {
      const home = (high >>> 0) % this.slots;
      let free = -1;
      let oldest = -1;
      for (let step = 0; step < WINDOW; step++) {
        const slot = (home + step) % this.slots;
        const at = slot * this.width;
        if (this.ints[at + 1] === low && this.ints[at] === high) return use(this.slot(slot), false);
        if (this.ints[at + 1] === 0) {
          if (free < 0) free = slot;
        } else if (this.openAt(slot) === 0 && (oldest < 0 || this.lastUse(slot) < this.lastUse(oldest))) oldest = slot;
      }
      if (!create) return undefined;
      const slot = free >= 0 ? free : oldest;
      if (slot < 0) return undefined; // every slot of the window counts open connections
      this.ints.fill(0, slot * this.width, (slot + 1) * this.width);
      this.ints[slot * this.width] = high;
      this.ints[slot * this.width + 1] = low;
      return use(this.slot(slot), true);
    } finally {
      this.release();
    }
  }

  /** Drops what `column` counts (its thread died with connections open), freeing the keys nothing else counts. */
  clearColumn(column: number): void {
    this.acquire();
    try {
      for (let slot = 0; slot < this.slots; slot++) {
        const at = slot * this.width;
        if (this.ints[at + 1] === 0 || this.ints[at + KEY_INTS + column] === 0) continue;
        this.ints[at + KEY_INTS + column] = 0;
        if (this.openAt(slot) === 0) this.ints.fill(0, at, at + this.width);
      }
    } finally {
      this.release();
    }
  }

  /** Frees `key`'s slot. */
  forget(key: string): void {
    this.locked(key, false, (slot) => slot.free());
  }

  private acquire(): void {
    while (Atomics.compareExchange(this.lock, 0, 0, 1) !== 0) Atomics.wait(this.lock, 0, 1, 1);
  }

  private release(): void {
    Atomics.store(this.lock, 0, 0);
    Atomics.notify(this.lock, 0, 1);
  }

  private lastUse(slot: number): number {
    return this.floats[slot * FLOATS_PER_SLOT + 1]!;
  }

  /** Open connections counted in `slot` by every column. */
  private openAt(slot: number): number {
    let open = 0;
    for (let at = slot * this.width + KEY_INTS; at < (slot + 1) * this.width; at++) open += this.ints[at]!;
    return open;
  }

  private slot(slot: number): Slot {
    const { ints, floats, width } = this;
    const i = slot * width;
    const f = slot * FLOATS_PER_SLOT;
    const openAt = (): number => this.openAt(slot);
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
        return openAt();
      },
      addOpen: (column: number, delta: number) => {
        ints[i + KEY_INTS + column] = Math.max(0, ints[i + KEY_INTS + column]! + delta);
      },
      free: () => ints.fill(0, i, i + width),
    };
  }
}

/** One slot's values, valid inside locked(). */
export interface Slot {
  tokens: number;
  /** Last use (ms): the bucket's refill time, and the recency eviction goes by. */
  at: number;
  /** Connections open from the key, counted by every column. */
  readonly open: number;
  /** Adds `delta` to the count of column `column` (never below 0). */
  addOpen(column: number, delta: number): void;
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

/** Counts over a shared table, for every thread: each counts in its own column, get() sums them. */
export class SharedCounts implements Counts {
  constructor(
    readonly table: SharedTable = new SharedTable(),
    /** This thread's column (its row in the shared cells). */
    private readonly column = 0,
  ) {}

  get(key: string): number {
    return this.table.locked(key, false, (slot) => slot.open) ?? 0;
  }

  add(key: string, delta: number, nowMs: number): void {
    this.table.locked(key, delta > 0, (slot, fresh) => {
      if (fresh) slot.tokens = Number.NaN; // not a bucket: this table only counts
      slot.addOpen(this.column, delta);
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
