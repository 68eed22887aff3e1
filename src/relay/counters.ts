/** What the relay counts since it started (shown on the page and in /metrics). */
export interface CounterValues {
  readonly connections: number;
  readonly subscriptions: number;
  readonly eventsReceived: number;
  readonly eventsStored: number;
  readonly startedAt: number;
}

export const COUNTER_FIELDS = ['connections', 'subscriptions', 'eventsReceived', 'eventsStored'] as const;
export type CounterField = (typeof COUNTER_FIELDS)[number];

/** The counters a relay changes; reading them gives the totals of every connection thread. */
export interface RelayCounters extends CounterValues {
  add(field: CounterField, delta: number): void;
  /** One value per connection thread (server.threads), the main thread's first. */
  byThread(field: CounterField): number[];
}

/**
 * Counters kept in cells, one row per connection thread: each thread adds to its own row only (no
 * lost updates between threads), and a read sums the rows. With `server.threads` the cells live in a
 * SharedArrayBuffer that every thread maps; alone, in a plain buffer.
 */
export class Counters implements RelayCounters {
  private readonly cells: Float64Array;
  private readonly rows: number;

  constructor(
    /** Counters.cellsFor(threads), shared by every thread; absent: this thread's alone. */
    buffer: SharedArrayBuffer | ArrayBuffer = Counters.cellsFor(1, false),
    /** This thread's row. */
    private readonly row = 0,
    readonly startedAt: number = Date.now(),
  ) {
    this.cells = new Float64Array(buffer);
    this.rows = this.cells.length / COUNTER_FIELDS.length;
  }

  static cellsFor(threads: number, shared = true): SharedArrayBuffer | ArrayBuffer {
    const bytes = threads * COUNTER_FIELDS.length * Float64Array.BYTES_PER_ELEMENT;
    return shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  }

  add(field: CounterField, delta: number): void {
    this.cells[this.row * COUNTER_FIELDS.length + COUNTER_FIELDS.indexOf(field)]! += delta;
  }

  get connections(): number {
    return this.total(0);
  }
  get subscriptions(): number {
    return this.total(1);
  }
  get eventsReceived(): number {
    return this.total(2);
  }
  get eventsStored(): number {
    return this.total(3);
  }

  /** Zeroes this row's connections and subscriptions (its thread died with them open); the totals stay. */
  clearOpen(): void {
    for (const field of ['connections', 'subscriptions'] as const)
      this.cells[this.row * COUNTER_FIELDS.length + COUNTER_FIELDS.indexOf(field)] = 0;
  }

  byThread(field: CounterField): number[] {
    const column = COUNTER_FIELDS.indexOf(field);
    return Array.from({ length: this.rows }, (_, row) => this.cells[row * COUNTER_FIELDS.length + column]!);
  }

  private total(column: number): number {
    let sum = 0;
    for (let row = 0; row < this.rows; row++) sum += this.cells[row * COUNTER_FIELDS.length + column]!;
    return sum;
  }
}
