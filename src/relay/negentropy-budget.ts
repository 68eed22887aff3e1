import { rateKeyOf } from '../net/ip.js';
import { LocalCounts, SharedCounts, SharedTable, type Counts, type SharedTableBuffers } from '../policy/shared-buckets.js';
import { SharedBudget } from '../worker/shared-budget.js';

/** The budget's cells, shared by every connection thread (server.threads). */
export interface SharedNegentropyBudget {
  readonly records: SharedArrayBuffer;
  readonly sessions: SharedArrayBuffer;
  readonly perIp: SharedTableBuffers;
}

/** `threads`: the connection threads that hold sessions (a row each: see releaseNegentropyRow). */
export function allocateSharedNegentropyBudget(threads: number): SharedNegentropyBudget {
  return {
    records: SharedBudget.cellsFor(threads),
    sessions: new SharedArrayBuffer(threads * Int32Array.BYTES_PER_ELEMENT),
    perIp: SharedTable.allocate(1 << 12, threads),
  };
}

/** A connection thread died: its sessions and the records of their sets are given back. */
export function releaseNegentropyRow(cells: SharedNegentropyBudget, thread: number): void {
  SharedBudget.release(cells.records, thread);
  Atomics.store(new Int32Array(cells.sessions), thread, 0);
  new SharedTable(cells.perIp).clearColumn(thread);
}

/**
 * What the NIP-77 sessions of the whole process hold together: the records of their sets (a set shared
 * by several sessions counts once) and the sessions opened from each IP (an IPv6 /64). One per process,
 * shared by every site (src/app.ts) and every connection thread, so neither an IP nor the sum of the sets grows with the number of
 * virtual hosts. The records are charged while a set is read, on whichever thread reads it, so a set
 * that does not fit stops being read at the limit.
 */
export class NegentropyBudget {
  private readonly shared: SharedBudget;
  /** Sessions open, per thread row. */
  private readonly open: Int32Array;
  private readonly perIp: Counts;

  constructor(
    /** negentropy.max_total_records, read on every check (reloadable). */
    private readonly maxRecords: () => number,
    /** server.threads: the cells every thread shares; absent = this thread's own. */
    cells?: SharedNegentropyBudget,
    /** server.threads: this thread's row in `cells`. */
    private readonly row = 0,
  ) {
    this.shared = new SharedBudget(cells?.records, row);
    this.open = new Int32Array(cells?.sessions ?? new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
    this.perIp = cells === undefined ? new LocalCounts() : new SharedCounts(new SharedTable(cells.perIp), row);
  }

  /** The records' budget, with the current limit, to charge while reading a set. */
  get forReading(): SharedBudget {
    this.shared.limit = this.maxRecords();
    return this.shared;
  }

  /** Records held by every session's set (each set once), and by sets being read. */
  get records(): number {
    return this.shared.held;
  }

  /** Sessions open or waiting for their set, over every connection. */
  get sessions(): number {
    let open = 0;
    for (let row = 0; row < this.open.length; row++) open += Atomics.load(this.open, row);
    return open;
  }

  get limit(): number {
    return this.maxRecords();
  }

  /** Nothing more fits: a NEG-OPEN needing a set of its own is refused before it is read. */
  full(): boolean {
    return this.shared.held >= this.maxRecords();
  }

  /** Gives back the records of a set no session holds any more. */
  give(records: number): void {
    this.shared.give(records);
  }

  sessionsFrom(ip: string): number {
    return this.perIp.get(rateKeyOf(ip));
  }

  sessionOpened(ip: string): void {
    this.perIp.add(rateKeyOf(ip), 1, Date.now());
    Atomics.add(this.open, this.row, 1);
  }

  sessionClosed(ip: string): void {
    this.perIp.add(rateKeyOf(ip), -1, Date.now());
    Atomics.sub(this.open, this.row, 1);
  }
}
