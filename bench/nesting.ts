/**
 * Cost of the nesting-depth scan (src/protocol/nesting.ts) that runs before JSON.parse on every client
 * frame, beside JSON.parse of the same frames in the same run; and both on a 60,000-deep frame.
 *
 *   npx tsx bench/nesting.ts [--frames 5000] [--runs 7]
 *
 * Frames: `["EVENT",{…}]` of the bench dataset (bench/dataset.ts, unsigned: only the text matters).
 */
import { generateUnsignedEvents } from './dataset.js';
import { MAX_NESTING_DEPTH, nestsDeeperThan } from '../src/protocol/nesting.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const FRAMES = option('frames', 5000);
const RUNS = option('runs', 7);

const frames = [...generateUnsignedEvents('commons-bench', FRAMES, 1_700_000_000)].map((event) => JSON.stringify(['EVENT', event]));
const bytes = frames.reduce((sum, frame) => sum + frame.length, 0);
const deep = `["REQ","deep",${'['.repeat(60_000)}${']'.repeat(60_000)}]`;

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Median over RUNS of the ns per frame `run` takes over `inputs` (the first run warms the JIT). */
function nsPerFrame(inputs: readonly string[], run: (text: string) => unknown): number {
  const times: number[] = [];
  let sink = 0;
  for (let r = 0; r <= RUNS; r++) {
    const start = process.hrtime.bigint();
    for (const text of inputs) if (run(text)) sink++;
    if (r > 0) times.push(Number(process.hrtime.bigint() - start) / inputs.length);
  }
  if (sink < 0) console.log(sink);
  return median(times);
}

const scan = (text: string): boolean => nestsDeeperThan(text, MAX_NESTING_DEPTH);
const parse = (text: string): unknown => JSON.parse(text);
const rows: [string, number, number][] = [
  ['typical EVENT frames', nsPerFrame(frames, scan), nsPerFrame(frames, parse)],
  ['one frame nested 60,000 deep', nsPerFrame(Array(50).fill(deep), scan), nsPerFrame(Array(50).fill(deep), parse)],
];
console.log(`${FRAMES} EVENT frames, mean ${Math.round(bytes / FRAMES)} characters; median of ${RUNS} runs; Node ${process.version}`);
console.log('| frames | depth scan | JSON.parse | scan / parse |');
console.log('|---|---:|---:|---:|');
for (const [name, scanNs, parseNs] of rows) {
  console.log(
    `| ${name} | ${(scanNs / 1000).toFixed(2)} µs | ${(parseNs / 1000).toFixed(2)} µs | ${((100 * scanNs) / parseNs).toFixed(1)} % |`,
  );
}
