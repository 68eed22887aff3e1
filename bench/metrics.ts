/**
 * What metrics cost the relay's main thread per EVENT, in one run:
 * 1. the calls intake makes for every event (a start time, then the answer with its result, kind class
 *    and OK latency), with metrics off (NO_METRICS), on (CountingMetrics, read by prom-client only at
 *    scrape time), and — the design not taken — the same counts kept in prom-client's labelled children;
 * 2. the whole ingest path of one Relay in this process (no sockets: a client object that counts OKs, an
 *    in-memory store, a verifier that accepts every signature), off and on alternately: CPU per event;
 * 3. one scrape of a warm registry (what Prometheus costs per scrape interval, not per event).
 *
 *   npx tsx bench/metrics.ts [--events 1000000] [--runs 5] [--relay-events 20000] [--relay-runs 7]
 */
import { loadavg } from 'node:os';
import { pino } from 'pino';
import { Counter, Histogram, Registry } from 'prom-client';
import { generateUnsignedEvents } from './dataset.js';
import { defaultConfig } from '../src/config/load.js';
import type { Client } from '../src/relay/client.js';
import { CountingMetrics, LATENCY_BUCKETS, NO_METRICS, type EventResult, type RelayMetrics } from '../src/relay/metrics.js';
import { Relay } from '../src/relay/relay.js';
import { metricsRegistry } from '../src/server/metrics.js';
import { EventStore } from '../src/store/store.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const EVENTS = option('events', 1_000_000);
const RUNS = option('runs', 5);
const RELAY_EVENTS = option('relay-events', 20_000);
const RELAY_RUNS = option('relay-runs', 7);

const inputs = [{ kind: 1 }, { kind: 0 }, { kind: 30023 }, { kind: 20001 }, { kind: 7 }];
const results: EventResult[] = ['stored', 'stored', 'stored', 'ephemeral', 'duplicate'];

function perEvent(metrics: RelayMetrics): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < EVENTS; i++) {
    const started = metrics.clock();
    metrics.eventAnswered(results[i % 5]!, inputs[i % 5], started);
  }
  return Number(process.hrtime.bigint() - start) / EVENTS;
}

/** The same counts in prom-client children bound once (each call still hashes and checks its labels). */
function promClientChildren(): number {
  const registry = new Registry();
  const received = new Counter({ name: 'received', help: 'h', labelNames: ['site'], registers: [registry] }).labels('default');
  const answered = new Counter({ name: 'answered', help: 'h', labelNames: ['site', 'result', 'kind_class'], registers: [registry] });
  const children = [
    answered.labels('default', 'stored', 'regular'),
    answered.labels('default', 'stored', 'replaceable'),
    answered.labels('default', 'stored', 'addressable'),
    answered.labels('default', 'ephemeral', 'ephemeral'),
    answered.labels('default', 'duplicate', 'regular'),
  ];
  const ok = new Histogram({ name: 'ok', help: 'h', labelNames: ['site'], buckets: [...LATENCY_BUCKETS], registers: [registry] }).labels(
    'default',
  );
  const start = process.hrtime.bigint();
  for (let i = 0; i < EVENTS; i++) {
    const started = performance.now();
    received.inc();
    children[i % 5]!.inc();
    ok.observe((performance.now() - started) / 1000);
  }
  return Number(process.hrtime.bigint() - start) / EVENTS;
}

const frames = [...generateUnsignedEvents('commons-bench', RELAY_EVENTS, Math.floor(Date.now() / 1000) - 60)].map((event) =>
  JSON.stringify(['EVENT', event]),
);

/** CPU microseconds per EVENT through one Relay, from the frame to its OK. */
async function relayIngest(metrics: RelayMetrics): Promise<number> {
  const config = { ...defaultConfig(), storage: { path: ':memory:', synchronous: 'normal' as const, writer_thread: false } };
  const store = EventStore.open(':memory:', { synchronous: 'normal' });
  const log = pino({ level: 'silent' });
  const relay = new Relay(config, store, { verify: async () => true }, log, { metrics });
  let answers = 0;
  const client: Client = {
    id: 1,
    ip: '127.0.0.1',
    log,
    host: '',
    subscriptions: new Map(),
    challenge: '',
    authenticated: new Set(),
    closed: false,
    send: (frame) => void (typeof frame === 'string' && frame.startsWith('["OK"') && answers++),
    batch: (sends) => sends(),
  };
  relay.connect(client);
  const start = process.cpuUsage();
  for (const frame of frames) relay.handle(client, frame);
  while (answers < frames.length) await new Promise((resolve) => setImmediate(resolve));
  const used = process.cpuUsage(start);
  await relay.drain();
  relay.close();
  return (used.user + used.system) / frames.length;
}

async function scrapeMs(): Promise<number> {
  const metrics = new CountingMetrics();
  for (let i = 0; i < 1000; i++) metrics.eventAnswered(i % 3 === 0 ? 'duplicate' : 'stored', { kind: i * 37 }, performance.now());
  const site = {
    label: undefined,
    metrics,
    counters: { connections: 8, subscriptions: 20, eventsReceived: 1000, eventsStored: 600, startedAt: 0, byThread: () => [8] },
    databasePath: ':memory:',
  };
  const registry = metricsRegistry([site], {
    verifyQueueDepth: () => 0,
    reloads: { applied: 0, refused: 0 },
    connectionThreadRestarts: () => 0,
    server: 'bench',
    version: '0',
  });
  for (let i = 0; i < 50; i++) await registry.metrics();
  const start = process.cpuUsage();
  for (let i = 0; i < 500; i++) await registry.metrics();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / 500;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const runs = { off: [] as number[], on: [] as number[], promClient: [] as number[] };
for (let r = 0; r < RUNS; r++) {
  runs.off.push(perEvent(NO_METRICS));
  runs.on.push(perEvent(new CountingMetrics()));
  runs.promClient.push(promClientChildren());
}
const loadAverage = (): string => loadavg()[0]!.toFixed(1);
console.log(`1. ns per event, median of ${RUNS} runs of ${EVENTS} events (load average ${loadAverage()}):`);
console.log(`   metrics off (NO_METRICS)          ${median(runs.off).toFixed(1)}`);
console.log(`   metrics on (CountingMetrics)      ${median(runs.on).toFixed(1)}`);
console.log(`   prom-client children per event    ${median(runs.promClient).toFixed(1)}`);

const ingest = { off: [] as number[], on: [] as number[] };
await relayIngest(NO_METRICS); // warm-up
for (let r = 0; r < RELAY_RUNS; r++) {
  const order: ('off' | 'on')[] = r % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
  for (const mode of order) ingest[mode].push(await relayIngest(mode === 'on' ? new CountingMetrics() : NO_METRICS));
}
const off = median(ingest.off);
const on = median(ingest.on);
console.log(
  `2. CPU µs per EVENT through a Relay, median of ${RELAY_RUNS} alternating runs of ${RELAY_EVENTS} (load average ${loadAverage()}):`,
);
console.log(`   off ${off.toFixed(2)}   on ${on.toFixed(2)}   difference ${(((on - off) / off) * 100).toFixed(1)} %`);
console.log(`   runs off: ${ingest.off.map((v) => v.toFixed(1)).join(' ')}`);
console.log(`   runs on:  ${ingest.on.map((v) => v.toFixed(1)).join(' ')}`);
console.log(`3. one scrape of a warm registry: ${(await scrapeMs()).toFixed(2)} ms CPU`);
