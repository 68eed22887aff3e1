import { createInterface } from 'node:readline';
import type { Argv } from 'yargs';
import { startChunk, type ImportCounts } from '../relay/ingest-lines.js';
import { openOfflineIngest } from './offline-ingest.js';
import { siteConfigOrExit, withConfigOption, withHostOption } from './options.js';

/** Lines per chunk, and events per write transaction (larger transactions dirty each index page once). */
const CHUNK = 5000;
/** Chunks in flight: the next one is parsed and verified while the previous one is written. */
const CHUNKS_IN_FLIGHT = 2;

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
