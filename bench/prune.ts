/**
 * Retention pruner cost on a large database: one background pass (setImmediate steps, as in the relay)
 * with a max_age rule deleting ~30 % of the events; prints events deleted per second and the longest
 * event-loop block (perf_hooks.monitorEventLoopDelay max / p99, and the longest single step).
 *
 *   npx tsx bench/prune.ts [--events 1000000] [--batch 500] [--no-cache]
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
import { Pruner } from '../src/retention/pruner.js';
import { compileRetention } from '../src/retention/rules.js';
import { EventStore } from '../src/store/index.js';
import { SCHEMA_VERSION } from '../src/store/migrations.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const EVENTS = arg('events', 1_000_000);
const BATCH = arg('batch', 500);
const NO_CACHE = process.argv.includes('--no-cache');
const DAY = 86400;
const T0 = 1_750_000_000;
const SPAN_DAYS = 100;

const CACHE = fileURLToPath(new URL('./.cache/', import.meta.url));
mkdirSync(CACHE, { recursive: true });
const cached = join(CACHE, `prune-v${SCHEMA_VERSION}-${EVENTS}.sqlite`);
const work = join(CACHE, `prune-work-${process.pid}.sqlite`);

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
        tags: [['e', randomBytes(32).toString('hex')], ['p', authors[i % authors.length]!], ['t', `tag${i % 50}`]],
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
copyFileSync(cached, work);
const cleanup = (): void => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${work}${suffix}`, { force: true });
};

try {
  const store = EventStore.open(work, { synchronous: 'normal' });
  const before = store.stats().events;
  // Keep the newest 70 days of a 100-day spread: ~30 % deleted.
  const retention = compileRetention([{ kinds: ['*'], max_age: 70 * DAY }]);
  for (const [name, plan] of Object.entries(store.retention.plans())) console.log(`plan ${name}: ${plan.join('; ')}`);
  const pruner = new Pruner(store, () => retention, () => T0, pino({ level: 'silent' }), 60_000, BATCH);
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const started = performance.now();
  const result = await pruner.run();
  const seconds = (performance.now() - started) / 1000;
  delay.disable();
  const deleted = result.rules[0]!.max_age + result.expired;
  const after = store.stats().events;
  store.close();
  const ms = (ns: number): string => (ns / 1e6).toFixed(1);
  console.log(`database: ${before} events (${(statSync(cached).size / 2 ** 20).toFixed(0)} MiB), batch ${BATCH} rows/step`);
  console.log(`deleted: ${deleted} (${((deleted / before) * 100).toFixed(1)} %), left ${after}, in ${seconds.toFixed(1)} s = ${Math.round(deleted / seconds)} events/s`);
  console.log(`steps: ${result.steps}, longest step ${result.longestStepMs.toFixed(1)} ms`);
  console.log(`event-loop delay: max ${ms(delay.max)} ms, p99 ${ms(delay.percentile(99))} ms, mean ${ms(delay.mean)} ms`);
} finally {
  cleanup();
}
