import type Database from 'better-sqlite3';
import type { CompiledFilter } from '../filter/compile.js';
import type { QueryRunner } from './query.js';

/** A REQ's stored events (JSON, newest first) and the commit sequence number of the snapshot they were read from. */
export interface StoredAnswer {
  events: string[];
  commitSeq: number;
}

/**
 * query() and the commit sequence read in ONE read transaction, so `commitSeq` names exactly the
 * batches the events were read after: live delivery sends a subscription only the batches after it.
 */
export function storedAnswers(
  db: Database.Database,
  runner: QueryRunner,
): (filters: readonly CompiledFilter[], now: number) => StoredAnswer {
  const commitSeq = db.prepare<[], number>('SELECT seq FROM commit_seq').pluck();
  return db.transaction((filters: readonly CompiledFilter[], now: number): StoredAnswer => {
    const seq = commitSeq.get()!;
    return { events: runner.query(filters, now), commitSeq: seq };
  });
}
