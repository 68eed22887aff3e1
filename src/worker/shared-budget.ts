/**
 * A count of units that several threads charge at once, against a limit: two Int32 cells of a
 * SharedArrayBuffer, [held, limit], changed with Atomics. Pass `buffer` in a worker message to share it.
 * A charge that would pass the limit is refused whole (two threads racing near the limit may both be
 * refused: the safe side).
 */
export class SharedBudget {
  private readonly cells: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(8)) {
    this.cells = new Int32Array(buffer);
  }

  get held(): number {
    return Atomics.load(this.cells, 0);
  }

  get limit(): number {
    return Atomics.load(this.cells, 1);
  }

  set limit(value: number) {
    Atomics.store(this.cells, 1, value);
  }

  /** Adds `units` when they fit under the limit; false (nothing added) when they do not. */
  charge(units: number): boolean {
    const held = Atomics.add(this.cells, 0, units) + units;
    if (held <= this.limit) return true;
    Atomics.sub(this.cells, 0, units);
    return false;
  }

  give(units: number): void {
    Atomics.sub(this.cells, 0, units);
  }
}
