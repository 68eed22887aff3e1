/**
 * The page's live numbers (src/site-page/live.ts) with a clock the test moves: minutes closed into the
 * ring, 24 hours kept, the store counted only at first, every RECOUNT_MS and at a new UTC day, the JSON
 * built at most once a second.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HISTORY_MINUTES, LiveStats, RECOUNT_MS } from '../../src/site-page/live.js';

const MINUTE = 60_000;
/** 2026-06-01 00:00 UTC plus ten hours. */
const START = Date.UTC(2026, 5, 1, 10);

let stats: LiveStats | undefined;
afterEach(() => stats?.close());

function setUp(stored = 100, today = 7) {
  const clock = { ms: START };
  const counters = { connections: 0, subscriptions: 0, eventsReceived: 0, eventsStored: 0, startedAt: START };
  const store = { stored, today, countsStored: 0, countsSince: [] as number[] };
  stats = new LiveStats({
    counters,
    nowMs: () => clock.ms,
    countStored: () => {
      store.countsStored++;
      return store.stored;
    },
    countSince: (since) => {
      store.countsSince.push(since);
      return store.today;
    },
  });
  const store1 = (n: number): void => {
    counters.eventsStored += n;
    store.stored += n;
  };
  return { clock, counters, store, live: stats, storeEvents: store1 };
}

describe('live numbers', () => {
  it('stored and today move with the relay’s counter; the store is counted once', () => {
    const { live, store, storeEvents, counters } = setUp();
    counters.connections = 2;
    counters.subscriptions = 3;
    expect(live.snapshot()).toMatchObject({ events_stored: 100, events_today: 7, connections: 2, subscriptions: 3, uptime_seconds: 0 });
    storeEvents(5);
    expect(live.snapshot()).toMatchObject({ events_stored: 105, events_today: 12 });
    expect(store.countsStored).toBe(1);
    expect(store.countsSince).toEqual([Date.UTC(2026, 5, 1) / 1000]);
  });

  it('deletions are caught up with after RECOUNT_MS; a new UTC day starts from an indexed count', () => {
    const { live, store, clock } = setUp();
    live.snapshot();
    store.stored = 60; // the pruner deleted 40
    clock.ms += RECOUNT_MS - 1;
    expect(live.snapshot().events_stored).toBe(100);
    clock.ms += 1;
    expect(live.snapshot().events_stored).toBe(60);
    expect(store.countsStored).toBe(2);
    store.today = 0;
    clock.ms = Date.UTC(2026, 5, 2, 0, 0, 1);
    expect(live.snapshot().events_today).toBe(0);
    expect(store.countsSince.at(-1)).toBe(Date.UTC(2026, 5, 2) / 1000);
  });

  it('history: one value per minute, the minute under way last; connections as they were', () => {
    const { live, clock, counters, storeEvents } = setUp();
    storeEvents(3);
    counters.connections = 4;
    clock.ms += MINUTE;
    live.tick();
    storeEvents(2);
    counters.connections = 1;
    const { history } = live.snapshot();
    expect(history).toEqual({ start: START / 1000, step: 60, events: [3, 2], connections: [4, 1] });
  });

  it('minutes nobody ticked count no events; only the last 24 hours are kept', () => {
    const { live, clock, storeEvents } = setUp();
    storeEvents(1);
    clock.ms += 3 * MINUTE;
    expect(live.snapshot().history.events).toEqual([1, 0, 0, 0]);
    clock.ms += 2 * HISTORY_MINUTES * MINUTE;
    const { history } = live.snapshot();
    expect(history.events).toHaveLength(HISTORY_MINUTES + 1);
    expect(history.start).toBe((clock.ms - HISTORY_MINUTES * MINUTE) / 1000);
  });

  it('the JSON is rebuilt at most once a second', () => {
    const { live, clock, storeEvents } = setUp();
    const first = live.toJson();
    storeEvents(1);
    expect(live.toJson()).toBe(first);
    clock.ms += 1000;
    expect(JSON.parse(live.toJson()).events_stored).toBe(101);
  });
});
