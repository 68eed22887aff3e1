/**
 * Soak: the relay's memory over a long, steady ingest. Events are signed as they go (padded to at least
 * --event-bytes of JSON) and published at --rate per second up to --events, while --subscribers
 * connections in a child process hold live subscriptions (1–3 realistic filters each, bench/subscribers.ts).
 * The relay's VmRSS and VmHWM are read from /proc every --sample seconds. Printed: the samples, and the RSS
 * slope after warm-up — least squares, MB per 100,000 accepted events, over the second half of the run.
 *
 *   npx tsx bench/soak.ts [--events 500000] [--rate 500] [--subscribers 1000] [--event-bytes 2000]
 *                         [--sample 5] [--relay dist/main.js] [--node-args '…'] [--db-dir /tmp] [--json]
 *   npx tsx bench/soak.ts --url ws://127.0.0.1:7777 --pid <relay pid>    # a relay started elsewhere (strfry)
 *
 * Without --url the relay is started here (`npm run build` first) on a fresh database in --db-dir.
 * 500,000 events at 500/s take ~17 minutes. Loopback only; every loop is bounded by its count, and a
 * watchdog ends the run at twice its planned time plus 5 minutes. See bench/README.md (Soak).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import type { Filter } from 'nostr-tools/filter';
import WebSocket from 'ws';
import { computeId } from '../src/event/validate.js';
import { deriveAuthors, generateUnsignedEvents, sign, type BenchEvent } from './dataset.js';
import { assertLoopback, cpuSeconds, integerOption, startBenchRelay } from './relay-process.js';
import { openSubscribers, subscriberFilters } from './subscribers.js';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '500000' },
    rate: { type: 'string', default: '500' },
    subscribers: { type: 'string', default: '1000' },
    'event-bytes': { type: 'string', default: '2000' },
    sample: { type: 'string', default: '5' },
    publishers: { type: 'string', default: '4' },
    'max-unanswered': { type: 'string', default: '2000' },
    url: { type: 'string' },
    pid: { type: 'string' },
    config: { type: 'string' },
    relay: { type: 'string', default: 'dist/main.js' },
    'node-args': { type: 'string', default: '' },
    'db-dir': { type: 'string', default: tmpdir() },
    seed: { type: 'string', default: 'commons-soak' },
    json: { type: 'boolean', default: false },
    child: { type: 'boolean', default: false },
  },
});

const int = (name: keyof typeof args, min: number, max: number): number => integerOption(args[name], name, min, max);
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Child: the subscribers, counting what they receive.

type ToChild = { type: 'open'; url: string; filters: Filter[][] } | { type: 'finish' };
type FromChild = { type: 'ready'; opened: number } | { type: 'result'; delivered: number; disconnected: number };

function child(): void {
  let delivered = 0;
  let disconnected = 0;
  let sockets: WebSocket[] = [];
  const reply = (message: FromChild, then?: () => void): void => void process.send!(message, undefined, {}, then);
  process.on('message', async (m: ToChild) => {
    if (m.type === 'open') {
      const opened = await openSubscribers(
        m.url,
        m.filters,
        0,
        () => delivered++,
        () => disconnected++,
      );
      sockets = opened.sockets;
      reply({ type: 'ready', opened: m.filters.length - opened.failed });
    } else {
      for (const ws of sockets) ws.terminate();
      reply({ type: 'result', delivered, disconnected }, () => process.exit(0));
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Parent: relay, events, samples, slope.

const FILLER = 'the quick brown fox jumps over the lazy dog while the relay keeps its memory flat; ';

/** The dataset's events in order, content padded to `minBytes` of JSON (id recomputed), signed as they come. */
function* signedFrames(seed: string, count: number, now: number, minBytes: number): IterableIterator<string> {
  const keys = new Map(deriveAuthors(seed).map((author) => [author.pubkey, author.sk]));
  for (const event of generateUnsignedEvents(seed, count, now)) {
    const short = minBytes - JSON.stringify(event).length;
    if (short > 0) {
      event.content = `${event.content}\n${FILLER.repeat(Math.ceil(short / FILLER.length)).slice(0, short)}`;
      event.id = computeId(event);
    }
    sign(event, keys.get(event.pubkey)!);
    yield JSON.stringify(['EVENT', event]);
  }
}

interface Sample {
  seconds: number;
  published: number;
  accepted: number;
  rssMb: number;
  hwmMb: number;
  anonMb: number;
}

function memoryOf(pid: number): Pick<Sample, 'rssMb' | 'hwmMb' | 'anonMb'> {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (key: string): number => Math.round(Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN) / 102.4) / 10;
  return { rssMb: mb('VmRSS'), hwmMb: mb('VmHWM'), anonMb: mb('RssAnon') };
}

/** Least-squares slope of RSS over accepted events, in MB per 100,000 events. */
function slopePer100k(samples: Sample[]): number {
  const n = samples.length;
  const mx = samples.reduce((s, p) => s + p.accepted, 0) / n;
  const my = samples.reduce((s, p) => s + p.rssMb, 0) / n;
  const sxy = samples.reduce((s, p) => s + (p.accepted - mx) * (p.rssMb - my), 0);
  const sxx = samples.reduce((s, p) => s + (p.accepted - mx) ** 2, 0);
  return sxx === 0 ? NaN : (sxy / sxx) * 100_000;
}

async function parent(): Promise<void> {
  const total = int('events', 1, 1_000_000);
  const rate = int('rate', 1, 20_000);
  const subscribers = int('subscribers', 0, 20_000);
  const publishers = int('publishers', 1, 64);
  const maxUnanswered = int('max-unanswered', 1, 100_000);
  const sampleMs = int('sample', 1, 600) * 1000;
  const now = Math.floor(Date.now() / 1000) - 60;
  const plannedSeconds = total / rate;

  let relay: ChildProcess | undefined;
  let dbDir: string | undefined;
  let url = args.url;
  let pid = args.pid === undefined ? undefined : int('pid', 1, 2 ** 22);
  if (url === undefined) {
    const started = await startBenchRelay({
      relay: args.relay!,
      nodeArgs: args['node-args']!,
      parentDir: args['db-dir']!,
      prefix: 'commons-soak-',
      config: args.config,
    });
    ({ process: relay, url, dir: dbDir } = started);
    pid = relay.pid;
  }
  assertLoopback(url);
  if (pid === undefined) throw new Error('--pid is needed with --url: the relay process whose memory is read');
  const relayPid = pid;
  const subscriberProcess = subscribers > 0 ? fork(process.argv[1]!, ['--child'], { execArgv: process.execArgv }) : undefined;
  const cleanup = (): void => {
    subscriberProcess?.kill();
    relay?.kill('SIGTERM');
    if (dbDir) rmSync(dbDir, { recursive: true, force: true });
  };
  const watchdog = setTimeout(
    () => {
      log('watchdog: the run exceeded its time budget');
      cleanup();
      process.exit(1);
    },
    (2 * plannedSeconds + 300) * 1000,
  );

  try {
    const next = (): Promise<FromChild> => new Promise((resolve) => subscriberProcess!.once('message', (m: FromChild) => resolve(m)));
    if (subscriberProcess) {
      // Filter values drawn from the first events of the same stream (authors, mentions, hashtags, threads).
      const sampleEvents: BenchEvent[] = [...generateUnsignedEvents(args.seed!, Math.min(total, 20_000), now)];
      const ready = next();
      subscriberProcess.send({ type: 'open', url, filters: subscriberFilters(sampleEvents, subscribers, args.seed!) } satisfies ToChild);
      const opened = await ready;
      log(`subscribers: ${opened.type === 'ready' ? opened.opened : 0}/${subscribers} open`);
    }

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
    let published = 0;
    let answered = 0;
    let accepted = 0;
    for (const ws of sockets) {
      ws.on('message', (data: Buffer) => {
        if (data.subarray(0, 6).toString() !== '["OK",') return;
        answered++;
        if (data.indexOf(',true,', 70) > 0) accepted++;
      });
    }

    const samples: Sample[] = [];
    const start = performance.now();
    const cpu0 = cpuSeconds(relayPid);
    const takeSample = (): void => {
      let memory: ReturnType<typeof memoryOf>;
      try {
        memory = memoryOf(relayPid);
      } catch {
        log('the relay process is gone');
        cleanup();
        process.exit(1);
      }
      const sample = { seconds: Math.round((performance.now() - start) / 1000), published, accepted, ...memory };
      samples.push(sample);
      log(
        `${String(sample.seconds).padStart(5)} s  published ${published}  accepted ${accepted}  RSS ${sample.rssMb} MB  HWM ${sample.hwmMb} MB  anon ${sample.anonMb} MB`,
      );
    };
    takeSample();
    const sampler = setInterval(takeSample, sampleMs);
    const frames = signedFrames(args.seed!, total, now, int('event-bytes', 0, 60_000));
    let behind = 0;
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
        while (published < due) {
          if (published - answered >= maxUnanswered) return void behind++;
          sockets[published % publishers]!.send(frames.next().value as string);
          published++;
        }
        if (published >= total) {
          clearInterval(tick);
          resolve();
        }
      }, 5);
    });
    const publishSeconds = (performance.now() - start) / 1000;
    const deadline = performance.now() + 60_000;
    while (answered < published && performance.now() < deadline) await sleep(50);
    await sleep(sampleMs);
    clearInterval(sampler);
    takeSample();
    const seconds = (performance.now() - start) / 1000;
    const relayCpu = cpuSeconds(relayPid) - cpu0;
    for (const ws of sockets) ws.close();

    let delivered = 0;
    let disconnected = 0;
    if (subscriberProcess) {
      const result = next();
      subscriberProcess.send({ type: 'finish' } satisfies ToChild);
      const r = await result;
      if (r.type === 'result') ({ delivered, disconnected } = r);
    }

    const secondHalf = samples.filter((s) => s.accepted >= accepted / 2);
    const rss = secondHalf.map((s) => s.rssMb);
    const report = {
      events: total,
      published,
      accepted,
      answered,
      rate: Math.round(published / publishSeconds),
      ticksBehind: behind,
      subscribers,
      delivered,
      disconnected,
      relayCpuPercent: Math.round((relayCpu / seconds) * 100),
      seconds: Math.round(seconds),
      peakRssMb: Math.max(...samples.map((s) => s.hwmMb)),
      secondHalf: {
        samples: secondHalf.length,
        minRssMb: Math.min(...rss),
        maxRssMb: Math.max(...rss),
        slopeMbPer100k: +slopePer100k(secondHalf).toFixed(1),
      },
      samples,
    };
    if (args.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      const h = report.secondHalf;
      process.stdout.write(
        `published ${published} at ${report.rate}/s (${accepted} accepted, ${answered} answered; ${behind} ticks held back by --max-unanswered)  ` +
          `subscribers ${subscribers}: ${delivered} deliveries, ${disconnected} disconnected\n` +
          `relay CPU ${report.relayCpuPercent} % of one core over ${report.seconds} s   peak RSS (VmHWM) ${report.peakRssMb} MB\n` +
          `second half (${h.samples} samples): RSS ${h.minRssMb}–${h.maxRssMb} MB, slope ${h.slopeMbPer100k} MB per 100k events\n`,
      );
    }
  } finally {
    clearTimeout(watchdog);
    cleanup();
  }
}

if (args.child) child();
else
  parent().then(
    () => process.exit(0),
    (error: unknown) => {
      log(String(error));
      process.exit(1);
    },
  );
