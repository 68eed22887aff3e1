/**
 * Backups end to end: `commons backup FILE` (the real CLI process) copies the database of a running relay
 * while clients keep publishing; the copy passes integrity_check and holds every event acknowledged before
 * the backup began; a relay restored from it (stop, copy, start) serves them. The relay's own periodic
 * backups (backup.every) are taken, named by time, rotated and rescheduled on a reload.
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/types.js';
import type { NostrEvent } from '../../src/event/types.js';
import Database from '../../src/store/sqlite.js';
import { RawClient } from '../helpers/client.js';
import { newKeys, now, signed, type Keys } from '../helpers/events.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { runCommand } from '../helpers/run-cli.js';
import { waitFor } from '../helpers/wait.js';

/** The CLI starts through tsx (a second or two) and copies while the test publishes. */
const TEST_TIMEOUT_MS = 90_000;
/** Bound on the events published while the backup runs. */
const MAX_DURING = 3000;

let dir: string;
const relays: TestRelay[] = [];
const clients: RawClient[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'commons-backup-e2e-'));
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate();
  for (const relay of relays.splice(0)) await relay.cleanup();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function start(...args: Parameters<typeof startTestRelay>): Promise<TestRelay> {
  const relay = await startTestRelay(...args);
  relays.push(relay);
  return relay;
}

async function connect(url: string): Promise<RawClient> {
  const client = await RawClient.connect(url);
  clients.push(client);
  return client;
}

async function publish(client: RawClient, keys: Keys, i: number): Promise<NostrEvent> {
  const event = signed(keys, { content: `note ${i}`, created_at: now() - 3600 + (i % 3000) });
  const ok = await client.publish(event);
  expect(ok[2], JSON.stringify(ok)).toBe(true);
  return event;
}

/** The ids a database file holds, after checking it with integrity_check. */
function checkedIds(path: string): Set<string> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    return new Set(db.prepare<[], string>('SELECT lower(hex(id)) FROM events').pluck().all());
  } finally {
    db.close();
  }
}

const LIMITS = { limits: { max_limit: 10_000 } };

describe('commons backup FILE', () => {
  it(
    'copies a running relay while clients publish; a relay restored from the copy serves every event acknowledged before',
    async () => {
      const relay = await start(LIMITS);
      const keys = newKeys();
      const client = await connect(relay.url);
      const before: NostrEvent[] = [];
      for (let i = 0; i < 300; i++) before.push(await publish(client, keys, i));

      const copy = join(dir, 'live', 'copy.sqlite');
      let finished = false;
      const backup = runCommand(['backup', copy, '--db', relay.dbPath]).finally(() => (finished = true));
      // Publishing goes on for as long as the backup process runs (bounded).
      const during: NostrEvent[] = [];
      while (!finished && during.length < MAX_DURING) during.push(await publish(client, keys, 1000 + during.length));
      const run = await backup;
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(during.length).toBeGreaterThan(0);
      // Not a terminal: one line, at the end.
      expect(run.stdout).toMatch(
        /^backup: .*relay\.sqlite → .*copy\.sqlite: [\d,]+ events, [\d,]+ pages \([\d.]+ MB\) in [\d.]+ s; integrity_check ok, event count matches\n$/,
      );

      const inCopy = checkedIds(copy);
      for (const event of before) expect(inCopy.has(event.id), `acknowledged before the backup: ${event.id}`).toBe(true);
      const published = new Set([...before, ...during].map((event) => event.id));
      for (const id of inCopy) expect(published.has(id)).toBe(true);
      expect(run.stdout).toContain(`: ${inCopy.size.toLocaleString('en-US')} events`);

      // Restore: stop the relay, put the copy in place of its database (and its WAL), start again.
      await relay.stop();
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${relay.dbPath}${suffix}`, { force: true });
      copyFileSync(copy, relay.dbPath);
      const restored = await start({ ...LIMITS, storage: { path: relay.dbPath } });
      const reader = await connect(restored.url);
      const { events } = await reader.req('all', { authors: [keys.pubkey], limit: 10_000 });
      expect(new Set(events.map((event) => event.id))).toEqual(inCopy);
      expect(events.length).toBeGreaterThanOrEqual(before.length);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'fails with a clear message and status 1 for a missing database or an existing FILE; --force replaces it',
    async () => {
      const missing = await runCommand(['backup', join(dir, 'none.sqlite'), '--db', join(dir, 'no', 'relay.sqlite')]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toBe(`backup: ${join(dir, 'no', 'relay.sqlite')}: no such database file\n`);
      expect(existsSync(join(dir, 'none.sqlite'))).toBe(false);

      const relay = await start();
      const client = await connect(relay.url);
      const event = await publish(client, newKeys(), 1);
      const taken = join(dir, 'taken.sqlite');
      writeFileSync(taken, 'something else');
      const refused = await runCommand(['backup', taken, '--db', relay.dbPath]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe(`backup: ${taken} exists: choose another name, or --force to replace it\n`);

      const forced = await runCommand(['backup', taken, '--force', '--db', relay.dbPath]);
      expect(forced.stderr).toBe('');
      expect(forced.code).toBe(0);
      expect(checkedIds(taken)).toEqual(new Set([event.id]));
    },
    TEST_TIMEOUT_MS,
  );
});

describe('backup.every: periodic backups by the relay', () => {
  it('takes one at start when there is none, then every `every`, keeps the newest `keep`, and follows a reload', async () => {
    const backups = join(dir, 'periodic');
    const t0 = Date.parse('2027-01-31T12:00:00Z');
    let clock = t0;
    const HOUR = 3_600_000;
    const relay = await start({ backup: { every: 3600, keep: 2, dir: backups } }, { nowMs: () => clock });
    const schedule = relay.relay.backups;
    // The first backup is due at once (none in the directory); then the next one an hour after it.
    await waitFor(() => schedule.dueAtMs === t0 + HOUR, 'the backup taken at start, and the next one scheduled');
    expect(readdirSync(backups)).toEqual(['relay-20270131T120000Z.sqlite']);
    expect(checkedIds(join(backups, 'relay-20270131T120000Z.sqlite')).size).toBe(0);

    const keys = newKeys();
    const client = await connect(relay.url);
    const published: NostrEvent[] = [];
    for (let i = 0; i < 20; i++) published.push(await publish(client, keys, i));
    clock += HOUR;
    const second = await schedule.run();
    expect(second.events).toBe(20);

    for (let i = 20; i < 30; i++) published.push(await publish(client, keys, i));
    clock += HOUR;
    await schedule.run();
    // keep: 2 — the one taken at start is gone.
    expect(readdirSync(backups).sort()).toEqual(['relay-20270131T130000Z.sqlite', 'relay-20270131T140000Z.sqlite']);
    expect(checkedIds(join(backups, 'relay-20270131T140000Z.sqlite'))).toEqual(new Set(published.map((event) => event.id)));

    // A reload reschedules from the newest backup: every 2h → due at 16:00; every null → none.
    const withBackup = (backup: Partial<Config['backup']>): Config => ({
      ...relay.relay.config,
      backup: { ...relay.relay.config.backup, ...backup },
    });
    expect(relay.reload(withBackup({ every: 7200 })).applied).toEqual(['backup.every']);
    await waitFor(() => schedule.dueAtMs === t0 + 4 * HOUR, 'the next backup rescheduled two hours after the newest');
    relay.reload(withBackup({ every: null }));
    expect(schedule.dueAtMs).toBeUndefined();
  });
});
