/** Retention in the store: passes on thousands of events with a clock the test moves; plans; tags go too. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { serialize } from '../../src/event/validate.js';
import { Pruner, runPass } from '../../src/retention/pruner.js';
import { compileRetention } from '../../src/retention/rules.js';
import type { RetentionRule } from '../../src/config/types.js';
import { EventStore } from '../../src/store/index.js';
import { pino } from 'pino';

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const AUTHORS = Array.from({ length: 20 }, () => hex(32));
const T0 = 1_700_000_000;

function ev(fields: Partial<NostrEvent>): NostrEvent {
  return { id: hex(32), pubkey: AUTHORS[0]!, created_at: T0, kind: 1, content: 'x', sig: hex(64), tags: [], ...fields };
}

let dir: string;
let store: EventStore;
const write = (events: NostrEvent[], expiresAt?: number): void => {
  store.writeBatch(events.map((event) => ({ event, json: serialize(event), expiresAt })));
};
const count = (sql: string): number =>
  (store as unknown as { db: { prepare(s: string): { pluck(): { get(): number } } } }).db.prepare(sql).pluck().get();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'commons-retention-'));
  store = EventStore.open(join(dir, 'relay.sqlite'), { synchronous: 'normal' });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** 6,000 events: kinds 1, 7, 30023 (addressable, distinct d), 20 authors, one per 10 s from T0 back. */
function fill(): NostrEvent[] {
  const events: NostrEvent[] = [];
  for (let i = 0; i < 6000; i++) {
    const kind = [1, 7, 30023][i % 3]!;
    events.push(
      ev({
        kind,
        pubkey: AUTHORS[i % AUTHORS.length],
        created_at: T0 - i * 10,
        tags:
          kind === 30023
            ? [
                ['d', `d${i}`],
                ['t', 'x'],
              ]
            : [
                ['t', 'x'],
                ['p', AUTHORS[1]!],
              ],
      }),
    );
  }
  write(events);
  return events;
}

const pass = (rules: RetentionRule[], now: number, dryRun = false) => runPass(store, compileRetention(rules), now, { dryRun, batch: 200 });

describe('retention pass', () => {
  it('max_age deletes only kinds not decided by an earlier rule, dry run counts the same, tags go too', () => {
    const events = fill();
    const rules: RetentionRule[] = [
      { kinds: [7], max_age: 1_000_000 },
      { kinds: ['*'], max_age: 20_000 },
    ];
    // now = T0: events older than T0 − 20,000 s (i > 2000) of kinds 1 and 30023 go; kind 7 is kept.
    const expected = events.filter((e) => e.kind !== 7 && e.created_at < T0 - 20_000).length;
    const dry = pass(rules, T0, true);
    expect(dry.rules.map((r) => r.max_age)).toEqual([0, expected]);
    expect(store.stats().events).toBe(6000);
    const real = pass(rules, T0);
    expect(real).toEqual(dry);
    expect(store.stats().events).toBe(6000 - expected);
    expect(count('SELECT count(*) FROM tags WHERE event_rowid NOT IN (SELECT seq FROM events)')).toBe(0);
    // Moving the clock on: kind 7 now passes its max_age too.
    const later = pass(rules, T0 + 1_000_000);
    expect(later.rules[0]!.max_age).toBe(2000);
    expect(store.stats().events).toBe(0);
  });

  it('max_per_pubkey keeps the newest N per author among the rule kinds', () => {
    const events = fill();
    const report = pass([{ kinds: [1, 7], max_per_pubkey: 50 }], T0);
    const ruled = events.filter((e) => e.kind === 1 || e.kind === 7);
    expect(report.rules[0]!.max_per_pubkey).toBe(ruled.length - AUTHORS.length * 50);
    const kept = new Set(
      store.query([{ tags: [], kinds: new Set([1, 7]), limit: 10_000 } as never], T0).map((j) => (JSON.parse(j) as NostrEvent).id),
    );
    for (const author of AUTHORS) {
      const newest = ruled.filter((e) => e.pubkey === author).sort((a, b) => b.created_at - a.created_at);
      expect(newest.slice(0, 50).every((e) => kept.has(e.id))).toBe(true);
      expect(newest.slice(50).some((e) => kept.has(e.id))).toBe(false);
    }
    expect(store.stats().events).toBe(2000 + AUTHORS.length * 50);
  });

  it('max_total keeps the newest N overall; combined with max_per_pubkey survivors count', () => {
    const events = fill();
    const dry = pass(
      [
        { kinds: [30023], max_total: 100 },
        { kinds: ['*'], max_per_pubkey: 10, max_total: 150 },
      ],
      T0,
      true,
    );
    expect(dry.rules[0]).toEqual({ max_age: 0, max_per_pubkey: 0, max_total: 1900 });
    // Rule 1: 4,000 events of 20 authors → 200 survive max_per_pubkey, then 150 of them max_total.
    expect(dry.rules[1]).toEqual({ max_age: 0, max_per_pubkey: 3800, max_total: 50 });
    expect(
      pass(
        [
          { kinds: [30023], max_total: 100 },
          { kinds: ['*'], max_per_pubkey: 10, max_total: 150 },
        ],
        T0,
      ),
    ).toEqual(dry);
    const addressable = events
      .filter((e) => e.kind === 30023)
      .slice(0, 100)
      .map((e) => e.id)
      .sort();
    const stored = store
      .query([{ tags: [], kinds: new Set([30023]), limit: 10_000 } as never], T0)
      .map((j) => (JSON.parse(j) as NostrEvent).id)
      .sort();
    expect(stored).toEqual(addressable);
    expect(store.stats().events).toBe(250);
  });

  it('expired rows (NIP-40, ephemeral keep) are deleted in the first stage', () => {
    write([ev({ kind: 20000 }), ev({ kind: 20001 })], T0 + 300);
    write([ev({ kind: 1, tags: [['expiration', String(T0 + 10)]] })]);
    expect(pass([], T0 + 299, true).expired).toBe(1);
    expect(pass([], T0 + 300).expired).toBe(3);
    expect(store.stats().events).toBe(0);
    expect(() => store.writeBatch([{ event: ev({ kind: 20000 }), json: '{}' }])).toThrow(/ephemeral/);
  });

  it('plans use the indexes', () => {
    const plans = store.retention.plans() as Record<'nextKind' | 'olderThan' | 'walk', string[]>;
    expect(plans.nextKind.join()).toMatch(/USING COVERING INDEX events_kind_created \(kind>\?\)/);
    expect(plans.olderThan.join()).toMatch(/USING COVERING INDEX events_kind_created \(kind=\? AND created_at<\?\)/);
    expect(plans.walk.join()).toMatch(/USING INDEX events_created \(created_at<\?\)/);
    expect(plans.walk.join()).not.toMatch(/TEMP B-TREE/);
  });

  it('the background pruner runs in many short steps', async () => {
    fill();
    const pruner = new Pruner(
      store,
      () => compileRetention([{ kinds: ['*'], max_age: 20_000, max_per_pubkey: 40 }]),
      () => T0,
      pino({ level: 'silent' }),
      60_000,
      100,
    );
    const result = await pruner.run();
    expect(result.steps).toBeGreaterThan(20);
    expect(store.stats().events).toBe(AUTHORS.length * 40);
    pruner.stop();
  });
});
