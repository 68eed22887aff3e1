/**
 * Durability of the real CLI process: what the relay answered OK true for survives a SIGKILL, and a
 * SIGTERM / SIGINT stops it gracefully (OKs for what it took, close code 1001, exit status 0).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { RawClient, type Frame } from '../helpers/client.js';
import { freePort, startCliRelay, type CliRelay } from '../helpers/cli.js';
import { newKeys, now, signed } from '../helpers/events.js';
import { okFrameProblem } from '../helpers/frames.js';

const TIMEOUT_MS = 20_000;
/** Each test starts the CLI twice (tsx compiles on start-up) and waits for bounded events. */
const TEST_TIMEOUT_MS = 90_000;

let dir: string;
let config: string;
let dbCount = 0;
const children: CliRelay[] = [];
const clients: RawClient[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'commons-durability-'));
  config = join(dir, 'relay.yaml');
  writeFileSync(config, 'logging:\n  format: json\n  level: info\n');
});

afterEach(() => {
  for (const client of clients.splice(0)) client.socket.terminate();
  // Only the processes this file started, by their own handle.
  for (const relay of children.splice(0)) {
    if (relay.child.exitCode === null && relay.child.signalCode === null) relay.child.kill('SIGKILL');
  }
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function start(db: string): Promise<CliRelay> {
  const relay = await startCliRelay({ config, db, port: await freePort(), startTimeoutMs: TIMEOUT_MS });
  children.push(relay);
  return relay;
}

async function connect(url: string): Promise<RawClient> {
  const client = await RawClient.connect(url);
  client.socket.on('error', () => {});
  clients.push(client);
  return client;
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Waits until the client has an OK for every id; returns them by id. */
async function oksFor(client: RawClient, ids: readonly string[], ms = TIMEOUT_MS): Promise<Map<string, Frame>> {
  const wanted = new Set(ids);
  const found = (): Map<string, Frame> =>
    new Map(client.frames.filter((f) => f[0] === 'OK' && wanted.has(f[1] as string)).map((f) => [f[1] as string, f]));
  const deadline = Date.now() + ms;
  while (found().size < wanted.size) {
    if (Date.now() > deadline) throw new Error(`only ${found().size} of ${wanted.size} OKs within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return found();
}

/** Which of `ids` the relay at `url` has, with their stored JSON, fetched by id in chunks. */
async function fetchByIds(url: string, ids: readonly string[]): Promise<Map<string, NostrEvent>> {
  const client = await connect(url);
  const stored = new Map<string, NostrEvent>();
  for (let i = 0; i < ids.length; i += 100) {
    const chunk = ids.slice(i, i + 100);
    const result = await client.req(`ids${i}`, { ids: chunk, limit: chunk.length });
    expect(result.closed, 'REQ by ids refused').toBeUndefined();
    for (const event of result.events as NostrEvent[]) stored.set(event.id, event);
  }
  return stored;
}

function events(count: number, label: string): NostrEvent[] {
  const keys = [newKeys(), newKeys(), newKeys()];
  const t = now();
  return Array.from({ length: count }, (_, i) => signed(keys[i % keys.length]!, { created_at: t - (i % 60), content: `${label} #${i}` }));
}

describe('crash durability', () => {
  it(
    'every event answered OK true survives kill -9 and a restart on the same database',
    async () => {
      const db = join(dir, `crash-${++dbCount}.sqlite`);
      const first = await start(db);
      const connections = await Promise.all([0, 1, 2, 3].map(() => connect(first.url)));
      const burst = events(200, 'crash burst');
      // Fire everything at once over four connections, without waiting in between.
      burst.forEach((event, i) => {
        connections[i % connections.length]!.send(['EVENT', event]);
      });
      const oks = new Map<string, Frame>();
      for (const [i, client] of connections.entries()) {
        const mine = burst.filter((_, j) => j % connections.length === i).map((e) => e.id);
        for (const [id, frame] of await oksFor(client, mine)) oks.set(id, frame);
      }
      // The instant the last OK is in: SIGKILL, no chance to flush anything.
      first.child.kill('SIGKILL');
      const exit = await first.waitExit(TIMEOUT_MS);
      expect(exit.signal).toBe('SIGKILL');

      expect([...oks.values()].filter((f) => f[2] !== true)).toEqual([]);
      expect(oks.size).toBe(200);

      const second = await start(db);
      const stored = await fetchByIds(
        second.url,
        burst.map((e) => e.id),
      );
      const missing = burst.filter((e) => !stored.has(e.id)).map((e) => e.id);
      expect(missing, `${missing.length} OK'd events lost after kill -9`).toEqual([]);
      for (const event of burst) expect(stored.get(event.id)).toEqual(event);

      second.child.kill('SIGTERM');
      expect(await second.waitExit(TIMEOUT_MS)).toEqual({ code: 0, signal: null });
    },
    TEST_TIMEOUT_MS,
  );
});

describe.each(['SIGTERM', 'SIGINT'] as const)('graceful shutdown on %s', (signal) => {
  it(
    `answers what it took, closes sockets with 1001, exits 0, and keeps every OK'd event (${signal})`,
    async () => {
      const db = join(dir, `graceful-${signal}-${++dbCount}.sqlite`);
      const first = await start(db);
      const client = await connect(first.url);
      const idle = await connect(first.url);
      const idleSub = await idle.req('live', { kinds: [1] });
      expect(idleSub.closed).toBeUndefined();

      // A few events fully answered before the signal…
      const before = events(5, `${signal} before`);
      for (const event of before) client.send(['EVENT', event]);
      const beforeOks = await oksFor(
        client,
        before.map((e) => e.id),
      );
      expect([...beforeOks.values()].every((f) => f[2] === true)).toBe(true);

      // …then a burst still in flight when the signal arrives.
      const burst = events(400, `${signal} burst`);
      for (const event of burst) client.send(['EVENT', event]);
      first.child.kill(signal);

      const code = await within(client.closed(), TIMEOUT_MS, 'close of the publishing connection');
      const idleCode = await within(idle.closed(), TIMEOUT_MS, 'close of the idle connection');
      const exit = await first.waitExit(TIMEOUT_MS);
      expect({ code, idleCode }).toEqual({ code: 1001, idleCode: 1001 });
      expect(exit, first.stderr.join('\n')).toEqual({ code: 0, signal: null });

      // Every answer is a well-formed OK; a refusal during shutdown carries a prefix.
      const burstIds = new Set(burst.map((e) => e.id));
      const answers = client.frames.filter((f) => f[0] === 'OK' && burstIds.has(f[1] as string));
      expect(answers.map(okFrameProblem).filter(Boolean)).toEqual([]);
      expect(new Set(answers.map((f) => f[1])).size).toBe(answers.length); // one answer per event
      const accepted = answers.filter((f) => f[2] === true).map((f) => f[1] as string);

      const second = await start(db);
      const all = [...before, ...burst];
      const stored = await fetchByIds(
        second.url,
        all.map((e) => e.id),
      );
      // What was OK'd is there…
      const lost = [...before.map((e) => e.id), ...accepted].filter((id) => !stored.has(id));
      expect(lost, `OK'd events lost after ${signal}`).toEqual([]);
      // …and nothing was stored without its OK reaching the client before the close.
      const unanswered = burst.filter((e) => stored.has(e.id) && !accepted.includes(e.id)).map((e) => e.id);
      expect(unanswered, `events stored but never answered OK true before the 1001 close`).toEqual([]);
      for (const event of all) if (stored.has(event.id)) expect(stored.get(event.id)).toEqual(event);

      second.child.kill(signal);
      expect(await second.waitExit(TIMEOUT_MS)).toEqual({ code: 0, signal: null });
    },
    TEST_TIMEOUT_MS,
  );
});
