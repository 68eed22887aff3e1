/**
 * The page's live numbers (GET /stats.json): events stored, events today, connections, subscriptions,
 * uptime, and the last 24 hours by minute (events stored, connections) from a ring buffer in memory.
 *
 * Cheap by construction: the store is counted only when someone first asks (events stored: a count of
 * the table; events today: an indexed count of `created_at` since 00:00 UTC), and again at most every
 * RECOUNT_MS (for deletions, which are not counted as they happen) or when the UTC day changes. In
 * between, the relay's own counter of stored events moves both numbers. The JSON is built at most once
 * a second, however many browsers poll.
 */
import type { CounterValues } from '../relay/counters.js';

export interface LiveSources {
  /** The relay's counters (with server.threads: the totals of every thread). */
  readonly counters: CounterValues;
  /** Every stored event (a full count: called rarely). */
  countStored(): number;
  /** Stored events with created_at ≥ `since` (unix seconds), through the created_at index. */
  countSince(since: number): number;
  nowMs(): number;
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** Minutes of history kept. */
export const HISTORY_MINUTES = 1440;
/** How often deletions are caught up with by a new count (only while someone looks). */
export const RECOUNT_MS = 10 * MINUTE_MS;
/** How often the minute buckets are closed (a late tick puts a minute's events in the next one). */
const TICK_MS = 10_000;

/** Per-minute totals, oldest first: a fixed ring of HISTORY_MINUTES slots. */
class MinuteRing {
  private readonly events = new Float64Array(HISTORY_MINUTES);
  private readonly connections = new Float64Array(HISTORY_MINUTES);
  private next = 0;
  size = 0;

  push(events: number, connections: number): void {
    this.events[this.next] = events;
    this.connections[this.next] = connections;
    this.next = (this.next + 1) % HISTORY_MINUTES;
    this.size = Math.min(this.size + 1, HISTORY_MINUTES);
  }

  /** [events, connections], oldest first. */
  series(): [number[], number[]] {
    const start = (this.next - this.size + HISTORY_MINUTES) % HISTORY_MINUTES;
    const at = (values: Float64Array): number[] => Array.from({ length: this.size }, (_, i) => values[(start + i) % HISTORY_MINUTES]!);
    return [at(this.events), at(this.connections)];
  }
}

export interface LiveSnapshot {
  events_stored: number;
  events_today: number;
  connections: number;
  subscriptions: number;
  uptime_seconds: number;
  /** `start`: unix seconds of the first minute; one value per minute (the last one is the minute under way). */
  history: { start: number; step: number; events: number[]; connections: number[] };
}

export class LiveStats {
  private readonly ring = new MinuteRing();
  /** The minute under way (minutes since the epoch) and the stored-event counter when it began. */
  private minute: number;
  private storedAtMinute: number;
  private stored?: { base: number; counterAt: number; countedAt: number };
  private today?: { day: number; base: number; counterAt: number };
  private json?: { text: string; builtAt: number };
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly sources: LiveSources) {
    this.minute = Math.floor(sources.nowMs() / MINUTE_MS);
    this.storedAtMinute = sources.counters.eventsStored;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** Closes the minutes that have passed: the first with the events stored in it, any further (a stalled clock) with none. */
  tick(): void {
    const now = Math.floor(this.sources.nowMs() / MINUTE_MS);
    const { eventsStored, connections } = this.sources.counters;
    const passed = Math.min(now - this.minute, HISTORY_MINUTES);
    for (let i = 0; i < passed; i++) this.ring.push(i === 0 ? eventsStored - this.storedAtMinute : 0, connections);
    if (passed > 0) {
      this.minute = now;
      this.storedAtMinute = eventsStored;
    }
  }

  snapshot(): LiveSnapshot {
    this.tick();
    const { counters, nowMs } = this.sources;
    const now = nowMs();
    const counter = counters.eventsStored;
    if (this.stored === undefined || now - this.stored.countedAt >= RECOUNT_MS) {
      this.stored = { base: this.sources.countStored(), counterAt: counter, countedAt: now };
    }
    const day = Math.floor(now / DAY_MS);
    if (this.today?.day !== day) {
      this.today = { day, base: this.sources.countSince((day * DAY_MS) / 1000), counterAt: counter };
    }
    const [events, connections] = this.ring.series();
    events.push(counter - this.storedAtMinute);
    connections.push(counters.connections);
    return {
      events_stored: this.stored.base + counter - this.stored.counterAt,
      events_today: this.today.base + counter - this.today.counterAt,
      connections: counters.connections,
      subscriptions: counters.subscriptions,
      uptime_seconds: Math.max(0, Math.floor((now - counters.startedAt) / 1000)),
      history: { start: (this.minute - this.ring.size) * 60, step: 60, events, connections },
    };
  }

  /** The snapshot as JSON, rebuilt at most once a second. */
  toJson(): string {
    const now = this.sources.nowMs();
    if (this.json === undefined || now - this.json.builtAt >= 1000 || now < this.json.builtAt) {
      this.json = { text: JSON.stringify(this.snapshot()), builtAt: now };
    }
    return this.json.text;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
