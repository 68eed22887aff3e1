import { nip77 } from 'nostr-tools';
import { unixNow } from '../event/clock.js';
import type { CompiledFilter } from '../filter/compile.js';
import type { IngestDeps } from '../relay/ingest.js';
import type { EventStore } from '../store/store.js';
import { importChunk, type ImportCounts } from '../relay/ingest-lines.js';
import type { Frame, Remote } from './remote.js';

export type Direction = 'down' | 'up' | 'both';

export interface SyncOptions {
  remote: Remote;
  store: EventStore;
  /** The user's filter as JSON (sent to the remote) and compiled (for our store, limit ignored). */
  filter: Record<string, unknown>;
  compiled: CompiledFilter;
  direction: Direction;
  /** Ingest path of the import CLI: events from the remote are checked and verified like any other. */
  deps: IngestDeps;
  /** ids per REQ when downloading, events per page in the fallback. */
  chunk: number;
  timeoutMs: number;
  progress(text: string): void;
}

export interface SyncReport {
  method: 'negentropy' | 'paged REQ';
  fallbackReason?: string;
  need: number;
  have: number;
  rounds: number;
  /** Fallback: seconds holding more events than one page, stepped past (some of their events may be missed). */
  crowdedSeconds: number;
  down: ImportCounts & { missing: number };
  up: { accepted: number; duplicate: number; rejected: Map<string, number> };
}

export async function runSync(options: SyncOptions): Promise<SyncReport> {
  const report: SyncReport = {
    method: 'negentropy',
    need: 0,
    have: 0,
    rounds: 0,
    crowdedSeconds: 0,
    down: { accepted: 0, duplicate: 0, skippedEphemeral: 0, rejected: new Map(), missing: 0 },
    up: { accepted: 0, duplicate: 0, rejected: new Map() },
  };
  const sets = await reconcile(options, report);
  if (typeof sets === 'string') {
    report.method = 'paged REQ';
    report.fallbackReason = sets;
    if (options.direction !== 'up') await pagedDownload(options, report);
    if (options.direction !== 'down') await uploadAll(options, report);
    return report;
  }
  report.need = sets.need.length;
  report.have = sets.have.length;
  if (options.direction !== 'up') await download(options, sets.need, report);
  if (options.direction !== 'down') await upload(options, sets.have, report);
  return report;
}

/** NIP-77 with nostr-tools' initiator; a string is the reason to fall back to paged REQs. */
async function reconcile(options: SyncOptions, report: SyncReport): Promise<{ need: string[]; have: string[] } | string> {
  const { remote, store, compiled, timeoutMs } = options;
  const vector = new nip77.NegentropyStorageVector();
  for (const [createdAt, idHex] of store.negentropyKeys(compiled, unixNow())) vector.insert(createdAt, idHex.toLowerCase());
  vector.seal();
  // 30000 bytes binary = 60 KB hex frames: within the 64-128 KB message limits relays commonly set.
  const neg = new nip77.Negentropy(vector, 30000);
  const need: string[] = [];
  const have: string[] = [];
  const subId = `sync-${Math.random().toString(36).slice(2, 10)}`;
  return new Promise((resolve) => {
    let timer = setTimeout(() => done('no answer to NEG-OPEN in time'), timeoutMs);
    const done = (result: { need: string[]; have: string[] } | string): void => {
      clearTimeout(timer);
      off();
      remote.onNotice = () => {};
      resolve(result);
    };
    remote.onNotice = (message) => {
      if (report.rounds === 0) done(`NOTICE: ${message}`);
    };
    const off = remote.listen(subId, (frame: Frame) => {
      if (frame[0] === 'NEG-ERR') return done(`NEG-ERR: ${String(frame[2])}`);
      if (frame[0] === 'CLOSED-SOCKET') return done('connection closed');
      if (frame[0] !== 'NEG-MSG') return;
      report.rounds++;
      let next: string | null;
      try {
        next = neg.reconcile(
          String(frame[2]),
          (id) => have.push(id),
          (id) => need.push(id),
        );
      } catch (error) {
        return done(`bad NEG-MSG: ${(error as Error).message}`);
      }
      options.progress(`negentropy round ${report.rounds}: need ${need.length}, have ${have.length}`);
      if (next === null) {
        remote.send(['NEG-CLOSE', subId]);
        return done({ need, have });
      }
      clearTimeout(timer);
      timer = setTimeout(() => done('negentropy round timed out'), timeoutMs);
      remote.send(['NEG-MSG', subId, next]);
    });
    remote.send(['NEG-OPEN', subId, options.filter, neg.initiate()]);
  });
}

/** REQs of at most `chunk` ids; what arrives goes through the import's ingest path. */
async function download(options: SyncOptions, ids: string[], report: SyncReport): Promise<void> {
  for (let i = 0; i < ids.length; i += options.chunk) {
    const chunk = ids.slice(i, i + options.chunk);
    const { events } = await options.remote.fetch(`down-${i}`, { ids: chunk, limit: chunk.length }, options.timeoutMs);
    report.down.missing += chunk.length - events.length;
    await importChunk(
      events.map((event) => JSON.stringify(event)),
      options.deps,
      report.down,
    );
    options.progress(`downloaded ${Math.min(i + chunk.length, ids.length)} / ${ids.length}`);
  }
}

/** Fallback: pages of the filter, newest first, each page `until` the oldest created_at of the last. */
async function pagedDownload(options: SyncOptions, report: SyncReport): Promise<void> {
  let until = typeof options.filter.until === 'number' ? options.filter.until : undefined;
  const atBoundary = new Set<string>();
  for (let page = 0; ; page++) {
    const filter = { ...options.filter, limit: options.chunk, ...(until === undefined ? {} : { until }) };
    const { events } = await options.remote.fetch(`page-${page}`, filter, options.timeoutMs);
    const fresh = (events as { id: string; created_at: number }[]).filter((e) => !atBoundary.has(e.id));
    if (events.length === 0) break;
    report.need += fresh.length;
    await importChunk(
      fresh.map((event) => JSON.stringify(event)),
      options.deps,
      report.down,
    );
    options.progress(`fetched ${report.need} events (paged)`);
    const oldest = Math.min(...(events as { created_at: number }[]).map((e) => e.created_at));
    if (fresh.length === 0) {
      // A whole page at one created_at: step past it (events beyond the remote's max_limit in that second are missed).
      until = oldest - 1;
      atBoundary.clear();
      report.crowdedSeconds++;
    } else {
      if (oldest !== until) atBoundary.clear();
      until = oldest;
      for (const e of events as { id: string; created_at: number }[]) if (e.created_at === oldest) atBoundary.add(e.id);
    }
    if (until !== undefined && until < 0) break;
  }
}

async function upload(options: SyncOptions, ids: string[], report: SyncReport): Promise<void> {
  for (let i = 0; i < ids.length; i += options.chunk) {
    const chunk = ids.slice(i, i + options.chunk);
    const filter: CompiledFilter = { ids: new Set(chunk), tags: [], limit: chunk.length };
    await publish(options, options.store.query([filter], unixNow()), report);
    options.progress(`uploaded ${Math.min(i + chunk.length, ids.length)} / ${ids.length}`);
  }
}

/** Fallback: every local event matching the filter (the remote answers duplicate: for what it has). */
async function uploadAll(options: SyncOptions, report: SyncReport): Promise<void> {
  const all = [...options.store.iterate({ ...options.compiled, limit: Number.MAX_SAFE_INTEGER }, unixNow())];
  report.have = all.length;
  for (let i = 0; i < all.length; i += options.chunk) {
    await publish(options, all.slice(i, i + options.chunk), report);
    options.progress(`uploaded ${Math.min(i + options.chunk, all.length)} / ${all.length}`);
  }
}

/** Sends a chunk of stored JSON events and waits for every OK. */
async function publish(options: SyncOptions, jsons: string[], report: SyncReport): Promise<void> {
  const oks = jsons.map((json) => {
    const id = (JSON.parse(json) as { id: string }).id;
    const ok = options.remote.awaitOk(id, options.timeoutMs);
    options.remote.send(`["EVENT",${json}]`);
    return ok;
  });
  for (const [, , accepted, message] of await Promise.all(oks)) {
    const text = String(message ?? '');
    if (accepted === true && text.startsWith('duplicate:')) report.up.duplicate++;
    else if (accepted === true) report.up.accepted++;
    else report.up.rejected.set(text, (report.up.rejected.get(text) ?? 0) + 1);
  }
}
