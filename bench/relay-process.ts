/** Shared by bench/fanout.ts and bench/memory.ts: a relay process on this machine, read through /proc. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import WebSocket from 'ws';

/** Workplace rule: benchmarks only talk to a relay on this machine. */
export function assertLoopback(raw: string): void {
  const host = new URL(raw).hostname.toLowerCase();
  if (!(host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host))) {
    throw new Error(`refusing non-loopback relay host "${host}": use 127.x.x.x, localhost or [::1]`);
  }
}

/**
 * `--config` for a relay started by a bench: the given file, or one written into `dir` that turns off the
 * per-IP connection limits (on by default), since every bench client connects from 127.0.0.1.
 */
export function benchConfigArgs(dir: string, given: string | undefined): string[] {
  if (given !== undefined) return ['--config', given];
  const path = join(dir, 'bench.yaml');
  writeFileSync(path, 'rate_limits:\n  connections_per_ip: null\n  max_connections_per_ip: null\n');
  return ['--config', path];
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Retries a WebSocket connection for up to `ms` (the relay opens its database first). */
export async function waitForRelay(url: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const ws = new WebSocket(url);
      ws.on('open', () => {
        ws.close();
        resolve(true);
      });
      ws.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`relay at ${url} did not answer within ${ms} ms`);
}

/** The number after `field` (e.g. `VmRSS:`) in /proc/<pid>/<file>, in KB; NaN when the line is missing. */
function procKb(pid: number, file: string, field: string): number {
  const line = readFileSync(`/proc/${pid}/${file}`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(field));
  return Number(line?.split(/\s+/)[1] ?? NaN);
}

/** VmRSS of a process, in KB. */
export function rssKb(pid: number): number {
  return procKb(pid, 'status', 'VmRSS:');
}

/** VmHWM of a process: the peak of its resident set since it started, in KB. */
export function peakRssKb(pid: number): number {
  return procKb(pid, 'status', 'VmHWM:');
}

/**
 * PSS of a process now, in KB: its resident pages with each shared page divided between the mappings of it,
 * so a database file mapped by several SQLite connections (one per connection thread and query reader)
 * counts once, where VmRSS counts it once per mapping. NaN where /proc has no smaps_rollup.
 */
export function pssKb(pid: number): number {
  try {
    return procKb(pid, 'smaps_rollup', 'Pss:');
  } catch {
    return NaN;
  }
}

/**
 * CPU seconds of each live thread of a process, by thread id. Thread names are often all the same
 * (every Node worker is "node"), so the thread id, which grows in creation order, tells them apart.
 */
export function threadCpuSeconds(pid: number): Map<number, { name: string; seconds: number }> {
  const threads = new Map<number, { name: string; seconds: number }>();
  for (const entry of readdirSync(`/proc/${pid}/task`)) {
    const tid = Number(entry);
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      threads.set(tid, { name, seconds: ticks(`/proc/${pid}/task/${tid}/stat`) / 100 });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return threads;
}

/** User + system CPU seconds a process has used, all threads (clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  return ticks(`/proc/${pid}/stat`) / 100;
}

/** The same for the process's main thread alone (its event loop; worker threads excluded). */
export function mainThreadCpuSeconds(pid: number): number {
  return ticks(`/proc/${pid}/task/${pid}/stat`) / 100;
}

function ticks(statFile: string): number {
  const fields = readFileSync(statFile, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

export function percentile(sorted: ArrayLike<number>, q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** `--name`'s value as an integer in min..max, or an error naming the option. */
export function integerOption(value: unknown, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}`);
  return n;
}

export interface BenchRelay {
  readonly process: ChildProcess;
  readonly url: string;
  /** Its fresh folder: the database and the bench config (remove it when done). */
  readonly dir: string;
}

/**
 * `node [nodeArgs] <relay> serve` on a free loopback port with a fresh database in a new folder under
 * `parentDir` (`prefix` names it), warnings only on stderr; resolves once it answers.
 */
export async function startBenchRelay(options: {
  relay: string;
  nodeArgs: string;
  parentDir: string;
  prefix: string;
  config: string | undefined;
}): Promise<BenchRelay> {
  const dir = mkdtempSync(join(options.parentDir, options.prefix));
  const port = await freePort();
  const args = [...options.nodeArgs.split(' ').filter(Boolean), options.relay, 'serve', ...benchConfigArgs(dir, options.config)];
  const relay = spawn(
    'node',
    [...args, '--host', '127.0.0.1', '--port', String(port), '--db', join(dir, 'relay.sqlite'), '--log-level', 'warn'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const url = `ws://127.0.0.1:${port}`;
  await waitForRelay(url);
  return { process: relay, url, dir };
}
