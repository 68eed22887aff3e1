/**
 * NIP-77 memory: the relay's RSS with many negentropy sessions open over a large store, and after their
 * connections close. C connections each send S `["NEG-OPEN", id, {}, "6100000200"]` (everything, empty
 * client set; with --distinct each session's filter differs, `{"since": k}`, so no two share a set).
 * The RSS is read from /proc/<pid>/status after a warm-up session (reader thread started, SQLite's
 * cache and map filled), at its highest while the sessions are open, and after the connections are gone.
 *
 *   npx tsx bench/neg-memory.ts [--events 200000] [--connections 10] [--sessions 4] [--distinct]
 *                               [--config file.yaml] [--relay src/main.ts] [--settle 5]
 *
 * Without --config the relay runs with the defaults, except that 127.0.0.1 is in rate_limits.exempt_ips
 * (every bench client comes from there: no per-IP cap, so the process budget is what bounds the sets).
 * The database is built once straight through the store (unsigned events: never verified here) and
 * cached in bench/.cache. The relay runs as a child process (`node --import tsx <relay> serve`, or
 * `node dist/main.js serve` with --relay dist/main.js). Loopback only; every wait bounded.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { computeId, serialize } from '../src/event/validate.js';
import type { NostrEvent } from '../src/event/types.js';
import { EventStore } from '../src/store/store.js';
import { SCHEMA_VERSION } from '../src/store/migrations.js';
import { CACHE_DIR } from './dataset.js';
import { freePort, waitForRelay } from './relay-process.js';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    connections: { type: 'string', default: '10' },
    sessions: { type: 'string', default: '4' },
    distinct: { type: 'boolean', default: false },
    config: { type: 'string' },
    relay: { type: 'string', default: 'src/main.ts' },
    settle: { type: 'string', default: '5' },
  },
});
const events = Number(args.events);
const connections = Number(args.connections);
const sessions = Number(args.sessions);
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** N small events with distinct ids and timestamps spread over a month, written in batches of 5,000. */
function database(count: number): string {
  const path = join(CACHE_DIR, `neg-v${SCHEMA_VERSION}-${count}.sqlite`);
  if (existsSync(path)) return path;
  mkdirSync(CACHE_DIR, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const store = EventStore.open(tmp, { synchronous: 'normal' });
  const started = performance.now();
  for (let i = 0; i < count; i += 5000) {
    const batch = Array.from({ length: Math.min(5000, count - i) }, (_, j) => {
      const event: NostrEvent = {
        id: '',
        pubkey: 'f'.repeat(64),
        created_at: 1_700_000_000 + (((i + j) * 13) % 2_600_000),
        kind: 1,
        tags: [],
        content: `note ${i + j}`,
        sig: '0'.repeat(128),
      };
      event.id = computeId(event);
      return { event, json: serialize(event) };
    });
    store.writeBatch(batch);
  }
  store.close();
  for (const suffix of ['-wal', '-shm']) rmSync(`${tmp}${suffix}`, { force: true });
  renameSync(tmp, path);
  log(`neg-memory: ${count} events written in ${((performance.now() - started) / 1000).toFixed(0)} s → ${path}`);
  return path;
}

function rssMb(pid: number, key = 'VmRSS:'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(key));
  return Number(line?.split(/\s+/)[1] ?? NaN) / 1024;
}

/** Opens `count` sessions on one new socket per `perSocket`; resolves with the NEG-MSG count and the NEG-ERR texts. */
function openSessions(
  url: string,
  sockets: WebSocket[],
  connections: number,
  perSocket: number,
  filter: (c: number, s: number) => object,
): Promise<{ msg: number; err: string[] }> {
  const answers = { msg: 0, err: [] as string[] };
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      log('timeout: not every NEG-OPEN answered within 120 s');
      resolve(answers);
    }, 120_000);
    for (let c = 0; c < connections; c++) {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      sockets.push(ws);
      ws.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString()) as [string, string, string];
        if (frame[0] === 'NEG-MSG') answers.msg++;
        else if (frame[0] === 'NEG-ERR') answers.err.push(frame[2]);
        else return;
        if (answers.msg + answers.err.length === connections * perSocket) {
          clearTimeout(timer);
          resolve(answers);
        }
      });
      ws.on('open', () => {
        for (let s = 0; s < perSocket; s++) ws.send(JSON.stringify(['NEG-OPEN', `n${s}`, filter(c, s), '6100000200']));
      });
    }
  });
}

async function main(): Promise<void> {
  const source = database(events);
  const dir = mkdtempSync(join(tmpdir(), 'commons-neg-memory-'));
  const db = join(dir, 'relay.sqlite');
  // A copy: the relay may write to (and migrate) the database it serves.
  await import('node:fs/promises').then((fs) => fs.copyFile(source, db));
  const port = await freePort();
  const runner = args.relay!.endsWith('.ts') ? ['--import', 'tsx'] : [];
  let config = args.config;
  if (config === undefined) {
    config = join(dir, 'bench.yaml');
    writeFileSync(config, 'rate_limits:\n  connections_per_ip: null\n  max_connections_per_ip: null\n  exempt_ips: [127.0.0.1]\n');
  }
  const relay = spawn(
    process.execPath,
    [...runner, args.relay!, 'serve', '--config', config, '--host', '127.0.0.1', '--port', String(port), '--db', db, '--log-level', 'warn'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const url = `ws://127.0.0.1:${port}`;
  const watchdog = setTimeout(() => {
    log('watchdog: over 5 minutes');
    relay.kill();
    process.exit(1);
  }, 300_000);
  const sockets: WebSocket[] = [];
  try {
    await waitForRelay(url, 120_000);
    // Warm-up: one session, closed, so the reader thread runs and SQLite's cache and map hold the index.
    const warm: WebSocket[] = [];
    await openSessions(url, warm, 1, 1, () => ({}));
    for (const ws of warm) ws.close();
    await sleep(Number(args.settle) * 1000);
    const base = rssMb(relay.pid!);
    log(`base: ${base.toFixed(0)} MB (anon ${rssMb(relay.pid!, 'RssAnon:').toFixed(0)})`);

    let peak = base;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(relay.pid!))), 50);
    const started = performance.now();
    const answers = await openSessions(url, sockets, connections, sessions, (c, s) => (args.distinct ? { since: c * sessions + s } : {}));
    const openMs = performance.now() - started;
    await sleep(1000);
    const open = rssMb(relay.pid!);
    clearInterval(sampler);
    peak = Math.max(peak, open);
    for (const ws of sockets) ws.close();
    await sleep(Number(args.settle) * 1000);
    const after = rssMb(relay.pid!);
    const refusals = [...new Set(answers.err.map((e) => e.replace(/\d+/g, 'N')))].join('; ');
    process.stdout.write(
      `${events} events, ${connections} connections × ${sessions} NEG-OPEN${args.distinct ? ' (distinct filters)' : ''}: ${answers.msg} answered, ${answers.err.length} refused${refusals ? ` (${refusals})` : ''} in ${openMs.toFixed(0)} ms\n` +
        '| base RSS | sessions open (peak) | + over base | after close | held over base |\n|---:|---:|---:|---:|---:|\n' +
        `| ${base.toFixed(0)} MB | ${open.toFixed(0)} MB (${peak.toFixed(0)}) | ${(peak - base).toFixed(0)} MB | ${after.toFixed(0)} MB | ${(after - base).toFixed(0)} MB |\n`,
    );
  } finally {
    clearTimeout(watchdog);
    for (const ws of sockets) ws.terminate();
    relay.kill('SIGTERM');
    await new Promise((r) => relay.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(String(error));
    process.exit(1);
  },
);
