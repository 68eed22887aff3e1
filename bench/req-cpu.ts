/**
 * Relay CPU per REQ, two or more builds side by side. Each `--relay NAME=path/to/dist/main.js` serves a
 * fresh copy of a query database (bench/query-db.ts), builds taking turns run after run (A B A B …); per
 * run, a warm-up load (JIT, page cache, reader thread started) and then the measured one, both
 * `bench/load.ts --query-db … --phases query --relay-pid …`. Prints each run, then per build the medians
 * and their ratio to the first build: relay CPU µs per REQ and per event returned, REQ/s, REQ→EOSE
 * p50 / p99 overall and per shape. On a shared machine read the ratios, not the absolute figures.
 *
 *   npm run build
 *   git worktree add --detach /tmp/base main && cp -a node_modules /tmp/base/ && (cd /tmp/base && npm run build)
 *   npx tsx bench/query-db.ts 50000
 *   npx tsx bench/req-cpu.ts --db bench/.cache/query-v6-50000.sqlite --relay base=/tmp/base/dist/main.js --relay new=dist/main.js
 *
 * `--config NAME=file.yaml` runs build NAME with that config instead of the default one (per-IP limits off):
 * one dist/ under two names and two configs compares settings, e.g. query.reader_min_limit.
 *
 * Options: --runs 3, --warm 2000, --reqs 8000, --connections 8, --inflight 16, --seconds 30,
 * --node-args '--cpu-prof --cpu-prof-dir=/tmp/prof' (given to every relay), --json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchConfigArgs, freePort, waitForRelay } from './relay-process.js';

const { values: args } = parseArgs({
  options: {
    db: { type: 'string' },
    relay: { type: 'string', multiple: true },
    config: { type: 'string', multiple: true },
    runs: { type: 'string', default: '3' },
    warm: { type: 'string', default: '2000' },
    reqs: { type: 'string', default: '8000' },
    connections: { type: 'string', default: '8' },
    inflight: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '30' },
    'node-args': { type: 'string', default: '' },
    json: { type: 'boolean', default: false },
  },
});
if (!args.db || !args.relay || args.relay.length === 0) {
  process.stderr.write('usage: npx tsx bench/req-cpu.ts --db <query db> --relay NAME=dist/main.js [--relay …] [--runs 3]\n');
  process.exit(2);
}
const builds = args.relay.map((spec) => {
  const at = spec.indexOf('=');
  if (at < 1) throw new Error(`--relay ${spec}: expected NAME=path/to/main.js`);
  return { name: spec.slice(0, at), main: spec.slice(at + 1) };
});
const configs = new Map(
  (args.config ?? []).map((spec) => {
    const at = spec.indexOf('=');
    if (at < 1) throw new Error(`--config ${spec}: expected NAME=file.yaml`);
    return [spec.slice(0, at), spec.slice(at + 1)] as const;
  }),
);
const LOAD = fileURLToPath(new URL('./load.ts', import.meta.url));
const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** The fields of bench/load.ts --json this bench reads. */
interface LoadRow {
  shape?: string;
  ratePerSec: number;
  eventsPerReq: number | null;
  latencyMs: { p50: number | null; p99: number | null };
  relayMicrosPerAnswer: number | null;
  relayCpuPercent: number | null;
  relayMainCpuPercent: number | null;
}
interface Run {
  build: string;
  run: number;
  rows: LoadRow[];
}

/** Runs bench/load.ts against the relay; its JSON rows (overall first, then one per shape). */
function load(url: string, pid: number, reqs: string): Promise<LoadRow[]> {
  const loadArgs = ['--import', 'tsx', LOAD, '--url', url, '--relay-pid', String(pid), '--query-db', args.db!, '--phases', 'query'];
  loadArgs.push('--json', '--reqs', reqs, '--connections', args.connections!, '--inflight', args.inflight!, '--seconds', args.seconds!);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, loadArgs, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve((JSON.parse(out) as { rows: LoadRow[] }).rows) : reject(new Error(`load.ts exited ${code}`)),
    );
  });
}

function stop(relay: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (relay.exitCode !== null) return resolve();
    const killer = setTimeout(() => relay.kill('SIGKILL'), 15_000);
    relay.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    relay.kill('SIGINT');
  });
}

async function measure(build: { name: string; main: string }, run: number): Promise<Run> {
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'commons-req-cpu-'));
  const db = join(dir, 'relay.sqlite');
  copyFileSync(args.db!, db);
  const port = await freePort();
  const nodeArgs = args['node-args']!.split(' ').filter(Boolean);
  const relay = spawn(
    'node',
    [
      ...nodeArgs,
      build.main,
      'serve',
      ...benchConfigArgs(dir, configs.get(build.name)),
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--db',
      db,
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  try {
    const url = `ws://127.0.0.1:${port}`;
    await waitForRelay(url, 60_000);
    await load(url, relay.pid!, args.warm!);
    const rows = await load(url, relay.pid!, args.reqs!);
    const all = rows[0]!;
    log(`${build.name} run ${run}: ${all.relayMicrosPerAnswer} µs/REQ, ${all.ratePerSec} REQ/s, p50 ${all.latencyMs.p50} ms`);
    return { build: build.name, run, rows };
  } finally {
    await stop(relay);
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const round = (value: number, digits = 0): string => value.toFixed(digits);

async function main(): Promise<void> {
  const runs: Run[] = [];
  const watchdog = setTimeout(() => {
    log('watchdog: over 60 minutes');
    process.exit(1);
  }, 3_600_000);
  for (let run = 1; run <= Number(args.runs); run++) for (const build of builds) runs.push(await measure(build, run));
  clearTimeout(watchdog);
  if (args.json) {
    process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
    return;
  }
  const summary = builds.map(({ name }) => {
    const mine = runs.filter((r) => r.build === name).map((r) => r.rows[0]!);
    const micros = mine.map((r) => r.relayMicrosPerAnswer ?? NaN);
    return {
      name,
      micros,
      perReq: median(micros),
      perEvent: median(mine.map((r) => (r.relayMicrosPerAnswer ?? NaN) / (r.eventsPerReq ?? NaN))),
      rate: median(mine.map((r) => r.ratePerSec)),
      p50: median(mine.map((r) => r.latencyMs.p50 ?? NaN)),
      p99: median(mine.map((r) => r.latencyMs.p99 ?? NaN)),
    };
  });
  const first = summary[0]!;
  console.log('build  relay µs/REQ (runs)          median  ratio  µs/event  REQ/s  ratio  p50 ms  p99 ms');
  for (const s of summary) {
    console.log(
      `${s.name.padEnd(6)} ${s.micros
        .map((m) => round(m))
        .join(' / ')
        .padEnd(28)} ${round(s.perReq).padStart(6)} ${round(s.perReq / first.perReq, 2).padStart(6)} ` +
        `${round(s.perEvent, 2).padStart(9)} ${round(s.rate).padStart(6)} ${round(s.rate / first.rate, 2).padStart(6)} ${round(s.p50, 1).padStart(7)} ${round(s.p99, 1).padStart(7)}`,
    );
  }
  const shapes = runs[0]!.rows.slice(1).map((row) => row.shape!);
  console.log(`\nper shape, REQ→EOSE p50 / p99 ms (medians over runs)`);
  for (const { name } of builds) {
    const cells = shapes.map((shape) => {
      const rows = runs.filter((r) => r.build === name).map((r) => r.rows.find((row) => row.shape === shape)!);
      return `${shape} ${round(median(rows.map((r) => r.latencyMs.p50 ?? NaN)), 1)}/${round(median(rows.map((r) => r.latencyMs.p99 ?? NaN)), 1)}`;
    });
    console.log(`${name.padEnd(6)} ${cells.join('  ')}`);
  }
}

await main();
