import { rateKeyOf } from '../net/ip.js';
import { SharedBudget } from '../worker/shared-budget.js';

/**
 * What the NIP-77 sessions of the whole process hold together: the records of their sets (a set shared
 * by several sessions counts once) and the sessions opened from each IP (an IPv6 /64). One per process,
 * shared by every site (src/app.ts), so neither an IP nor the sum of the sets grows with the number of
 * virtual hosts. The records are charged while a set is read, on whichever thread reads it, so a set
 * that does not fit stops being read at the limit.
 */
export class NegentropyBudget {
  private readonly shared = new SharedBudget();
  private open = 0;
  private readonly perIp = new Map<string, number>();

  /** `maxRecords`: negentropy.max_total_records, read on every check (reloadable). */
  constructor(private readonly maxRecords: () => number) {}

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
    return this.open;
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
    return this.perIp.get(rateKeyOf(ip)) ?? 0;
  }

  sessionOpened(ip: string): void {
    const key = rateKeyOf(ip);
    this.perIp.set(key, (this.perIp.get(key) ?? 0) + 1);
    this.open++;
  }

  sessionClosed(ip: string): void {
    const key = rateKeyOf(ip);
    const left = (this.perIp.get(key) ?? 1) - 1;
    if (left > 0) this.perIp.set(key, left);
    else this.perIp.delete(key);
    this.open--;
  }
}
