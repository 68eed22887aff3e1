/**
 * JSON lines of events through the relay's own ingest path, a chunk at a time: what `commons import`
 * reads from stdin and what `commons sync` fetches from another relay.
 */
import { ingestEvent, type IngestDeps } from './ingest.js';

export interface ImportCounts {
  accepted: number;
  duplicate: number;
  /** Ephemeral kinds are never stored. */
  skippedEphemeral: number;
  rejected: Map<string, number>;
}

/** Runs one chunk through the relay's own ingest path; the writer commits it as one transaction. */
export async function importChunk(lines: string[], deps: IngestDeps, counts: ImportCounts): Promise<void> {
  await startChunk(lines, deps, counts).done;
}

/**
 * Starts one chunk, its events decided in order after `after` (the previous chunk's last event);
 * `placed` is this chunk's last event reaching the writer, `done` all of its outcomes counted.
 */
export function startChunk(
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
