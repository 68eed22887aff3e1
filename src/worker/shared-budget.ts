/**
 * A count of units that several threads charge at once, against a limit: Int32 cells of a
 * SharedArrayBuffer, [limit, held by row 0, held by row 1, …], changed with Atomics. Each connection
 * thread (server.threads) charges its own row, and the reader threads it starts charge that row too, so
 * what a thread that died held can be given back (release); the total held is the sum of the rows. Pass
 * `buffer` and `row` in a worker message to share it. A charge that would pass the limit is refused
 * whole (two threads racing near the limit may both be refused: the safe side).
 */
export class SharedBudget {
  private readonly cells: Int32Array;

  constructor(
    readonly buffer: SharedArrayBuffer = SharedBudget.cellsFor(1),
    /** The row this thread charges. */
    readonly row = 0,
  ) {
    this.cells = new Int32Array(buffer);
  }

  static cellsFor(rows: number): SharedArrayBuffer {
    return new SharedArrayBuffer((1 + rows) * Int32Array.BYTES_PER_ELEMENT);
  }

  /** Row `row`'s thread died: what it held is given back. */
  static release(buffer: SharedArrayBuffer, row: number): void {
    Atomics.store(new Int32Array(buffer), 1 + row, 0);
  }

  get held(): number {
    let held = 0;
    for (let cell = 1; cell < this.cells.length; cell++) held += Atomics.load(this.cells, cell);
    return held;
  }

  get limit(): number {
    return Atomics.load(this.cells, 0);
  }

  set limit(value: number) {
    Atomics.store(this.cells, 0, value);
  }

  /** Adds `units` when they fit under the limit; false (nothing added) when they do not. */
  charge(units: number): boolean {
    Atomics.add(this.cells, 1 + this.row, units);
    if (this.held <= this.limit) return true;
    Atomics.sub(this.cells, 1 + this.row, units);
    return false;
  }

  give(units: number): void {
    Atomics.sub(this.cells, 1 + this.row, units);
  }
}
