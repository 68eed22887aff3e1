/**
 * Does a heavy query hold the event loop? A relay process on a copy of the 1M-event database
 * (bench/query-db.ts), run three ways in the same session: query.readers 0 (everything inline),
 * query.readers 1 (heavy queries on a reader thread), and query.readers 1 with reader_min_limit 1
 * (every REQ through the reader, to price the round trip). Per run:
 *
 *   - idle: latency of cheap REQs (one author's profile, kind 0) sent one after another, then of
 *     large-limit REQs (a 6-hour time range, limit 500: what reader_min_limit sends to a reader);
 *   - heavy: while one connection sends heavy queries back to back (NIP-50 common word + author,
 *     COUNT of a common word, NEG-OPEN of all kind 7), another sends a cheap REQ every 20 ms and
 *     measures send → EOSE.
 *
 *   npx tsx bench/heavy-queries.ts [db=bench/.cache/query-v<schema>-1000000.sqlite] [heavy-seconds=20]
 *
 * The database is copied to a temporary directory (the relay opens it read-write) and removed after.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from '../src/store/sqlite.js';
import WebSocket from 'ws';
import { freePort, percentile, waitForRelay } from './relay-process.js';
import { queryDbPath } from './query-db.js';

const source = process.argv[2] ?? queryDbPath(1_000_000);
const heavySeconds = Number(process.argv[3] ?? 20);

const raw = new Database(source, { readonly: true });
const authors = raw.prepare('SELECT DISTINCT lower(hex(pubkey)) FROM events WHERE kind = 0 LIMIT 50').pluck().all() as string[];
const [minTs, maxTs] = raw.prepare('SELECT min(created_at), max(created_at) FROM events').raw().get() as [number, number];
raw.close();

const HEAVY: [name: string, message: (i: number) => unknown[], done: (frame: unknown[]) => boolean][] = [
  [
    'search common word + author',
    (i) => ['REQ', `h${i}`, { search: 'water', authors: [authors[i % authors.length]], limit: 20 }],
    (f) => f[0] === 'EOSE' || f[0] === 'CLOSED',
  ],
  ['COUNT common word', (i) => ['COUNT', `h${i}`, { search: 'the' }], (f) => f[0] === 'COUNT' || f[0] === 'CLOSED'],
  ['NEG-OPEN kind 7 (140k)', (i) => ['NEG-OPEN', `h${i}`, { kinds: [7] }, '6100000200'], (f) => f[0] === 'NEG-MSG' || f[0] === 'NEG-ERR'],
];

class Conn {
  private waiting = new Map<string, (frame: unknown[]) => void>();
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as unknown[];
      const id = frame[1] as string;
      if (frame[0] === 'EVENT') return;
      const resolve = this.waiting.get(id);
      if (resolve) {
        this.waiting.delete(id);
        resolve(frame);
      }
    });
  }
  static async open(url: string): Promise<Conn> {
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new Conn(ws);
  }
  /** Sends `message`, resolves with the first non-EVENT frame for its id; closes REQs after. */
  async ask(message: unknown[]): Promise<unknown[]> {
    const id = message[1] as string;
    const answer = new Promise<unknown[]>((resolve) => this.waiting.set(id, resolve));
    this.ws.send(JSON.stringify(message));
    const frame = await answer;
    if (message[0] === 'REQ') this.ws.send(JSON.stringify(['CLOSE', id]));
    if (message[0] === 'NEG-OPEN') this.ws.send(JSON.stringify(['NEG-CLOSE', id]));
    return frame;
  }
  close(): void {
    this.ws.close();
  }
}

const cheap = (i: number): unknown[] => ['REQ', `c${i}`, { kinds: [0], authors: [authors[i % authors.length]] }];
/** The large-limit shape of query-shapes.ts: a time range of a few hours, 500 events (~1.5 KB each). */
const timeRange = (i: number): unknown[] => {
  const since = minTs + ((i * 7919 * 3600) % Math.max(1, maxTs - minTs - 6 * 3600));
  return ['REQ', `t${i}`, { since, until: since + 6 * 3600, limit: 500 }];
};
const ms = (start: number): number => performance.now() - start;
const summary = (values: number[]): string => {
  const sorted = [...values].sort((a, b) => a - b);
  const f = (v: number | null): string => (v === null ? '-' : v.toFixed(2));
  return `n=${sorted.length} p50 ${f(percentile(sorted, 0.5))} p90 ${f(percentile(sorted, 0.9))} p99 ${f(percentile(sorted, 0.99))} max ${f(sorted.at(-1) ?? null)} ms`;
};

async function run(dir: string, db: string, name: string, readers: number, minLimit: number): Promise<void> {
  const config = join(dir, `${name}.yaml`);
  writeFileSync(config, `query:\n  readers: ${readers}\n  reader_min_limit: ${minLimit}\nverify:\n  workers: 1\n`);
  const port = await freePort();
  const relay: ChildProcess = spawn(
    'npx',
    ['tsx', 'src/main.ts', 'serve', '--config', config, '--db', db, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn'],
    { stdio: ['ignore', 'ignore', 'inherit'], detached: true },
  );
  try {
    const url = `ws://127.0.0.1:${port}`;
    await waitForRelay(url, 120_000);
    const probe = await Conn.open(url);
    for (let i = 0; i < 50; i++) await probe.ask(cheap(i)); // warm the cache
    const idle: number[] = [];
    for (let i = 0; i < 500; i++) {
      const start = performance.now();
      await probe.ask(cheap(1000 + i));
      idle.push(ms(start));
    }
    console.log(`${name}: idle cheap REQ ${summary(idle)}`);
    const large: number[] = [];
    for (let i = 0; i < 100; i++) {
      const start = performance.now();
      await probe.ask(timeRange(i));
      large.push(ms(start));
    }
    console.log(`${name}: idle time-range REQ (limit 500), send → EOSE ${summary(large)}`);

    const heavyConn = await Conn.open(url);
    const heavyTimes = new Map<string, number[]>(HEAVY.map(([label]) => [label, []]));
    const latencies: number[] = [];
    let stop = false;
    const heavyLoop = (async () => {
      for (let i = 0; !stop; i++) {
        const [label, message, done] = HEAVY[i % HEAVY.length]!;
        const start = performance.now();
        const frame = await heavyConn.ask(message(i));
        if (!done(frame)) throw new Error(`unexpected answer ${JSON.stringify(frame).slice(0, 200)}`);
        heavyTimes.get(label)!.push(ms(start));
      }
    })();
    const deadline = performance.now() + heavySeconds * 1000;
    const pending: Promise<void>[] = [];
    for (let i = 0; performance.now() < deadline; i++) {
      const start = performance.now();
      pending.push(probe.ask(cheap(5000 + i)).then(() => void latencies.push(ms(start))));
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(pending);
    stop = true;
    await heavyLoop;
    for (const [label, times] of heavyTimes) console.log(`${name}:   heavy ${label}: ${summary(times)}`);
    console.log(`${name}: cheap REQ during heavy queries ${summary(latencies)}`);
    probe.close();
    heavyConn.close();
  } finally {
    if (relay.pid) process.kill(-relay.pid, 'SIGTERM');
    await new Promise((r) => relay.once('exit', r));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'commons-heavy-'));
try {
  const db = join(dir, 'relay.sqlite');
  copyFileSync(source, db);
  await run(dir, db, 'inline (readers 0)', 0, 500);
  await run(dir, db, 'readers 1', 1, 500);
  await run(dir, db, 'readers 1, every REQ', 1, 1);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
