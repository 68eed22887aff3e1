/**
 * What metrics cost the relay's main thread per EVENT, in one run: the calls intake makes for every
 * event (a start time, then the answer with its result, kind class and OK latency), with metrics off
 * (NO_METRICS), on (CountingMetrics, read by prom-client only at scrape time), and — the design not
 * taken — the same counts kept in prom-client's labelled children directly.
 *
 *   npx tsx bench/metrics.ts [--events 1000000] [--runs 5]
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { CountingMetrics, LATENCY_BUCKETS, NO_METRICS, type EventResult, type RelayMetrics } from '../src/relay/metrics.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const EVENTS = option('events', 1_000_000);
const RUNS = option('runs', 5);

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
  const ok = new Histogram({ name: 'ok', help: 'h', labelNames: ['site'], buckets: [...LATENCY_BUCKETS], registers: [registry] }).labels('default');
  const start = process.hrtime.bigint();
  for (let i = 0; i < EVENTS; i++) {
    const started = performance.now();
    received.inc();
    children[i % 5]!.inc();
    ok.observe((performance.now() - started) / 1000);
  }
  return Number(process.hrtime.bigint() - start) / EVENTS;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const runs = { off: [] as number[], on: [] as number[], promClient: [] as number[] };
for (let r = 0; r < RUNS; r++) {
  runs.off.push(perEvent(NO_METRICS));
  runs.on.push(perEvent(new CountingMetrics()));
  runs.promClient.push(promClientChildren());
}
console.log(`ns per event, median of ${RUNS} runs of ${EVENTS} events (load average ${(await import('node:os')).loadavg()[0]!.toFixed(1)}):`);
console.log(`  metrics off (NO_METRICS)          ${median(runs.off).toFixed(1)}`);
console.log(`  metrics on (CountingMetrics)      ${median(runs.on).toFixed(1)}`);
console.log(`  prom-client children per event    ${median(runs.promClient).toFixed(1)}`);
