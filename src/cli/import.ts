import { createInterface } from 'node:readline';
import type { Argv } from 'yargs';
import { ingestEvent, type IngestDeps } from '../relay/ingest.js';
import { openOfflineIngest } from './offline-ingest.js';
import { siteConfigOrExit, withConfigOption, withHostOption } from './options.js';

/** Lines per chunk, and events per write transaction (larger transactions dirty each index page once). */
const CHUNK = 5000;
/** Chunks in flight: the next one is parsed and verified while the previous one is written. */
const CHUNKS_IN_FLIGHT = 2;

export interface ImportCounts {
  accepted: number;
  duplicate: number;
  /** Ephemeral kinds are never stored. */
  skippedEphemeral: number;
  rejected: Map<string, number>;
}

export const importCommand = {
  command: 'import',
  describe: 'Read JSON lines of events on stdin and store them under the same rules as the relay',
  builder: (yargs: Argv) => withHostOption(withConfigOption(yargs)),
  handler: async (args: { config: string; db?: string; host?: string }): Promise<void> => {
    const config = siteConfigOrExit(args.config, { db: args.db }, args.host);
    const { deps, close } = openOfflineIngest(config, CHUNK);
    const counts: ImportCounts = { accepted: 0, duplicate: 0, skippedEphemeral: 0, rejected: new Map() };
    const progress = process.stderr.isTTY ? (n: number) => process.stderr.write(`\rimported ${n} lines…`) : () => {};
    let lines = 0;
    let chunk: string[] = [];
    let placed: Promise<void> | undefined;
    const running: Promise<void>[] = [];
    const submit = async (): Promise<void> => {
      const started = startChunk(chunk, deps, counts, placed);
      placed = started.placed;
      running.push(started.done);
      lines += chunk.length;
      chunk = [];
      if (running.length >= CHUNKS_IN_FLIGHT) await running.shift();
      progress(lines);
    };
    try {
      for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
        if (line.trim() === '') continue;
        chunk.push(line);
        if (chunk.length === CHUNK) await submit();
      }
      await submit();
      await Promise.all(running);
    } finally {
      await close();
    }
    if (process.stderr.isTTY) process.stderr.write('\n');
    process.stdout.write(formatCounts(counts));
  },
};

/** Runs one chunk through the relay's own ingest path; the writer commits it as one transaction. */
export async function importChunk(lines: string[], deps: IngestDeps, counts: ImportCounts): Promise<void> {
  await startChunk(lines, deps, counts).done;
}

/**
 * Starts one chunk, its events decided in order after `after` (the previous chunk's last event);
 * `placed` is this chunk's last event reaching the writer, `done` all of its outcomes counted.
 */
function startChunk(
  lines: string[],
  deps: IngestDeps,
  counts: ImportCounts,
  after?: Promise<void>,
): { done: Promise<void>; placed: Promise<void> | undefined } {
  let previous = after;
  const done = Promise.all(
    lines.map(async (line) => {
      let input: unknown;
      try {
        input = JSON.parse(line);
      } catch {
        return count(counts.rejected, 'invalid: not a JSON object');
      }
      const ingest = ingestEvent(input, deps, previous);
      previous = ingest.placed;
      const outcome = await ingest.outcome;
      if (outcome.type === 'notice') return count(counts.rejected, outcome.message);
      if (outcome.outcome === 'stored') counts.accepted++;
      else if (outcome.outcome === 'ephemeral') counts.skippedEphemeral++;
      else if (outcome.outcome === 'duplicate' && outcome.accepted) counts.duplicate++;
      else count(counts.rejected, outcome.message);
    }),
  ).then(() => {});
  return { done, placed: previous };
}

function count(map: Map<string, number>, reason: string): void {
  map.set(reason, (map.get(reason) ?? 0) + 1);
}

export function formatCounts(counts: ImportCounts): string {
  const rejected = [...counts.rejected.values()].reduce((a, b) => a + b, 0);
  const lines = [
    `accepted: ${counts.accepted}`,
    `duplicate: ${counts.duplicate}`,
    `skipped (ephemeral): ${counts.skippedEphemeral}`,
    `rejected: ${rejected}`,
    ...[...counts.rejected.entries()].sort((a, b) => b[1] - a[1]).map(([reason, n]) => `  ${n}  ${reason}`),
  ];
  return `${lines.join('\n')}\n`;
}
