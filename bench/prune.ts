/**
 * Retention pruner cost on a large database: one background pass with a max_age rule deleting ~30 % of
 * the events, once on the event loop (the old way: setImmediate steps) and once in the pruner's worker
 * thread (the relay's way for a file database), each on a fresh copy, while the main thread keeps
 * ingesting (10 events through store.writeBatch every 10 ms, as the relay's batching writer would).
 * Prints events deleted per second, the longest event-loop block (perf_hooks.monitorEventLoopDelay
 * max / p99) and the longest ingest write (it waits for the pruner's write lock when they collide).
 *
 *   npx tsx bench/prune.ts [--events 1000000] [--batch 500] [--mode both|all|none|loop|worker|threads] [--seconds N] [--no-cache]
 *
 * --mode threads: the pruner's worker and the relay's writer thread (storage.writer_thread, the default):
 * the ingest batches go to the writer thread and their time is the round trip.
 *
 * --seconds N stops each pass after N seconds (pruner.stop(), as at shutdown) and reports that window;
 * --mode all adds a first row with no pruner at all (the ingest alone: the floor on this machine).
 *
 * The database is built once through the store's write path (fake signatures: the store does not
 * verify) and cached under bench/.cache/; each run prunes a fresh copy.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { NostrEvent } from '../src/event/types.js';
import { serialize } from '../src/event/validate.js';
import { Pruner, type PassResult } from '../src/retention/pruner.js';
import { compileRetention } from '../src/retention/rules.js';
import { WriterThread } from '../src/store/writer-thread.js';
import { EventStore } from '../src/store/index.js';
import { SCHEMA_VERSION } from '../src/store/migrations.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const EVENTS = arg('events', 1_000_000);
const BATCH = arg('batch', 500);
const NO_CACHE = process.argv.includes('--no-cache');
const SECONDS = arg('seconds', 0);
const MODE = process.argv.includes('--mode') ? process.argv[process.argv.indexOf('--mode') + 1]! : 'both';
const DAY = 86400;
type Mode = 'none' | 'loop' | 'worker' | 'threads';
const T0 = 1_750_000_000;
const SPAN_DAYS = 100;

const CACHE = fileURLToPath(new URL('./.cache/', import.meta.url));
mkdirSync(CACHE, { recursive: true });
const cached = join(CACHE, `prune-v${SCHEMA_VERSION}-${EVENTS}.sqlite`);
const work = join(CACHE, `prune-work-${process.pid}.sqlite`);
const SIG = randomBytes(64).toString('hex');
const INGEST_EVERY_MS = 10;
const INGEST_BATCH = 10;

function build(path: string): void {
  const started = performance.now();
  const store = EventStore.open(path, { synchronous: 'normal' });
  const authors = Array.from({ length: 2000 }, () => randomBytes(32).toString('hex'));
  const sig = randomBytes(64).toString('hex');
  const chunk = 20_000;
  for (let done = 0; done < EVENTS; done += chunk) {
    const items = [];
    for (let i = done; i < Math.min(done + chunk, EVENTS); i++) {
      const r = (i * 2654435761) % 100;
      const kind = r < 65 ? 1 : r < 85 ? 7 : r < 95 ? 6 : 1111;
      const event: NostrEvent = {
        id: randomBytes(32).toString('hex'),
        pubkey: authors[(i * 7919) % authors.length]!,
        created_at: T0 - Math.floor(((EVENTS - i) / EVENTS) * SPAN_DAYS * DAY),
        kind,
        tags: [
          ['e', randomBytes(32).toString('hex')],
          ['p', authors[i % authors.length]!],
          ['t', `tag${i % 50}`],
        ],
        content: kind === 7 ? '+' : `note ${i} with a little text to make the row a realistic size for a short note`,
        sig,
      };
      items.push({ event, json: serialize(event) });
    }
    store.writeBatch(items);
    process.stderr.write(`\rbuilding: ${Math.min(done + chunk, EVENTS)} / ${EVENTS}`);
  }
  store.close();
  process.stderr.write(`\nbuilt ${EVENTS} events in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

if (NO_CACHE || !existsSync(cached)) {
  const tmp = `${cached}.tmp`;
  rmSync(tmp, { force: true });
  build(tmp);
  renameSync(tmp, cached);
}
const cleanup = (): void => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${work}${suffix}`, { force: true });
};
const ms = (ns: number): string => (ns / 1e6).toFixed(1);
// Keep the newest 70 days of a 100-day spread: ~30 % deleted.
const retention = compileRetention([{ kinds: ['*'], max_age: 70 * DAY }]);

/** One pass on a fresh copy, with the main thread ingesting meanwhile. */
async function measure(mode: Mode): Promise<string> {
  cleanup();
  copyFileSync(cached, work);
  const store = EventStore.open(work, { synchronous: 'normal' });
  try {
    const before = store.stats().events;
    const pruner = new Pruner(
      store,
      () => retention,
      () => T0,
      pino({ level: 'silent' }),
      60_000,
      BATCH,
      5,
      mode === 'worker' || mode === 'threads',
    );
    // 'threads': the relay's default, writes on the writer thread (storage.writer_thread) too.
    const writer = mode === 'threads' ? new WriterThread(store.location!) : undefined;
    let written = 0;
    let longestWriteMs = 0;
    const writes: number[] = [];
    const ingest = setInterval(() => {
      const items = Array.from({ length: INGEST_BATCH }, () => {
        const event: NostrEvent = {
          id: randomBytes(32).toString('hex'),
          pubkey: randomBytes(32).toString('hex'),
          created_at: T0,
          kind: 1,
          tags: [],
          content: 'live',
          sig: SIG,
        };
        return { event, json: serialize(event) };
      });
      const started = performance.now();
      const done = (): void => {
        const took = performance.now() - started;
        writes.push(took);
        longestWriteMs = Math.max(longestWriteMs, took);
        written += items.length;
      };
      if (writer) void writer.write(items).then(done);
      else {
        store.writeBatch(items);
        done();
      }
    }, INGEST_EVERY_MS);
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const started = performance.now();
    const window = SECONDS > 0 ? setTimeout(() => void pruner.stop(), SECONDS * 1000) : undefined;
    // 'none': the ingest alone for the same window (the floor on this machine).
    const result =
      mode === 'none'
        ? await new Promise<PassResult>((resolve) =>
            setTimeout(() => resolve({ expired: 0, rules: [], longestStepMs: 0, steps: 0 }), SECONDS * 1000),
          )
        : await pruner.run();
    await pruner.stop();
    clearInterval(ingest);
    await writer?.close();
    const seconds = (performance.now() - started) / 1000;
    delay.disable();
    clearTimeout(window);
    const deleted = before + written - store.stats().events;
    writes.sort((a, b) => a - b);
    const p99 = writes[Math.floor(writes.length * 0.99)] ?? 0;
    return `| ${{ none: 'none (ingest only)', loop: 'event loop (old)', worker: 'worker thread', threads: 'worker thread + writer thread' }[mode]} | ${deleted} | ${seconds.toFixed(1)} s | ${Math.round(deleted / seconds)} | ${ms(delay.max)} / ${ms(delay.percentile(99))} / ${ms(delay.mean)} ms | ${longestWriteMs.toFixed(1)} / ${p99.toFixed(1)} ms | ${written} | ${result.steps}, longest ${result.longestStepMs.toFixed(1)} ms |`;
  } finally {
    store.close();
    cleanup();
  }
}

const info = EventStore.open(cached, { synchronous: 'normal' });
const total = info.stats().events;
for (const [name, plan] of Object.entries(info.retention.plans())) console.log(`plan ${name}: ${plan.join('; ')}`);
info.close();
console.log(
  `database: ${total} events (${(statSync(cached).size / 2 ** 20).toFixed(0)} MiB), at most ${BATCH} rows/step; ingest ${INGEST_BATCH} events every ${INGEST_EVERY_MS} ms`,
);
console.log('| pruner | deleted | time | events/s | loop delay max / p99 / mean | ingest write max / p99 | ingested | steps |');
console.log('|---|---|---|---|---|---|---|---|');
const modes: readonly Mode[] =
  MODE === 'all' ? ['none', 'loop', 'worker', 'threads'] : MODE === 'both' ? ['loop', 'worker'] : [MODE as Mode];
if ((modes as readonly string[]).includes('none') && SECONDS <= 0) throw new Error('--mode none|all needs --seconds');
for (const mode of modes) console.log(await measure(mode));
