/**
 * Where a thread's time went: the functions with the most self time in a `.cpuprofile` written by
 * `node --cpu-prof` (one file per thread: the main thread, then each worker), optionally within a
 * window of seconds from the profile's start (to look at one phase of a bench run).
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/main.js serve --port 7777 --db /dev/shm/x.sqlite
 *   npx tsx bench/load.ts --url ws://127.0.0.1:7777 …            # then stop the relay with SIGINT
 *   npx tsx bench/cpu-profile.ts /tmp/prof/CPU.*.cpuprofile [--from 6.5] [--to 7.5] [--top 25]
 *
 * A profile samples the thread's stack whether or not the thread is on a CPU: on a busy 2-core box, a
 * native call that wakes another thread (postMessage) collects the samples taken while this thread
 * waits for a core. Read the per-thread CPU from /proc (`bench/load.ts --relay-pid`) beside it.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    from: { type: 'string', default: '0' },
    to: { type: 'string', default: 'Infinity' },
    top: { type: 'string', default: '25' },
  },
});
if (positionals.length === 0) {
  process.stderr.write('usage: npx tsx bench/cpu-profile.ts <file.cpuprofile>… [--from S] [--to S] [--top N]\n');
  process.exit(2);
}
const from = Number(values.from);
const to = Number(values.to);
const top = Number(values.top);

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<string, number>();
  let windowMicros = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    const seconds = (at - profile.startTime) / 1e6;
    if (seconds < from || seconds > to) return;
    const frame = nodes.get(id)!.callFrame;
    const where = frame.url === '' ? '' : ` ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`;
    const name = `${frame.functionName || '(anonymous)'}${where}`;
    selfMicros.set(name, (selfMicros.get(name) ?? 0) + delta);
    windowMicros += delta;
  });
  const length = (profile.endTime - profile.startTime) / 1e6;
  console.log(`${file}: ${length.toFixed(1)} s profiled, ${(windowMicros / 1e6).toFixed(2)} s in the window`);
  const rows = [...selfMicros].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [name, micros] of rows) {
    console.log(`${((100 * micros) / Math.max(1, windowMicros)).toFixed(1).padStart(6)} %  ${name}`);
  }
  console.log('');
}
