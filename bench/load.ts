/**
 * End-to-end load benchmark for any NIP-01 relay on this machine.
 *
 *   npx tsx bench/load.ts --url ws://127.0.0.1:7777 [--events 20000] [--connections 8]
 *                         [--inflight 32] [--reqs 5000] [--seconds 60] [--json]
 *
 * Phases (each one row of the table): ingest, duplicates, query (+ one row per query shape).
 * Only loopback relays are accepted. Every loop is bounded by a count and by --seconds per phase;
 * a request with no answer after --timeout ms counts as failed. See bench/README.md.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { generateUnsignedEvents, loadDataset, Rng, MAX_EVENTS, type BenchEvent, type Dataset } from './dataset.js';
import { readQueryDb } from './query-db.js';
import { cpuSeconds, mainThreadCpuSeconds, peakRssKb, pssKb, threadCpuSeconds } from './relay-process.js';

// ---------------------------------------------------------------------------------------------
// Options

const USAGE = `usage: npx tsx bench/load.ts --url ws://127.0.0.1:7777 [options]

  --url URL           relay WebSocket URL; must be loopback (127.x.x.x, localhost, ::1)
  --events N          dataset size and number of events to ingest (default 20000)
  --connections C     concurrent WebSocket connections (default 8)
  --inflight K        requests in flight per connection (default 32)
  --reqs N            REQs to send in the query phase (default 5000)
  --duplicates N      already-sent events to re-send (default min(2000, events))
  --seconds S         time limit per phase, in seconds (default 60)
  --timeout MS        a request with no answer after MS counts as failed (default 10000)
  --phases LIST       comma-separated subset of ingest,duplicates,query (default all)
  --seed S            dataset seed (default "commons-bench")
  --now T             dataset "now" in unix seconds (default: current time minus 60 s)
  --no-cache          do not read or write bench/.cache/
  --query-db PATH     the relay serves this database built by bench/query-db.ts: queries are drawn
                      from its (unsigned) events; only the query phase runs
  --relay-pid PID     the relay's process id (same machine): its CPU per phase, from /proc: all
                      threads and the main thread alone (% of a core), and µs per answered request
  --json              print machine-readable JSON instead of the table
  --help              this text
`;

interface Options {
  url: string;
  events: number;
  connections: number;
  inflight: number;
  reqs: number;
  duplicates: number;
  seconds: number;
  timeoutMs: number;
  phases: Phase[];
  seed: string;
  now: number;
  nowFixed: boolean;
  noCache: boolean;
  json: boolean;
  queryDb: string | undefined;
  relayPid: number | undefined;
}

const PHASES = ['ingest', 'duplicates', 'query'] as const;
type Phase = (typeof PHASES)[number];

class UsageError extends Error {}

function intOption(raw: string | undefined, name: string, def: number, min: number, max: number): number {
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer in ${min}..${max} (got "${raw}")`);
  return n;
}

/** Workplace rule: the benchmark only ever talks to a relay on this machine. */
export function assertLoopbackUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url is not a URL: "${raw}"`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new UsageError(`--url must be ws:// (got ${url.protocol}//)`);
  const host = url.hostname.toLowerCase();
  const loopback = host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  if (!loopback) throw new UsageError(`refusing non-loopback relay host "${url.hostname}": use 127.x.x.x, localhost or [::1]`);
  return url;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      url: { type: 'string' },
      events: { type: 'string' },
      connections: { type: 'string' },
      inflight: { type: 'string' },
      reqs: { type: 'string' },
      duplicates: { type: 'string' },
      seconds: { type: 'string' },
      timeout: { type: 'string' },
      phases: { type: 'string' },
      seed: { type: 'string' },
      now: { type: 'string' },
      'no-cache': { type: 'boolean' },
      'query-db': { type: 'string' },
      'relay-pid': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return undefined;
  }
  if (values.url === undefined) throw new UsageError('--url is required');
  assertLoopbackUrl(values.url);
  const url = values.url;
  const events = intOption(values.events, 'events', 20_000, 1, MAX_EVENTS);
  const phases = (values.phases ?? PHASES.join(','))
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  if (values['query-db'] !== undefined && phases.some((p) => p !== 'query')) {
    throw new UsageError('--query-db runs the query phase only: add --phases query');
  }
  for (const p of phases) {
    if (!(PHASES as readonly string[]).includes(p)) throw new UsageError(`unknown phase "${p}" (expected ${PHASES.join(', ')})`);
  }
  const realNow = Math.floor(Date.now() / 1000) - 60;
  const now = intOption(values.now, 'now', realNow, 1, realNow + 60);
  return {
    url,
    events,
    connections: intOption(values.connections, 'connections', 8, 1, 256),
    inflight: intOption(values.inflight, 'inflight', 32, 1, 1024),
    reqs: intOption(values.reqs, 'reqs', 5000, 0, 1_000_000),
    duplicates: intOption(values.duplicates, 'duplicates', Math.min(2000, events), 0, events),
    seconds: intOption(values.seconds, 'seconds', 60, 1, 3600),
    timeoutMs: intOption(values.timeout, 'timeout', 10_000, 100, 120_000),
    phases: PHASES.filter((p) => phases.includes(p)),
    seed: values.seed ?? 'commons-bench',
    now,
    nowFixed: values.now !== undefined,
    noCache: values['no-cache'] ?? false,
    json: values.json ?? false,
    queryDb: values['query-db'],
    relayPid: values['relay-pid'] === undefined ? undefined : intOption(values['relay-pid'], 'relay-pid', 0, 1, 2 ** 31 - 1),
  };
}

// ---------------------------------------------------------------------------------------------
// Connection

type Failure = 'timeout' | 'disconnected';

type OkOutcome = { type: 'ok'; accepted: boolean; message: string; ms: number } | { type: 'fail'; reason: Failure };

type ReqOutcome =
  | { type: 'eose'; events: number; ms: number }
  | { type: 'closed'; message: string; events: number; ms: number }
  | { type: 'fail'; reason: Failure; events: number };

interface PendingOk {
  t0: number;
  done: (o: OkOutcome) => void;
}

interface PendingReq {
  t0: number;
  events: number;
  done: (o: ReqOutcome) => void;
}

const EVENT_PREFIX = /^\[\s*"EVENT"\s*,\s*"([^"\\]*)"/;

/** One WebSocket to the relay with request/response bookkeeping and a timeout sweeper. */
class RelayConnection {
  private readonly oks = new Map<string, PendingOk>();
  private readonly reqs = new Map<string, PendingReq>();
  private readonly sweeper: NodeJS.Timeout;
  private nextSub = 0;
  open = true;
  notices = 0;
  authChallenges = 0;
  unexpected = 0;
  lateReplies = 0;

  private constructor(
    private readonly ws: WebSocket,
    private readonly timeoutMs: number,
  ) {
    ws.on('message', (data: WebSocket.RawData) => this.onMessage(data));
    ws.on('close', () => this.onClose());
    ws.on('error', () => this.onClose());
    this.sweeper = setInterval(() => this.sweep(), Math.min(250, timeoutMs / 4));
    this.sweeper.unref();
  }

  static connect(url: string, timeoutMs: number): Promise<RelayConnection> {
    return new Promise((resolve, reject) => {
      // No compression: measure the relay, not zlib; every relay is driven the same way.
      const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs, followRedirects: false });
      const fail = (err: Error) => {
        ws.removeAllListeners();
        ws.on('error', () => undefined);
        ws.terminate();
        reject(err);
      };
      ws.once('error', fail);
      ws.once('unexpected-response', (_req, res) => fail(new Error(`HTTP ${res.statusCode} instead of a WebSocket upgrade`)));
      ws.once('open', () => {
        ws.removeAllListeners();
        resolve(new RelayConnection(ws, timeoutMs));
      });
    });
  }

  publish(id: string, frame: string): Promise<OkOutcome> {
    if (!this.open) return Promise.resolve({ type: 'fail', reason: 'disconnected' });
    return new Promise((done) => {
      this.oks.set(id, { t0: performance.now(), done });
      this.ws.send(frame);
    });
  }

  req(filtersJson: string): Promise<ReqOutcome> {
    if (!this.open) return Promise.resolve({ type: 'fail', reason: 'disconnected', events: 0 });
    const sub = `q${this.nextSub++}`;
    return new Promise((done) => {
      this.reqs.set(sub, { t0: performance.now(), events: 0, done });
      this.ws.send(`["REQ","${sub}",${filtersJson}]`);
    });
  }

  private onMessage(data: WebSocket.RawData): void {
    const text = data.toString();
    // Fast path for stored events: count them without parsing the whole event.
    const ev = EVENT_PREFIX.exec(text);
    if (ev) {
      const pending = this.reqs.get(ev[1] as string);
      if (pending) pending.events++;
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      this.unexpected++;
      return;
    }
    if (!Array.isArray(msg)) {
      this.unexpected++;
      return;
    }
    const [type, a, b, c] = msg as unknown[];
    if (type === 'OK' && typeof a === 'string') {
      const pending = this.oks.get(a);
      if (!pending) {
        this.lateReplies++;
        return;
      }
      this.oks.delete(a);
      pending.done({ type: 'ok', accepted: b === true, message: typeof c === 'string' ? c : '', ms: performance.now() - pending.t0 });
    } else if (type === 'EOSE' && typeof a === 'string') {
      const pending = this.reqs.get(a);
      if (!pending) {
        this.lateReplies++;
        return;
      }
      this.reqs.delete(a);
      this.ws.send(`["CLOSE","${a}"]`);
      pending.done({ type: 'eose', events: pending.events, ms: performance.now() - pending.t0 });
    } else if (type === 'CLOSED' && typeof a === 'string') {
      const pending = this.reqs.get(a);
      if (!pending) return; // the relay confirming our CLOSE, or a late reply
      this.reqs.delete(a);
      pending.done({ type: 'closed', message: typeof b === 'string' ? b : '', events: pending.events, ms: performance.now() - pending.t0 });
    } else if (type === 'EVENT' && typeof a === 'string') {
      const pending = this.reqs.get(a);
      if (pending) pending.events++;
    } else if (type === 'NOTICE') {
      this.notices++;
    } else if (type === 'AUTH') {
      this.authChallenges++;
    } else {
      this.unexpected++;
    }
  }

  private sweep(): void {
    const limit = performance.now() - this.timeoutMs;
    for (const [id, p] of this.oks) {
      if (p.t0 < limit) {
        this.oks.delete(id);
        p.done({ type: 'fail', reason: 'timeout' });
      }
    }
    for (const [sub, p] of this.reqs) {
      if (p.t0 < limit) {
        this.reqs.delete(sub);
        if (this.open) this.ws.send(`["CLOSE","${sub}"]`);
        p.done({ type: 'fail', reason: 'timeout', events: p.events });
      }
    }
  }

  private onClose(): void {
    if (!this.open) return;
    this.open = false;
    clearInterval(this.sweeper);
    for (const p of this.oks.values()) p.done({ type: 'fail', reason: 'disconnected' });
    for (const p of this.reqs.values()) p.done({ type: 'fail', reason: 'disconnected', events: p.events });
    this.oks.clear();
    this.reqs.clear();
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) {
        this.onClose();
        resolve();
        return;
      }
      const timer = setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, 1000);
      this.ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.ws.close(1000);
      this.onClose();
    });
  }
}

async function connectAll(url: string, n: number, timeoutMs: number): Promise<RelayConnection[]> {
  const results = await Promise.allSettled(Array.from({ length: n }, () => RelayConnection.connect(url, timeoutMs)));
  const conns = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(conns.map((c) => c.close()));
    const reason = failed.reason instanceof Error ? failed.reason.message : String(failed.reason);
    throw new Error(`could not open ${n} connections to ${url}: ${reason}`);
  }
  return conns;
}

// ---------------------------------------------------------------------------------------------
// Statistics

interface Row {
  phase: Phase;
  /** Query rows broken down by REQ shape; absent on the phase's overall row. */
  shape?: Shape;
  /** What `ratePerSec` counts: accepted events, OK replies, or REQs answered with EOSE. */
  metric: 'accepted' | 'OK' | 'EOSE';
  sent: number;
  ok: number;
  rejected: number;
  timeouts: number;
  disconnects: number;
  seconds: number;
  ratePerSec: number;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
  /** Query rows: stored events received per REQ answered with EOSE, on average. */
  eventsPerReq: number | null;
  /** Reply messages by prefix: `ok` for accepted/EOSE answers, `rejected` for OK false / CLOSED. */
  messages: { ok: Record<string, number>; rejected: Record<string, number> };
  clientCpuPercent: number;
  /** With --relay-pid: the relay's CPU over the phase, all threads (% of one core; 150 = 1.5 cores). */
  relayCpuPercent: number | null;
  /** With --relay-pid: the relay's main thread alone (its event loop), % of one core. */
  relayMainCpuPercent: number | null;
  /** With --relay-pid: relay CPU µs per request answered (OK or EOSE/CLOSED). */
  relayMicrosPerAnswer: number | null;
  /** With --relay-pid: each relay thread that used at least 1 % of a core over the phase, in thread id order. */
  relayThreads: RelayThreadCpu[] | null;
  timeLimitHit: boolean;
  notices: number;
}

class Tally {
  readonly latencies: number[] = [];
  sent = 0;
  ok = 0;
  rejected = 0;
  timeouts = 0;
  disconnects = 0;
  events = 0;
  readonly okMessages = new Map<string, number>();
  readonly rejectedMessages = new Map<string, number>();

  fail(reason: Failure): void {
    if (reason === 'timeout') this.timeouts++;
    else this.disconnects++;
  }

  message(accepted: boolean, message: string): void {
    const prefix = prefixOf(message);
    if (accepted && prefix === '') return;
    const map = accepted ? this.okMessages : this.rejectedMessages;
    map.set(prefix || '(empty)', (map.get(prefix || '(empty)') ?? 0) + 1);
  }
}

function prefixOf(message: string): string {
  if (message === '') return '';
  const m = /^([A-Za-z0-9_-]{1,32}):/.exec(message);
  return m ? (m[1] as string) : '(no prefix)';
}

function percentile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return round(sorted[idx] as number, 2);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function toRow(
  phase: Phase,
  shape: Shape | undefined,
  metric: Row['metric'],
  t: Tally,
  seconds: number,
  cpu: PhaseCpu,
  timeLimitHit: boolean,
  notices: number,
): Row {
  const sorted = [...t.latencies].sort((x, y) => x - y);
  const count = metric === 'accepted' ? t.ok : metric === 'OK' ? t.ok + t.rejected : t.ok;
  return {
    phase,
    ...(shape ? { shape } : {}),
    metric,
    sent: t.sent,
    ok: t.ok,
    rejected: t.rejected,
    timeouts: t.timeouts,
    disconnects: t.disconnects,
    seconds: round(seconds, 3),
    ratePerSec: seconds > 0 ? round(count / seconds, 1) : 0,
    latencyMs: {
      p50: percentile(sorted, 0.5),
      p95: percentile(sorted, 0.95),
      p99: percentile(sorted, 0.99),
      max: percentile(sorted, 1),
    },
    eventsPerReq: metric === 'EOSE' && t.ok > 0 ? round(t.events / t.ok, 1) : null,
    messages: { ok: Object.fromEntries(t.okMessages), rejected: Object.fromEntries(t.rejectedMessages) },
    clientCpuPercent: seconds > 0 ? round(cpu.clientMicros / 1e4 / seconds, 0) : 0,
    relayCpuPercent: cpu.relayMicros === null || seconds <= 0 || shape ? null : round(cpu.relayMicros / 1e4 / seconds, 0),
    relayMainCpuPercent: cpu.relayMainMicros === null || seconds <= 0 || shape ? null : round(cpu.relayMainMicros / 1e4 / seconds, 0),
    relayMicrosPerAnswer:
      cpu.relayMicros === null || shape || t.ok + t.rejected === 0 ? null : round(cpu.relayMicros / (t.ok + t.rejected), 1),
    relayThreads: cpu.relayThreads === null || seconds <= 0 || shape ? null : busyThreads(cpu.relayThreads, seconds),
    timeLimitHit,
    notices,
  };
}

/** CPU used during a phase: this client's, and the relay's (all its threads) when its pid is known. */
interface PhaseCpu {
  clientMicros: number;
  relayMicros: number | null;
  relayMainMicros: number | null;
  /** CPU seconds per relay thread over the phase, by thread id. */
  relayThreads: Map<number, { name: string; seconds: number }> | null;
}

export interface RelayThreadCpu {
  tid: number;
  name: string;
  /** The process's first thread (for Node, the event loop). */
  main: boolean;
  /** % of one core over the phase. */
  cpuPercent: number;
}

function busyThreads(threads: Map<number, { name: string; seconds: number }>, seconds: number): RelayThreadCpu[] {
  const main = Math.min(...threads.keys());
  return [...threads]
    .map(([tid, t]) => ({ tid, name: t.name, main: tid === main, cpuPercent: round((t.seconds / seconds) * 100, 0) }))
    .filter((t) => t.cpuPercent >= 1)
    .sort((a, b) => a.tid - b.tid);
}

/** Per-thread CPU seconds used between two snapshots; a thread born in between counts from zero. */
function threadDelta(
  before: Map<number, { name: string; seconds: number }>,
  after: Map<number, { name: string; seconds: number }>,
): Map<number, { name: string; seconds: number }> {
  const delta = new Map<number, { name: string; seconds: number }>();
  for (const [tid, t] of after) delta.set(tid, { name: t.name, seconds: t.seconds - (before.get(tid)?.seconds ?? 0) });
  return delta;
}

/** Starts measuring; the returned function reads the CPU used since. */
function measureCpu(relayPid: number | undefined): () => PhaseCpu {
  const client0 = process.cpuUsage();
  const relay0 = relayPid === undefined ? null : cpuSeconds(relayPid);
  const main0 = relayPid === undefined ? null : mainThreadCpuSeconds(relayPid);
  const threads0 = relayPid === undefined ? null : threadCpuSeconds(relayPid);
  return () => {
    const d = process.cpuUsage(client0);
    return {
      clientMicros: d.user + d.system,
      relayMicros: relay0 === null ? null : (cpuSeconds(relayPid!) - relay0) * 1e6,
      relayMainMicros: main0 === null ? null : (mainThreadCpuSeconds(relayPid!) - main0) * 1e6,
      relayThreads: threads0 === null ? null : threadDelta(threads0, threadCpuSeconds(relayPid!)),
    };
  };
}

// ---------------------------------------------------------------------------------------------
// Phases

interface PublishItem {
  index: number;
  id: string;
  frame: string;
}

interface PublishResult {
  row: Row;
  /** Dataset indexes that were sent (in send order per connection). */
  sentIndexes: number[];
}

/** Each connection sends its share with up to `inflight` EVENTs awaiting OK. */
async function publishPhase(phase: Phase, metric: Row['metric'], items: PublishItem[], opts: Options): Promise<PublishResult> {
  const conns = await connectAll(opts.url, opts.connections, opts.timeoutMs);
  const tally = new Tally();
  const sentIndexes: number[] = [];
  const shares: PublishItem[][] = conns.map(() => []);
  items.forEach((item, i) => {
    shares[i % conns.length]?.push(item);
  });
  let timeLimitHit = false;

  const cpuSince = measureCpu(opts.relayPid);
  const t0 = performance.now();
  const deadline = t0 + opts.seconds * 1000;
  await Promise.all(
    conns.map(async (conn, c) => {
      const share = shares[c] as PublishItem[];
      let next = 0;
      const lane = async () => {
        while (next < share.length && conn.open) {
          if (performance.now() >= deadline) {
            timeLimitHit = true;
            return;
          }
          const item = share[next++] as PublishItem;
          tally.sent++;
          sentIndexes.push(item.index);
          const out = await conn.publish(item.id, item.frame);
          if (out.type === 'fail') {
            tally.fail(out.reason);
            continue;
          }
          tally.latencies.push(out.ms);
          if (out.accepted) tally.ok++;
          else tally.rejected++;
          tally.message(out.accepted, out.message);
        }
      };
      await Promise.all(Array.from({ length: opts.inflight }, lane));
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSince();
  const notices = conns.reduce((n, c) => n + c.notices, 0);
  await Promise.all(conns.map((c) => c.close()));
  return { row: toRow(phase, undefined, metric, tally, seconds, cpu, timeLimitHit, notices), sentIndexes };
}

const SHAPES = ['home', 'profile', 'thread', 'notifications', 'hashtag', 'geohash', 'ids', 'timerange'] as const;
type Shape = (typeof SHAPES)[number];
const SHAPE_WEIGHTS: Record<Shape, number> = {
  home: 25,
  profile: 15,
  thread: 15,
  notifications: 15,
  hashtag: 10,
  geohash: 5,
  ids: 10,
  timerange: 5,
};

interface Query {
  shape: Shape;
  /** JSON of the filter list, as it goes after the subscription id. */
  filtersJson: string;
}

/** A realistic REQ mix whose values come from the events the relay was given. */
export function buildQueries(events: BenchEvent[], n: number, seed: string): Query[] {
  const rng = new Rng(`${seed}:queries`);
  const authors = [...new Set(events.map((e) => e.pubkey))];
  const profiles = events.filter((e) => e.kind === 0).map((e) => e.pubkey);
  // Tag occurrences, so popular threads / people / topics are asked for more often.
  const roots: string[] = [];
  const mentioned: string[] = [];
  const hashtags: string[] = [];
  const geohashes: string[] = [];
  for (const e of events) {
    for (const t of e.tags) {
      const v = t[1];
      if (v === undefined) continue;
      if (t[0] === 'e' && (e.kind === 1 || e.kind === 7) && roots.length < 100_000) roots.push(v);
      else if (t[0] === 'p' && e.kind !== 3 && mentioned.length < 100_000) mentioned.push(v);
      else if (t[0] === 't' && hashtags.length < 100_000) hashtags.push(v);
      else if (t[0] === 'g' && v.length === 5 && geohashes.length < 100_000) geohashes.push(v);
    }
  }
  let minTs = Infinity;
  let maxTs = -Infinity;
  for (const e of events) {
    minTs = Math.min(minTs, e.created_at);
    maxTs = Math.max(maxTs, e.created_at);
  }
  const total = SHAPES.reduce((s, k) => s + SHAPE_WEIGHTS[k], 0);
  const pickShape = (): Shape => {
    let x = rng.next() * total;
    for (const s of SHAPES) {
      x -= SHAPE_WEIGHTS[s];
      if (x < 0) return s;
    }
    return 'home';
  };
  const sample = <T>(list: T[], k: number): T[] => {
    if (list.length <= k) return [...list];
    const chosen = new Set<number>();
    for (let guard = 0; chosen.size < k && guard < k * 20; guard++) chosen.add(rng.int(0, list.length - 1));
    return [...chosen].map((i) => list[i] as T);
  };

  const queries: Query[] = [];
  for (let i = 0; i < n; i++) {
    let shape = pickShape();
    // Fall back when the dataset is too small to have a value for the shape.
    if (shape === 'thread' && roots.length === 0) shape = 'home';
    if (shape === 'notifications' && mentioned.length === 0) shape = 'home';
    if (shape === 'hashtag' && hashtags.length === 0) shape = 'home';
    if (shape === 'geohash' && geohashes.length === 0) shape = 'home';
    let filter: Record<string, unknown>;
    switch (shape) {
      case 'home':
        filter = { authors: sample(authors, 50), kinds: [1, 6], limit: 100 };
        break;
      case 'profile':
        filter = { kinds: [0], authors: [rng.pick(profiles.length > 0 ? profiles : authors)] };
        break;
      case 'thread':
        filter = { '#e': [rng.pick(roots)] };
        break;
      case 'notifications':
        filter = { '#p': [rng.pick(mentioned)], kinds: [1, 6, 7, 9735], limit: 100 };
        break;
      case 'hashtag':
        filter = { '#t': [rng.pick(hashtags)], limit: 100 };
        break;
      case 'geohash':
        filter = { '#g': [rng.pick(geohashes)], limit: 100 };
        break;
      case 'ids':
        filter = { ids: sample(events, 20).map((e) => e.id) };
        break;
      case 'timerange': {
        const width = rng.int(3600, 24 * 3600);
        const since = minTs + Math.floor(rng.next() * Math.max(1, maxTs - minTs - width));
        filter = { since, until: since + width, limit: 500 };
        break;
      }
    }
    queries.push({ shape, filtersJson: JSON.stringify(filter) });
  }
  return queries;
}

/** Each connection keeps up to `inflight` REQs open; every REQ is CLOSEd after its EOSE. */
async function queryPhase(queries: Query[], opts: Options): Promise<Row[]> {
  const conns = await connectAll(opts.url, opts.connections, opts.timeoutMs);
  const overall = new Tally();
  const byShape = new Map<Shape, Tally>(SHAPES.map((s) => [s, new Tally()]));
  const shares: Query[][] = conns.map(() => []);
  queries.forEach((q, i) => {
    shares[i % conns.length]?.push(q);
  });
  let timeLimitHit = false;

  const cpuSince = measureCpu(opts.relayPid);
  const t0 = performance.now();
  const deadline = t0 + opts.seconds * 1000;
  await Promise.all(
    conns.map(async (conn, c) => {
      const share = shares[c] as Query[];
      let next = 0;
      const lane = async () => {
        while (next < share.length && conn.open) {
          if (performance.now() >= deadline) {
            timeLimitHit = true;
            return;
          }
          const q = share[next++] as Query;
          const shape = byShape.get(q.shape) as Tally;
          for (const t of [overall, shape]) t.sent++;
          const out = await conn.req(q.filtersJson);
          for (const t of [overall, shape]) {
            if (out.type === 'fail') {
              t.fail(out.reason);
            } else if (out.type === 'eose') {
              t.ok++;
              t.events += out.events;
              t.latencies.push(out.ms);
            } else {
              t.rejected++;
              t.latencies.push(out.ms);
              t.message(false, out.message);
            }
          }
        }
      };
      await Promise.all(Array.from({ length: opts.inflight }, lane));
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSince();
  const notices = conns.reduce((n, c) => n + c.notices, 0);
  await Promise.all(conns.map((c) => c.close()));
  const rows = [toRow('query', undefined, 'EOSE', overall, seconds, cpu, timeLimitHit, notices)];
  for (const s of SHAPES) {
    const t = byShape.get(s) as Tally;
    if (t.sent > 0) rows.push(toRow('query', s, 'EOSE', t, seconds, cpu, timeLimitHit, 0));
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Relay information (NIP-11), for labelling side-by-side runs

interface RelayInfo {
  name?: string;
  software?: string;
  version?: string;
}

async function relayInfo(url: string): Promise<RelayInfo | null> {
  const http = new URL(url);
  http.protocol = http.protocol === 'wss:' ? 'https:' : 'http:';
  try {
    const res = await fetch(http, { headers: { accept: 'application/nostr+json' }, signal: AbortSignal.timeout(2000), redirect: 'error' });
    if (!res.ok) return null;
    const body = (await res.json()) as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    return { name: str(body.name), software: str(body.software), version: str(body.version) };
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Output

function formatNumber(v: number | null): string {
  if (v === null) return '-';
  if (Number.isInteger(v)) return String(v);
  return v >= 100 ? v.toFixed(0) : v.toFixed(v >= 10 ? 1 : 2);
}

function notes(row: Row): string {
  const parts: string[] = [];
  const fmt = (m: Record<string, number>) =>
    Object.entries(m)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
  if (Object.keys(row.messages.ok).length > 0) parts.push(`ok: ${fmt(row.messages.ok)}`);
  if (Object.keys(row.messages.rejected).length > 0) parts.push(`rejected: ${fmt(row.messages.rejected)}`);
  if (row.notices > 0) parts.push(`notices=${row.notices}`);
  if (row.timeLimitHit) parts.push('time limit hit');
  return parts.join('; ');
}

export function renderTable(rows: Row[]): string {
  const header = [
    'phase',
    'sent',
    'ok',
    'rejected',
    'timeout',
    'disconn',
    'secs',
    'rate/s',
    'of',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'ev/req',
    'cpu%',
    'relay%',
    'main%',
    'relay µs/ans',
    'notes',
  ];
  const body = rows.map((r) => [
    r.shape ? `  ${r.shape}` : r.phase,
    String(r.sent),
    String(r.ok),
    String(r.rejected),
    String(r.timeouts),
    String(r.disconnects),
    r.seconds.toFixed(2),
    r.ratePerSec.toFixed(1),
    r.metric,
    formatNumber(r.latencyMs.p50),
    formatNumber(r.latencyMs.p95),
    formatNumber(r.latencyMs.p99),
    formatNumber(r.eventsPerReq),
    r.shape ? '' : String(r.clientCpuPercent),
    r.relayCpuPercent === null ? '' : String(r.relayCpuPercent),
    r.relayMainCpuPercent === null ? '' : String(r.relayMainCpuPercent),
    formatNumber(r.relayMicrosPerAnswer),
    notes(r),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => (cells[i] as string).length)));
  const leftAligned = new Set([0, 8, 17]);
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (leftAligned.has(i) ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...body.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

/** With --relay-pid: the relay's busy threads per phase (% of a core; `main` first) and its peak RSS. */
function renderThreads(rows: Row[], relayPeakRssMb: number | null, relayEndPssMb: number | null): string {
  if (relayPeakRssMb === null) return '';
  const lines = rows
    .filter((r) => !r.shape && r.relayThreads !== null)
    .map((r) => {
      const threads = r.relayThreads!.map((t) => `${t.main ? 'main' : `${t.name}/${t.tid}`} ${t.cpuPercent}`);
      return `relay threads, ${r.phase} (% of a core): ${threads.join(', ')}`;
    });
  const pss =
    relayEndPssMb === null || Number.isNaN(relayEndPssMb) ? '' : `; PSS at the end: ${relayEndPssMb} MB (a page mapped twice counted once)`;
  return `\n${[...lines, `relay peak RSS (VmHWM): ${relayPeakRssMb} MB${pss}`].join('\n')}\n`;
}

/** The unsigned events of a database built by bench/query-db.ts, regenerated from its sidecar. */
function queryDbDataset(path: string): Dataset {
  const db = readQueryDb(path);
  if (!db) throw new Error(`${path}: not a database built by bench/query-db.ts (no ${path}.json)`);
  log(`dataset: regenerating the ${db.count} unsigned events of ${path}…`);
  const events = [...generateUnsignedEvents(db.seed, db.count, db.now)];
  return { seed: db.seed, count: db.count, now: db.now, events, fromCache: true, cachePath: path };
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function main(): Promise<number> {
  let opts: Options | undefined;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError || (err instanceof TypeError && 'code' in err)) {
      log(`error: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (!opts) return 0;

  // Fail fast, before a possibly long signing run, when nothing is listening.
  try {
    await (await RelayConnection.connect(opts.url, opts.timeoutMs)).close();
  } catch (err) {
    throw new Error(`cannot reach a relay at ${opts.url}: ${err instanceof Error ? err.message : String(err)}`);
  }

  const dataset =
    opts.queryDb === undefined
      ? loadDataset({ seed: opts.seed, count: opts.events, now: opts.now, exactNow: opts.nowFixed, noCache: opts.noCache, log })
      : queryDbDataset(opts.queryDb);
  const info = await relayInfo(opts.url);
  const label = info ? [info.name, info.software, info.version].filter(Boolean).join(' ') : 'no NIP-11 document';
  log(`relay: ${opts.url} (${label})`);

  // Belt and braces: however the relay behaves, the run ends. Each phase stops sending after
  // --seconds, waits at most --timeout for answers, and needs a moment to connect and close.
  const phaseBudgetMs = opts.seconds * 1000 + opts.timeoutMs * 3 + 5000;
  const watchdog = setTimeout(() => {
    log('error: watchdog expired; aborting');
    process.exit(3);
  }, opts.phases.length * phaseBudgetMs);
  watchdog.unref();

  const rows: Row[] = [];
  let ingested: BenchEvent[] = dataset.events;
  if (opts.phases.includes('ingest')) {
    const frames = dataset.events.map((e, index): PublishItem => ({ index, id: e.id, frame: `["EVENT",${JSON.stringify(e)}]` }));
    log(`ingest: ${frames.length} events over ${opts.connections} connections, ${opts.inflight} in flight each…`);
    const r = await publishPhase('ingest', 'accepted', frames, opts);
    rows.push(r.row);
    ingested = r.sentIndexes.sort((a, b) => a - b).map((i) => dataset.events[i] as BenchEvent);
  }

  if (opts.phases.includes('duplicates') && opts.duplicates > 0 && ingested.length > 0) {
    // Evenly spaced over what was sent, so every kind and both old and new events are re-sent.
    const n = Math.min(opts.duplicates, ingested.length);
    const picks: PublishItem[] = [];
    for (let k = 0; k < n; k++) {
      const ev = ingested[Math.floor((k * ingested.length) / n)] as BenchEvent;
      picks.push({ index: k, id: ev.id, frame: `["EVENT",${JSON.stringify(ev)}]` });
    }
    log(`duplicates: re-sending ${picks.length} events…`);
    rows.push((await publishPhase('duplicates', 'OK', picks, opts)).row);
  }

  if (opts.phases.includes('query') && opts.reqs > 0) {
    const queries = buildQueries(ingested, opts.reqs, opts.seed);
    log(`query: ${queries.length} REQs over ${opts.connections} connections, ${opts.inflight} in flight each…`);
    rows.push(...(await queryPhase(queries, opts)));
  }

  for (const r of rows) {
    if (!r.shape && r.clientCpuPercent >= 90)
      log(`warning: ${r.phase} used ${r.clientCpuPercent}% of a CPU in this client; the numbers may be client-bound`);
  }

  const relayPeakRssMb = opts.relayPid === undefined ? null : Math.round(peakRssKb(opts.relayPid) / 1024);
  const relayEndPssMb = opts.relayPid === undefined ? null : Math.round(pssKb(opts.relayPid) / 1024);
  if (opts.json) {
    const out = {
      url: opts.url,
      relay: info,
      options: {
        events: opts.events,
        connections: opts.connections,
        inflight: opts.inflight,
        reqs: opts.reqs,
        duplicates: opts.duplicates,
        seconds: opts.seconds,
        timeoutMs: opts.timeoutMs,
        phases: opts.phases,
      },
      dataset: { seed: dataset.seed, count: dataset.count, now: dataset.now, fromCache: dataset.fromCache },
      relayPeakRssMb,
      relayEndPssMb,
      node: process.version,
      finishedAt: new Date().toISOString(),
      rows,
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    process.stdout.write(
      `relay ${opts.url} (${label}); events=${dataset.count} connections=${opts.connections} inflight=${opts.inflight} ` +
        `reqs=${opts.reqs} seconds=${opts.seconds}\n\n${renderTable(rows)}\n${renderThreads(rows, relayPeakRssMb, relayEndPssMb)}`,
    );
  }
  const failed = rows.some((r) => r.sent > 0 && r.ok + r.rejected === 0);
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    log(`error: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
