import { existsSync, readFileSync } from 'node:fs';
import type BetterSqlite3 from 'better-sqlite3';
import Database from '../store/sqlite.js';
import type { Argv } from 'yargs';
import type { Config } from '../config/types.js';
import { unixNow } from '../event/clock.js';
import { checkEventLimits } from '../event/limits.js';
import { validateShape } from '../event/validate.js';
import { WasmVerifier } from '../event/verify.js';
import * as nip40 from '../nips/nip40.js';
import { explainPolicies, type PolicyVerdict } from '../policy/pipeline.js';
import { writePolicies } from '../policy/write.js';
import { noticeFrame, okFrame } from '../protocol/frames.js';
import { rejectionMessage } from '../protocol/prefixes.js';
import { ingestEvent, type IngestDeps, type IngestOutcome } from '../relay/ingest.js';
import { Management } from '../relay/management.js';
import { ManagementTables } from '../store/management.js';
import type { Pipeline } from '../policy/pipeline.js';
import { siteConfigOrExit, withConfigOption, withHostOption } from './options.js';

export const explainCommand = {
  command: 'explain <event>',
  describe: 'Show every write rule that looks at one event and the exact OK message the relay would send',
  builder: (yargs: Argv) =>
    withConfigOption(withHostOption(yargs))
      .positional('event', {
        type: 'string',
        demandOption: true,
        describe: 'File holding the event as JSON (or ["EVENT", {...}]); - reads stdin',
      })
      .epilogue(
        "The event goes through the relay's own ingest path (limits, expiration, write rules, id, NIP-70, signature) as if sent " +
          'by a connection that has not authenticated. When the database file (storage.path, or --db for the top level) exists, it is opened ' +
          'read-only for the NIP-86 lists an admin persisted (banned events and pubkeys, allowed pubkeys and kinds), which apply ' +
          'as on the relay; it is never created or written. Stored events are not looked at: the answer never says "duplicate:", and ' +
          'deletions (NIP-09) and newer stored versions of replaceable events are not known. With --host NAME the event is judged by ' +
          "that hosts: block's policy (as if sent with Host: NAME). Exit status: 0 accepted, 1 refused, 2 bad input.",
      ),
  handler: async (args: { event: string; config: string; db?: string; host?: string }): Promise<void> => {
    const config = siteConfigOrExit(args.config, { db: args.db }, args.host);
    let input: unknown;
    try {
      // yargs hands a lone `-` over as ''.
      const stdin = args.event === '-' || args.event === '';
      input = JSON.parse(readFileSync(stdin ? 0 : args.event, 'utf8'));
    } catch (error) {
      process.stderr.write(`${args.event}: cannot read a JSON event: ${(error as Error).message}\n`);
      process.exit(2);
    }
    if (Array.isArray(input) && input[0] === 'EVENT') input = input[input.length - 1];
    const now = unixNow();
    const lists = persistedLists(config, now);
    let result: { text: string; accepted: boolean };
    try {
      result = await explainEvent(config, input, now, lists.management);
    } finally {
      lists.close();
    }
    const { text, accepted } = result;
    process.stdout.write(lists.note + text);
    process.exitCode = accepted ? 0 : 1;
  },
};

/**
 * The NIP-86 lists persisted in the database, when its file exists: opened read-only (never created),
 * read whole by the same Management class the relay uses. `note` says what was applied.
 */
function persistedLists(config: Config, now: number): { management?: Management; note: string; close: () => void } {
  const path = config.storage.path;
  if (path === ':memory:' || !existsSync(path)) return { note: `database ${path}: not found, no NIP-86 lists applied\n`, close: () => {} };
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const management = new Management(config, new ManagementTables(db), new WasmVerifier(), () => now);
    const counts = [
      `${management.bannedPubkeys().length} banned pubkeys`,
      `${management.allowedPubkeys().length} allowed pubkeys`,
      `${management.allowedKinds().length} allowed kinds`,
      `${management.bannedEvents().length} banned events`,
    ];
    const opened = db;
    return { management, note: `database ${path} (read-only): NIP-86 lists applied: ${counts.join(', ')}\n`, close: () => opened.close() };
  } catch (error) {
    db?.close();
    return { note: `database ${path}: cannot read the NIP-86 lists (${(error as Error).message}); none applied\n`, close: () => {} };
  }
}

/**
 * The rules' verdicts and the frame, as printed by `commons explain`; `management` (the persisted NIP-86
 * lists) wraps the config's rules as on the relay.
 */
async function explainEvent(
  config: Config,
  input: unknown,
  now: number,
  management?: Management,
): Promise<{ text: string; accepted: boolean; frame: string }> {
  const pipeline: Pipeline = management ? management.policies(writePolicies(config)) : writePolicies(config);
  const lines: string[] = ['rules, in order (the first refusal is the answer):'];
  const shape = validateShape(input);
  if (shape.ok) {
    const event = shape.event;
    const limits = checkEventLimits(event, config.limits, now);
    const expired = nip40.isExpired(event, now) ? { prefix: 'invalid' as const, text: 'event has expired' } : undefined;
    const rows: PolicyVerdict[] = [
      { name: 'limits (global)', rejection: limits, reached: true },
      { name: 'expiration (NIP-40)', rejection: expired, reached: limits === undefined },
    ];
    const decided = limits !== undefined || expired !== undefined;
    for (const row of explainPolicies(pipeline, event, { now })) rows.push(decided ? { ...row, reached: false } : row);
    const width = Math.max(...rows.map((row) => row.name.length));
    for (const row of rows) lines.push(`  ${row.name.padEnd(width)}  ${verdictText(row)}`);
    if (pipeline.length === 0) lines.push('  (no write.* rules restrict anything in this config)');
    lines.push(
      'then: id hash, NIP-70 (as an unauthenticated connection), signature — the relay\'s own code; no database (never "duplicate:")',
    );
  } else {
    lines.push(`  shape  refused: ${shape.message}`);
  }

  const outcome = await ingestEvent(input, explainDeps(config, now, pipeline)).outcome;
  const frame = frameOf(outcome);
  lines.push('the relay would answer:', frame);
  return { text: `${lines.join('\n')}\n`, accepted: outcome.type === 'ok' && outcome.accepted, frame };
}

function verdictText(row: PolicyVerdict): string {
  if (row.rejection === undefined) return row.reached ? 'pass' : 'pass (not reached)';
  return row.reached ? `REFUSED  ${rejectionMessage(row.rejection)}` : `would refuse (not reached): ${rejectionMessage(row.rejection)}`;
}

/** Ingest as a fresh, unauthenticated connection would see it, with an empty store that writes nothing. */
function explainDeps(config: Config, now: number, policies: Pipeline): IngestDeps {
  return {
    limits: config.limits,
    verifier: new WasmVerifier(),
    isStored: () => false,
    write: () => Promise.resolve({ status: 'stored' }),
    now: () => now,
    protectedEvents: config.auth.enabled ? { mode: 'author', authenticated: new Set() } : { mode: 'refuse' },
    policies,
  };
}

function frameOf(outcome: IngestOutcome): string {
  return outcome.type === 'notice' ? noticeFrame(outcome.message) : okFrame(outcome.id, outcome.accepted, outcome.message);
}
