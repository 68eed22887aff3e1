/**
 * Signature-verification ceiling: how many events/s each verifier checks on the bench dataset, side
 * by side in one run, on one core (the main thread) — and, last, through the worker pool the relay uses.
 * The relay's ingest rate is read against these figures (same machine, same run).
 *
 *   npx tsx bench/verify.ts [--file bench/.cache/<dataset>.jsonl] [--count 2000] [--workers <n>]
 *
 * The native row needs the addon (npm install builds it when libsecp256k1-dev is present).
 *
 * Every implementation must accept every event of the dataset (they are all validly signed).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initNostrWasm } from 'nostr-wasm';
import { computeId } from '../src/event/validate.js';
import type { NostrEvent } from '../src/event/types.js';
import { NobleVerifier, WasmVerifier } from '../src/event/verify.js';
import { VerifierPool } from '../src/event/verify-pool.js';
import { loadNative, NativeVerifier } from '../src/event/verify-native.js';

const { values } = parseArgs({
  options: {
    file: { type: 'string' },
    count: { type: 'string', default: '2000' },
    workers: { type: 'string', default: String(availableParallelism()) },
  },
});
const cacheDir = join(import.meta.dirname, '.cache');
// The smallest cached dataset: only the first --count events are read, and a large file does not fit in a string.
const datasets = readdirSync(cacheDir).filter((name) => name.endsWith('.jsonl'));
datasets.sort((a, b) => statSync(join(cacheDir, a)).size - statSync(join(cacheDir, b)).size);
const file = values.file ?? join(cacheDir, datasets[0] ?? '');
const count = Number(values.count);
const events = readFileSync(file, 'utf8')
  .split('\n')
  .filter(Boolean)
  .slice(1, count + 1)
  .map((line) => JSON.parse(line) as NostrEvent);

/** events/s of `check` over the whole dataset, best of three rounds (the first warms the JIT). */
async function rate(name: string, check: (event: NostrEvent) => boolean | Promise<boolean>): Promise<number> {
  let best = 0;
  for (let round = 0; round < 3; round++) {
    const start = performance.now();
    for (const event of events) if (!(await check(event))) throw new Error(`${name}: rejected ${event.id}`);
    best = Math.max(best, events.length / ((performance.now() - start) / 1000));
  }
  return best;
}

const rows: [string, number][] = [];
rows.push(['id hash (sha256 of the serialisation)', await rate('id', (event) => computeId(event) === event.id)]);

const noble = new NobleVerifier();
rows.push(['@noble/curves schnorr (reference, JS)', await rate('noble', (event) => noble.verify(event))]);

const tiny = new WasmVerifier();
rows.push(['tiny-secp256k1 verifySchnorr (WASM)', await rate('tiny-secp256k1', (event) => tiny.verifySync(event))]);

const native = loadNative();
if (native.ok) {
  const addon = new NativeVerifier();
  rows.push(['libsecp256k1 native addon (system library)', await rate('native', (event) => addon.verifySync(event))]);
} else {
  process.stdout.write(`native verifier not available: ${native.reason}\n`);
}

try {
  const nw = await initNostrWasm();
  rows.push([
    'nostr-wasm verifyEvent (WASM, re-hashes id)',
    await rate('nostr-wasm', (event) => {
      try {
        nw.verifyEvent(event);
        return true;
      } catch {
        return false;
      }
    }),
  ]);
} catch (error) {
  process.stdout.write(`nostr-wasm did not load: ${String(error)}\n`);
}

// The pool as the relay uses it: many verify() calls in flight, batched per tick across workers.
const workers = Math.max(1, Number(values.workers));
for (const implementation of native.ok ? (['wasm', 'native'] as const) : (['wasm'] as const)) {
  const pool = new VerifierPool({ size: workers, implementation });
  try {
    await pool.verify(events[0]!); // workers started
    let best = 0;
    for (let round = 0; round < 3; round++) {
      const start = performance.now();
      const results = await Promise.all(events.map((event) => pool.verify(event)));
      if (results.some((ok) => !ok)) throw new Error('pool rejected a valid event');
      best = Math.max(best, events.length / ((performance.now() - start) / 1000));
    }
    rows.push([`VerifierPool (${implementation}), ${workers} worker(s), all in flight`, best]);
  } finally {
    await pool.close();
  }
}

const width = Math.max(...rows.map(([name]) => name.length));
process.stdout.write(`events: ${events.length} (${file})\n`);
for (const [name, perSecond] of rows) process.stdout.write(`${name.padEnd(width)}  ${String(Math.round(perSecond)).padStart(7)}/s\n`);
