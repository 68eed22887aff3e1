import type Database from 'better-sqlite3';
import type { CompiledFilter } from '../filter/compile.js';
import type { QueryRunner } from './query.js';

/** A REQ's stored events (JSON, newest first) and the commit sequence number of the snapshot they were read from. */
export interface StoredAnswer {
  events: string[];
  commitSeq: number;
}

/**
 * A stored answer as a reader thread sends it: every EVENT frame already built, UTF-8, one after another
 * in `frames` (frame i ends at `ends[i]`). Both buffers are moved to the relay's thread, not copied, and
 * the socket sends views of them as they are: the thread that owns the connection neither decodes the
 * events into strings nor encodes the frames back (bench/README.md "Reader answers as bytes").
 */
export interface PackedAnswer {
  frames: Uint8Array;
  ends: Uint32Array;
  commitSeq: number;
}

/** How many events an answer holds. */
export const answerSize = (answer: StoredAnswer | PackedAnswer): number => ('events' in answer ? answer.events.length : answer.ends.length);

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

/**
 * storedAnswers, as frames built by SQLite (QueryRunner.frames) when the REQ has one live filter; else the
 * JSON strings (several filters are merged in JavaScript).
 */
export function framedAnswers(
  db: Database.Database,
  runner: QueryRunner,
): (filters: readonly CompiledFilter[], now: number, framePrefix: string) => StoredAnswer | PackedAnswer {
  const commitSeq = db.prepare<[], number>('SELECT seq FROM commit_seq').pluck();
  return db.transaction((filters: readonly CompiledFilter[], now: number, framePrefix: string): StoredAnswer | PackedAnswer => {
    const seq = commitSeq.get()!;
    const framed = runner.frames(filters, now, framePrefix);
    return framed ? { ...framed, commitSeq: seq } : { events: runner.query(filters, now), commitSeq: seq };
  });
}

/** The answer's EVENT frames (`framePrefix` is `["EVENT","<subscription id>",`) packed into one buffer of their own. */
export function packAnswer(answer: StoredAnswer, framePrefix: string): PackedAnswer {
  const prefix = Buffer.from(framePrefix);
  const ends = new Uint32Array(answer.events.length);
  let size = 0;
  answer.events.forEach((json, i) => {
    size += prefix.length + Buffer.byteLength(json) + 1;
    ends[i] = size;
  });
  const frames = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (const json of answer.events) {
    at += prefix.copy(frames, at);
    at += frames.write(json, at);
    frames[at++] = 0x5d; // ]
  }
  return { frames, ends, commitSeq: answer.commitSeq };
}
