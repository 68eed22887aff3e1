/**
 * Relay memory: RSS idle, with N idle connections, with N connections each holding a subscription
 * (1–3 filters), and after a round of queries has warmed SQLite's page cache.
 *
 *   npx tsx bench/memory.ts [--connections 5000] [--db /path/to/copy.sqlite] [--relay dist/main.js]
 *
 * The relay is started here (`node <relay> serve`) so /proc/<pid>/status can be read; with --db it
 * opens that file (give it a copy: the relay writes to it), otherwise a fresh one. Loopback only.
 * See bench/README.md (Memory).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { loadDataset } from './dataset.js';
import { benchConfigArgs, freePort, waitForRelay } from './relay-process.js';
import { subscriberFilters } from './subscribers.js';

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '5000' },
    db: { type: 'string' },
    relay: { type: 'string', default: 'dist/main.js' },
    config: { type: 'string' },
    queries: { type: 'string', default: '500' },
    settle: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
const connections = Number(args.connections);
if (!Number.isInteger(connections) || connections < 1 || connections > 60_000) throw new Error('--connections must be 1..60000');
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Memory {
  rssKb: number;
  anonKb: number;
  fileKb: number;
}
function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(/^(\S+):\s+(\d+)/m.exec(status.split('\n').find((l) => l.startsWith(key)) ?? '')?.[2] ?? NaN);
  return { rssKb: kb('VmRSS:'), anonKb: kb('RssAnon:'), fileKb: kb('RssFile:') + kb('RssShmem:') };
}

async function main(): Promise<void> {
  const dataset = loadDataset({ seed: 'commons-bench', count: 20000, now: Math.floor(Date.now() / 1000) - 60 });
  const filters = subscriberFilters(dataset.events, connections, dataset.seed);
  const dir = mkdtempSync(join(tmpdir(), 'commons-memory-'));
  const port = await freePort();
  const extra = benchConfigArgs(dir, args.config);
  const relay = spawn(
    'node',
    [
      args.relay!,
      'serve',
      ...extra,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--db',
      args.db ?? join(dir, 'relay.sqlite'),
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const url = `ws://127.0.0.1:${port}`;
  const watchdog = setTimeout(() => {
    log('watchdog: over 10 minutes');
    relay.kill();
    process.exit(1);
  }, 600_000);
  const sockets: WebSocket[] = [];
  const rows: { phase: string; memory: Memory }[] = [];
  const measure = async (phase: string): Promise<void> => {
    await sleep(Number(args.settle) * 1000);
    rows.push({ phase, memory: memory(relay.pid!) });
    log(`${phase}: ${JSON.stringify(rows.at(-1)!.memory)}`);
  };
  try {
    await waitForRelay(url, 120_000);
    await measure('idle');
    for (let i = 0; i < connections; i += 200) {
      await Promise.all(
        Array.from(
          { length: Math.min(200, connections - i) },
          () =>
            new Promise<void>((resolve, reject) => {
              const ws = new WebSocket(url, { perMessageDeflate: false });
              ws.on('open', () => resolve());
              ws.on('error', reject);
              sockets.push(ws);
            }),
        ),
      );
    }
    await measure(`${connections} idle connections`);
    let eose = 0;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 60_000);
      sockets.forEach((ws, i) => {
        ws.on('message', (data: Buffer) => {
          if (data.subarray(0, 8).toString() === '["EOSE",' && ++eose === connections) {
            clearTimeout(timer);
            resolve();
          }
        });
        ws.send(JSON.stringify(['REQ', `m${i}`, ...filters[i]!.map((f) => ({ ...f, limit: 0 }))]));
      });
    });
    await measure(`${connections} connections with a subscription (${eose} EOSE)`);
    // Queries with results, spread over the connections, so SQLite's page cache and mmap fill as in use.
    const queries = Math.min(Number(args.queries), connections);
    let answered = 0;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 120_000);
      for (let i = 0; i < queries; i++) {
        const ws = sockets[i]!;
        ws.on('message', (data: Buffer) => {
          if (data.subarray(0, 10).toString() === '["EOSE","q' && ++answered === queries) {
            clearTimeout(timer);
            resolve();
          }
        });
        ws.send(
          JSON.stringify([
            'REQ',
            `q${i}`,
            ...filters[i]!.map((f) => ({ ...f, limit: 100 })),
            { kinds: [1], limit: 100, until: dataset.now - i * 3600 },
          ]),
        );
      }
    });
    await measure(`after ${answered} queries (limit 100 per filter)`);
  } finally {
    clearTimeout(watchdog);
    for (const ws of sockets) ws.terminate();
    relay.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
  const idle = rows[0]!.memory;
  const table = rows.map(({ phase, memory: m }) => ({
    phase,
    rssMb: +(m.rssKb / 1024).toFixed(1),
    anonMb: +(m.anonKb / 1024).toFixed(1),
    fileMb: +(m.fileKb / 1024).toFixed(1),
    kbPerConnection: phase === 'idle' ? null : +((m.rssKb - idle.rssKb) / connections).toFixed(1),
  }));
  if (args.json) process.stdout.write(`${JSON.stringify(table)}\n`);
  else {
    process.stdout.write('| phase | RSS MB | anon MB | file MB | KB per connection (RSS − idle) / N |\n|---|---:|---:|---:|---:|\n');
    for (const r of table) process.stdout.write(`| ${r.phase} | ${r.rssMb} | ${r.anonMb} | ${r.fileMb} | ${r.kbPerConnection ?? '–'} |\n`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(String(error));
    process.exit(1);
  },
);
