/**
 * Cluster mode: cross-node delivery latency and the ingest cost of cluster mode against a single node, in
 * one run. Starts Debian's nats-server (-js, free loopback port, temporary store), three cluster nodes
 * A, B, C and one stand-alone node, each `node [--node-args] <relay> serve` on its own fresh database.
 *
 *   npm run build && npx tsx bench/cluster.ts [--events 1000] [--rate 100] [--ingest 4000] [--connections 4]
 *
 * 1. Latency: --events kind-1 notes published on A at --rate per second; a live subscriber on C
 *    (`limit: 0`) and one on A time EVENT sent → EVENT received (CLOCK_MONOTONIC, one process).
 * 2. Ingest: --ingest notes over --connections connections with --window EVENTs in flight each, first to
 *    the single node, then to A: events/s until the last OK, relay CPU per event from /proc/<pid>/stat
 *    (all threads), and for the cluster how long after the last OK C holds every event (NIP-45 COUNT).
 * Loopback only; every loop bounded in count and time. See bench/README.md (Cluster mode).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure';
import WebSocket from 'ws';
import { startNatsServer } from '../test/helpers/nats.js';
import { cpuSeconds, freePort, integerOption, percentile, waitForRelay } from './relay-process.js';

const { values: args } = parseArgs({
  options: {
    relay: { type: 'string', default: 'dist/main.js' },
    'node-args': { type: 'string', default: '' },
    'db-dir': { type: 'string', default: tmpdir() },
    events: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '100' },
    ingest: { type: 'string', default: '4000' },
    connections: { type: 'string', default: '4' },
    window: { type: 'string', default: '32' },
  },
});
const EVENTS = integerOption(args.events, 'events', 1, 100_000);
const RATE = integerOption(args.rate, 'rate', 1, 10_000);
const INGEST = integerOption(args.ingest, 'ingest', 1, 200_000);
const CONNECTIONS = integerOption(args.connections, 'connections', 1, 64);
const WINDOW = integerOption(args.window, 'window', 1, 1000);
/** Every wait of this bench ends by this limit. */
const LIMIT_MS = 120_000;
const log = (line: string): void => void process.stderr.write(`${line}\n`);

interface Node {
  name: string;
  url: string;
  process: ChildProcess;
}

const root = mkdtempSync(join(args['db-dir'], 'commons-bench-cluster-'));
const started: Node[] = [];

async function startNode(name: string, natsUrl: string | undefined): Promise<Node> {
  const dir = join(root, name);
  mkdirSync(dir);
  const port = await freePort();
  const yaml = [
    `relay: { host: 127.0.0.1, port: ${port} }`,
    `storage: { path: ${JSON.stringify(join(dir, 'relay.sqlite'))} }`,
    'logging: { level: warn }',
    'rate_limits: { connections_per_ip: null, max_connections_per_ip: null }',
    natsUrl === undefined ? '' : `cluster: { enabled: true, node: ${name}, servers: [${JSON.stringify(natsUrl)}] }`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'relay.yaml'), yaml);
  const nodeArgs = args['node-args'].split(' ').filter(Boolean);
  const child = spawn('node', [...nodeArgs, args.relay, 'serve', '--config', join(dir, 'relay.yaml')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const node = { name, url: `ws://127.0.0.1:${port}`, process: child };
  started.push(node);
  await waitForRelay(node.url, LIMIT_MS);
  return node;
}

/** SIGTERM, then SIGKILL if it has not exited within 20 s. */
async function stopNode(node: Node): Promise<void> {
  if (node.process.exitCode !== null || node.process.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => node.process.once('exit', () => resolve()));
  node.process.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, 20_000)))]);
  clearTimeout(timer);
  if (node.process.exitCode === null && node.process.signalCode === null) node.process.kill('SIGKILL');
}

/** An open WebSocket to `url`. */
async function open(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return ws;
}

const keys = Array.from({ length: 8 }, () => generateSecretKey());
function notes(count: number, label: string): { id: string; json: string }[] {
  const t = Math.floor(Date.now() / 1000);
  return Array.from({ length: count }, (_, i) => {
    const event = finalizeEvent({ kind: 1, created_at: t - (i % 600), tags: [], content: `${label} ${i}` }, keys[i % keys.length]!);
    return { id: event.id, json: JSON.stringify(['EVENT', event]) };
  });
}

/** Resolves when `condition` holds; throws after LIMIT_MS naming `what`. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + LIMIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${LIMIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A live subscription (limit 0) recording the arrival time of each event id (first arrival; repeats counted). */
async function subscribe(url: string): Promise<{ arrived: Map<string, number>; repeats: () => number; ws: WebSocket }> {
  const ws = await open(url);
  const arrived = new Map<string, number>();
  let repeats = 0;
  let eose = false;
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as [string, string, { id: string }];
    if (frame[0] === 'EOSE') eose = true;
    if (frame[0] !== 'EVENT') return;
    if (arrived.has(frame[2].id)) repeats++;
    else arrived.set(frame[2].id, performance.now());
  });
  ws.send(JSON.stringify(['REQ', 'live', { kinds: [1], limit: 0 }]));
  await until(() => eose, 'EOSE of the live subscription');
  return { arrived, repeats: () => repeats, ws };
}

async function latency(A: Node, C: Node): Promise<void> {
  const events = notes(EVENTS, 'latency');
  const [onC, onA, publisher] = [await subscribe(C.url), await subscribe(A.url), await open(A.url)];
  const sentAt = new Map<string, number>();
  const start = performance.now();
  for (let i = 0; i < events.length; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    sentAt.set(events[i]!.id, performance.now());
    publisher.send(events[i]!.json);
  }
  await until(() => onC.arrived.size >= events.length && onA.arrived.size >= events.length, 'every event on C and A').catch((e) =>
    log(String(e)),
  );
  for (const [name, sub] of [
    ['A (local)', onA],
    ['C (cross-node)', onC],
  ] as const) {
    const times = [...sentAt].filter(([id]) => sub.arrived.has(id)).map(([id, at]) => sub.arrived.get(id)! - at);
    times.sort((x, y) => x - y);
    const f = (q: number): string => percentile(times, q)?.toFixed(1) ?? '-';
    log(
      `latency to ${name}: ${times.length}/${events.length} delivered, ${sub.repeats()} repeats, p50 ${f(0.5)} ms, p99 ${f(0.99)} ms, max ${f(1)} ms`,
    );
  }
  for (const ws of [onC.ws, onA.ws, publisher]) ws.close();
}

/** Publishes `events` over CONNECTIONS connections, WINDOW in flight each; resolves with the seconds to the last OK. */
async function publishAll(url: string, events: { id: string; json: string }[]): Promise<{ seconds: number; refused: number }> {
  let next = 0;
  let answered = 0;
  let refused = 0;
  const sockets = await Promise.all(Array.from({ length: CONNECTIONS }, () => open(url)));
  const start = performance.now();
  for (const ws of sockets) {
    const sendOne = (): void => {
      if (next < events.length) ws.send(events[next++]!.json);
    };
    ws.on('message', (data) => {
      const text = data.toString();
      if (!text.startsWith('["OK"')) return;
      answered++;
      if (!text.includes('",true,')) refused++;
      sendOne();
    });
    for (let i = 0; i < WINDOW; i++) sendOne();
  }
  await until(() => answered >= events.length, `OKs for ${events.length} events`);
  const seconds = (performance.now() - start) / 1000;
  for (const ws of sockets) ws.close();
  return { seconds, refused };
}

async function count(url: string): Promise<number> {
  const ws = await open(url);
  const answer = new Promise<number>((resolve) =>
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as [string, string, { count: number }];
      if (frame[0] === 'COUNT') resolve(frame[2].count);
    }),
  );
  ws.send(JSON.stringify(['COUNT', 'n', { kinds: [1] }]));
  const n = await answer;
  ws.close();
  return n;
}

async function ingest(label: string, target: Node, others: Node[]): Promise<void> {
  const events = notes(INGEST, `ingest ${label}`);
  const before = await count(target.url);
  const cpu0 = [target, ...others].map((node) => cpuSeconds(node.process.pid!));
  const { seconds, refused } = await publishAll(target.url, events);
  const cpu1 = [target, ...others].map((node) => cpuSeconds(node.process.pid!));
  let line = `ingest into ${label}: ${INGEST} events in ${seconds.toFixed(2)} s = ${Math.round(INGEST / seconds)}/s (${refused} refused); relay CPU ${(((cpu1[0]! - cpu0[0]!) / INGEST) * 1e6).toFixed(0)} µs/event`;
  const last = others.at(-1);
  if (last !== undefined) {
    const okAt = performance.now();
    let held = 0;
    for (let i = 0; i < 10_000 && held < before + INGEST - refused && performance.now() - okAt < LIMIT_MS; i++) {
      held = await count(last.url);
      if (held < before + INGEST - refused) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const lag = performance.now() - okAt;
    const cpu2 = [target, ...others].map((node) => cpuSeconds(node.process.pid!));
    const applied = others.map((node, i) => `${node.name} ${(((cpu2[i + 1]! - cpu0[i + 1]!) / INGEST) * 1e6).toFixed(0)}`).join(', ');
    line += `; ${last.name} held all ${lag.toFixed(0)} ms after the last OK; CPU applying on ${applied} µs/event`;
  }
  log(line);
}

async function main(): Promise<void> {
  const nats = await startNatsServer();
  try {
    log(`nats ${nats.url}; ${args.relay}; events ${EVENTS} at ${RATE}/s; ingest ${INGEST} over ${CONNECTIONS}×${WINDOW}`);
    const single = await startNode('single', undefined);
    const [A, B, C] = [await startNode('A', nats.url), await startNode('B', nats.url), await startNode('C', nats.url)];
    // The cluster is up once an event published on A is stored on C.
    const before = await count(C!.url);
    await publishAll(A!.url, notes(1, 'warm-up'));
    for (let i = 0; i < 2000 && (await count(C!.url)) <= before; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    await latency(A!, C!);
    await ingest('a single node', single, []);
    await ingest('cluster node A', A!, [B!, C!]);
  } finally {
    // The nodes first (each publishes what is left and drains its NATS connection), then NATS.
    await Promise.all(started.map(stopNode));
    await nats.dispose();
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error) => {
  log(String(error?.stack ?? error));
  for (const node of started) node.process.kill('SIGKILL');
  process.exitCode = 1;
});
