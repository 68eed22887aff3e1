/**
 * Live fan-out benchmark: N subscriber connections with 1–3 realistic filters each, events published
 * at a fixed rate, every delivery checked against an oracle (nostr-tools matchFilter).
 *
 *   npx tsx bench/fanout.ts [--url ws://127.0.0.1:7777] [--subscribers 5000] [--rate 1000] [--seconds 15]
 *
 * Without --url the relay is started here (`node dist/main.js serve`, run `npm run build` first) on a
 * fresh temporary database, so its CPU and RSS can be read from /proc; for a relay started elsewhere, give
 * --url and --relay-pid. Subscribers are spread over --procs child processes so the client uses both
 * cores. Loopback only; every loop bounded. See bench/README.md (Fan-out).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { matchFilter, type Filter } from 'nostr-tools/filter';
import WebSocket from 'ws';
import { loadDataset, type BenchEvent } from './dataset.js';
import { openSubscribers, subscriberFilters } from './subscribers.js';
import { assertLoopback, cpuSeconds, integerOption, peakRssKb, percentile, rssKb, startBenchRelay } from './relay-process.js';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    'relay-pid': { type: 'string' },
    config: { type: 'string' },
    relay: { type: 'string', default: 'dist/main.js' },
    'node-args': { type: 'string', default: '' },
    'db-dir': { type: 'string', default: tmpdir() },
    subscribers: { type: 'string', default: '5000' },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '15' },
    events: { type: 'string', default: '20000' },
    publishers: { type: 'string', default: '4' },
    procs: { type: 'string', default: '2' },
    settle: { type: 'string', default: '5' },
    seed: { type: 'string', default: 'commons-bench' },
    now: { type: 'string' },
    json: { type: 'boolean', default: false },
    child: { type: 'boolean', default: false },
  },
});

const int = (name: keyof typeof args, min: number, max: number): number => integerOption(args[name], name, min, max);
const nowMs = ((): (() => number) => {
  // CLOCK_MONOTONIC is shared by every process on the machine, so send and receive times compare.
  const offset = Number(process.hrtime.bigint()) / 1e6 - performance.now();
  return () => performance.now() + offset;
})();
const log = (line: string): void => void process.stderr.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------
// Child: one process holding a share of the subscribers.

type ToChild =
  | { type: 'open'; url: string; first: number; filters: Filter[][]; seed: string; events: number; now: number }
  | { type: 'finish'; sent: [string, number][] };
type FromChild =
  | { type: 'ready'; opened: number; failed: number }
  | {
      type: 'result';
      delivered: number;
      expected: number;
      missed: number;
      unexpected: number;
      duplicates: number;
      disconnected: number;
      latencies: Float64Array;
      cpuSeconds: number;
    };

async function child(): Promise<void> {
  const send = (m: FromChild, then?: () => void): void => void process.send!(m, undefined, {}, then);
  let filters: Filter[][] = [];
  let events: BenchEvent[] = [];
  const receivedSub: number[] = [];
  const receivedId: string[] = [];
  const receivedAt: number[] = [];
  let disconnected = 0;
  let cpu0 = process.cpuUsage();
  const sockets: WebSocket[] = [];
  process.on('message', async (m: ToChild) => {
    if (m.type === 'open') {
      filters = m.filters;
      events = loadDataset({ seed: m.seed, count: m.events, now: m.now, exactNow: true, log: () => {} }).events;
      const opened = await openSubscribers(
        m.url,
        filters,
        m.first,
        (i, id) => {
          receivedSub.push(i);
          receivedId.push(id);
          receivedAt.push(nowMs());
        },
        () => disconnected++,
      );
      sockets.push(...opened.sockets);
      const failed = opened.failed;
      cpu0 = process.cpuUsage();
      send({ type: 'ready', opened: filters.length - failed, failed });
    } else {
      const cpu = process.cpuUsage(cpu0);
      const sentAt = new Map(m.sent);
      const published = events.filter((e) => sentAt.has(e.id));
      const got = new Set<string>();
      let delivered = 0;
      let duplicates = 0;
      let unexpected = 0;
      const latencies: number[] = [];
      for (let k = 0; k < receivedId.length; k++) {
        const key = `${receivedSub[k]}:${receivedId[k]}`;
        if (got.has(key)) duplicates++;
        got.add(key);
        const t0 = sentAt.get(receivedId[k]!);
        if (t0 === undefined) unexpected++;
        else latencies.push(receivedAt[k]! - t0);
      }
      let expected = 0;
      let missed = 0;
      for (let i = 0; i < filters.length; i++) {
        for (const event of published) {
          if (!filters[i]!.some((f) => matchFilter(f, event as never))) continue;
          expected++;
          if (got.has(`${i}:${event.id}`)) delivered++;
          else missed++;
        }
      }
      for (const ws of sockets) ws.terminate();
      const result: FromChild = {
        type: 'result',
        delivered,
        expected,
        missed,
        unexpected,
        duplicates,
        disconnected,
        latencies: Float64Array.from(latencies),
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
      };
      send(result, () => process.exit(0));
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Parent: relay, subscriber processes, publishers, report.

async function publish(
  url: string,
  events: BenchEvent[],
  rate: number,
  publishers: number,
): Promise<{
  sent: [string, number][];
  sendSeconds: number;
  accepted: Set<string>;
  rejected: number;
  okLatencies: number[];
  cpuSeconds: number;
}> {
  const sockets = await Promise.all(
    Array.from(
      { length: publishers },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(url, { perMessageDeflate: false });
          ws.on('open', () => resolve(ws));
          ws.on('error', reject);
        }),
    ),
  );
  const sent: [string, number][] = [];
  const sentAt = new Map<string, number>();
  const okLatencies: number[] = [];
  const accepted = new Set<string>();
  let answered = 0;
  let rejected = 0;
  for (const ws of sockets) {
    ws.on('message', (data: Buffer) => {
      const m = JSON.parse(data.toString()) as unknown[];
      if (m[0] !== 'OK') return;
      answered++;
      okLatencies.push(nowMs() - (sentAt.get(m[1] as string) ?? NaN));
      if (m[2] === true) accepted.add(m[1] as string);
      else rejected++;
    });
  }
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(events.length, Math.floor(((performance.now() - start) / 1000) * rate));
      while (sent.length < due) {
        const event = events[sent.length]!;
        const at = nowMs();
        sent.push([event.id, at]);
        sentAt.set(event.id, at);
        sockets[sent.length % publishers]!.send(`["EVENT",${JSON.stringify(event)}]`);
      }
      if (sent.length >= events.length) {
        clearInterval(tick);
        resolve();
      }
    }, 2);
  });
  const sendSeconds = (performance.now() - start) / 1000;
  const deadline = performance.now() + 30_000;
  while (answered < sent.length && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const cpu = process.cpuUsage(cpu0);
  for (const ws of sockets) ws.close();
  return {
    sent,
    sendSeconds,
    accepted,
    rejected,
    okLatencies: okLatencies.sort((a, b) => a - b),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

async function parent(): Promise<void> {
  const subscribers = int('subscribers', 0, 100_000);
  const rate = int('rate', 1, 100_000);
  const seconds = int('seconds', 1, 600);
  const procs = int('procs', 1, 16);
  const dataset = loadDataset({
    seed: args.seed!,
    count: int('events', 1, 1_000_000),
    now: args.now ? Number(args.now) : Math.floor(Date.now() / 1000) - 60,
    exactNow: args.now !== undefined,
  });
  const toPublish = dataset.events.slice(0, Math.min(dataset.events.length, rate * seconds));

  let relay: ChildProcess | undefined;
  let dbDir: string | undefined;
  let url = args.url;
  if (url === undefined) {
    const started = await startBenchRelay({
      relay: args.relay!,
      nodeArgs: args['node-args']!,
      parentDir: args['db-dir']!,
      prefix: 'commons-fanout-',
      config: args.config,
    });
    ({ process: relay, url, dir: dbDir } = started);
  }
  assertLoopback(url);
  // A relay started elsewhere (--url) is measured through its pid when given.
  const relayPid = relay?.pid ?? (args['relay-pid'] === undefined ? undefined : int('relay-pid', 1, 2 ** 31 - 1));
  const cleanup = (): void => {
    relay?.kill('SIGTERM');
    if (dbDir) rmSync(dbDir, { recursive: true, force: true });
  };
  const watchdog = setTimeout(
    () => {
      log('watchdog: run exceeded its time budget');
      cleanup();
      process.exit(1);
    },
    (seconds + 300) * 1000,
  );

  try {
    const filters = subscriberFilters(dataset.events, subscribers, dataset.seed);
    const children = Array.from({ length: procs }, () =>
      fork(process.argv[1]!, ['--child'], { execArgv: process.execArgv, serialization: 'advanced' }),
    );
    const next = (c: ChildProcess): Promise<FromChild> => new Promise((resolve) => c.once('message', (m: FromChild) => resolve(m)));
    const per = Math.ceil(subscribers / procs);
    const t0 = performance.now();
    const ready = await Promise.all(
      children.map((c, k) => {
        const reply = next(c);
        c.send({
          type: 'open',
          url,
          first: k * per,
          filters: filters.slice(k * per, (k + 1) * per),
          seed: dataset.seed,
          events: dataset.count,
          now: dataset.now,
        } satisfies ToChild);
        return reply;
      }),
    );
    const opened = ready.reduce((s, r) => s + (r.type === 'ready' ? r.opened : 0), 0);
    log(
      `subscribers: ${opened}/${subscribers} open in ${((performance.now() - t0) / 1000).toFixed(1)} s; relay RSS ${relayPid ? rssKb(relayPid) : '?'} KB`,
    );

    const relayCpu0 = relayPid ? cpuSeconds(relayPid) : 0;
    const w0 = performance.now();
    const pub = await publish(url, toPublish, rate, int('publishers', 1, 64));
    const publishSeconds = (performance.now() - w0) / 1000;
    await new Promise((r) => setTimeout(r, int('settle', 0, 60) * 1000));
    const wall = (performance.now() - w0) / 1000;
    const relayCpu = relayPid ? cpuSeconds(relayPid) - relayCpu0 : NaN;
    const relayRss = relayPid ? rssKb(relayPid) : NaN;
    const relayPeakRss = relayPid ? peakRssKb(relayPid) : NaN;
    log(
      `load average: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} (${cpus().length} cores)`,
    );
    const accepted = pub.sent.filter(([id]) => pub.accepted.has(id));
    const results = await Promise.all(
      children.map((c) => {
        const reply = next(c);
        c.send({ type: 'finish', sent: accepted } satisfies ToChild);
        return reply;
      }),
    );
    const sum = (k: 'delivered' | 'expected' | 'missed' | 'unexpected' | 'duplicates' | 'disconnected' | 'cpuSeconds'): number =>
      results.reduce((s, r) => s + (r.type === 'result' ? r[k] : 0), 0);
    const latencies = Float64Array.from(results.flatMap((r) => (r.type === 'result' ? [...r.latencies] : []))).sort();
    const clientCpu = sum('cpuSeconds') + pub.cpuSeconds;
    const report = {
      subscribers: opened,
      published: pub.sent.length,
      accepted: accepted.length,
      rejected: pub.rejected,
      rate: Math.round(pub.sent.length / pub.sendSeconds),
      expected: sum('expected'),
      delivered: sum('delivered'),
      missed: sum('missed'),
      unexpected: sum('unexpected'),
      duplicates: sum('duplicates'),
      disconnected: sum('disconnected'),
      deliveriesPerSecond: Math.round(sum('delivered') / publishSeconds),
      okLatencyMs: { p50: percentile(pub.okLatencies, 0.5), p99: percentile(pub.okLatencies, 0.99) },
      latencyMs: {
        p50: percentile(latencies, 0.5),
        p90: percentile(latencies, 0.9),
        p99: percentile(latencies, 0.99),
        max: percentile(latencies, 1),
      },
      relayCpuPercent: Math.round((relayCpu / wall) * 100),
      // Load-independent cost: the relay's CPU time (all threads) per delivered frame, ingest included.
      relayCpuMicrosPerDelivery: +((relayCpu * 1e6) / Math.max(1, sum('delivered') + sum('unexpected'))).toFixed(1),
      clientCpuPercent: Math.round((clientCpu / wall) * 100),
      relayRssMb: Math.round(relayRss / 1024),
      relayPeakRssMb: Math.round(relayPeakRss / 1024),
    };
    if (args.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      const l = report.latencyMs;
      process.stdout.write(
        `subscribers ${report.subscribers}  published ${report.published} at ${report.rate}/s (${report.accepted} OK true before the deadline, ${report.rejected} OK false)\n` +
          `deliveries ${report.delivered}/${report.expected} expected (${report.deliveriesPerSecond}/s)  missed ${report.missed}  delivered without an OK in time ${report.unexpected}  duplicates ${report.duplicates}  disconnected ${report.disconnected}\n` +
          `publish→receive ms  p50 ${l.p50?.toFixed(1)}  p90 ${l.p90?.toFixed(1)}  p99 ${l.p99?.toFixed(1)}  max ${l.max?.toFixed(1)}   (EVENT→OK p50 ${report.okLatencyMs.p50?.toFixed(1)} p99 ${report.okLatencyMs.p99?.toFixed(1)})\n` +
          `cpu (% of one core over ${wall.toFixed(1)} s)  relay ${report.relayCpuPercent}  client ${report.clientCpuPercent}   relay RSS ${report.relayRssMb} MB (peak ${report.relayPeakRssMb})   relay CPU per delivery ${report.relayCpuMicrosPerDelivery} µs\n`,
      );
    }
  } finally {
    clearTimeout(watchdog);
    cleanup();
  }
}

if (args.child) void child();
else
  parent().then(
    () => process.exit(0),
    (error: unknown) => {
      log(String(error));
      process.exit(1);
    },
  );
