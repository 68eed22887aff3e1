/**
 * Cost of a rate-limit check (TokenBuckets.take) per event, beside a baseline in the same run: one
 * Map.get + Map.set on a plain, unbounded Map with the same keys (the least any per-key counter does).
 *
 *   npx tsx bench/rate-limit.ts [--takes 1000000] [--runs 5]
 *
 * Cases: 1 000 busy keys (IPs of a normal day), and every take a new key (an attacker rotating
 * pubkeys) against the 100 000-bucket cap, where each take also evicts.
 */
import { TokenBuckets, type Rate } from '../src/policy/rate-limit.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const TAKES = option('takes', 1_000_000);
const RUNS = option('runs', 5);
const rate: Rate = { count: 20, seconds: 10 };

function timeNs(run: () => void): number {
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / TAKES;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function measure(keyOf: (i: number) => string): { buckets: number; baseline: number } {
  const keys = Array.from({ length: TAKES }, (_, i) => keyOf(i));
  const buckets: number[] = [];
  const baseline: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const limiter = new TokenBuckets();
    buckets.push(
      timeNs(() => {
        for (let i = 0; i < TAKES; i++) limiter.take(keys[i]!, rate, i);
      }),
    );
    const plain = new Map<string, number>();
    baseline.push(
      timeNs(() => {
        for (let i = 0; i < TAKES; i++) plain.set(keys[i]!, (plain.get(keys[i]!) ?? 0) + 1);
      }),
    );
  }
  return { buckets: median(buckets), baseline: median(baseline) };
}

const cases: [string, (i: number) => string][] = [
  ['1 000 busy keys', (i) => `198.51.${(i % 1000) >> 8}.${i % 256}`],
  ['a new key every take (cap 100 000, evicting)', (i) => `rotating-${i}`],
];
console.log(`takes per run: ${TAKES}, runs: ${RUNS}, node ${process.version}`);
console.log('| case | TokenBuckets.take ns | Map get+set ns (baseline) | ratio |');
console.log('|---|---|---|---|');
for (const [name, keyOf] of cases) {
  const { buckets, baseline } = measure(keyOf);
  console.log(`| ${name} | ${buckets.toFixed(0)} | ${baseline.toFixed(0)} | ${(buckets / baseline).toFixed(2)} |`);
}
