/**
 * Start-up time of `serve` on an existing database: spawn `node dist/main.js serve`, then time until
 * the port accepts a WebSocket and until a first REQ is answered with EOSE. Best and median of
 * `--runs` starts (each process is stopped with SIGTERM before the next).
 *
 *   npm run build
 *   npx tsx bench/startup.ts --db /tmp/1m.sqlite [--runs 5]
 *
 * The database is opened as it is (no copy); `serve` creates nothing in it when it is already
 * migrated. Loopback only, a free port picked here.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';

const arg = (name: string): string | undefined => {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? undefined : process.argv[at + 1];
};

const db = arg('db');
const runs = Number(arg('runs') ?? 5);
const main = arg('main') ?? 'dist/main.js';
if (db === undefined || !existsSync(db) || !Number.isInteger(runs) || runs < 1 || runs > 50) {
  process.stderr.write('usage: npx tsx bench/startup.ts --db <existing sqlite file> [--runs 1..50] [--main dist/main.js]\n');
  process.exit(2);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves with an open socket once the relay accepts one; gives up after `deadline` (ms since epoch). */
async function connect(url: string, deadline: number): Promise<WebSocket> {
  while (Date.now() < deadline) {
    const socket = new WebSocket(url);
    const opened = await new Promise<boolean>((resolve) => {
      socket.once('open', () => resolve(true));
      socket.once('error', () => resolve(false));
    });
    if (opened) return socket;
    await sleep(5);
  }
  throw new Error(`no answer on ${url}`);
}

async function firstEose(socket: WebSocket): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no EOSE within 30 s')), 30_000);
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as unknown[];
      if (frame[0] === 'EOSE' && frame[1] === 'startup') {
        clearTimeout(timer);
        resolve();
      }
    });
    socket.send(JSON.stringify(['REQ', 'startup', { kinds: [1], limit: 10 }]));
  });
}

async function once(): Promise<{ listening: number; answered: number }> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [main, 'serve', '--host', '127.0.0.1', '--port', String(port), '--db', db!, '--log-level', 'warn'],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  try {
    const socket = await connect(`ws://127.0.0.1:${port}`, Date.now() + 60_000);
    const listening = performance.now() - started;
    await firstEose(socket);
    const answered = performance.now() - started;
    socket.close();
    return { listening, answered };
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(20_000)]);
  }
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const results: { listening: number; answered: number }[] = [];
for (let i = 0; i < runs; i++) {
  const result = await once();
  results.push(result);
  process.stderr.write(`run ${i + 1}: listening ${result.listening.toFixed(0)} ms, first EOSE ${result.answered.toFixed(0)} ms\n`);
}
const listening = results.map((r) => r.listening);
const answered = results.map((r) => r.answered);
process.stdout.write(
  `startup (${runs} runs, ${db}): listening median ${median(listening).toFixed(0)} ms (best ${Math.min(...listening).toFixed(0)}), ` +
    `first EOSE median ${median(answered).toFixed(0)} ms (best ${Math.min(...answered).toFixed(0)})\n`,
);
