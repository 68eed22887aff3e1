import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import type { Config } from '../config/types.js';
import { checkEventLimits } from '../event/limits.js';
import { validateShape } from '../event/validate.js';
import { WasmVerifier } from '../event/verify.js';
import * as nip40 from '../nips/nip40.js';
import { explainPolicies, type PolicyVerdict } from '../policy/pipeline.js';
import { writePolicies } from '../policy/write.js';
import { noticeFrame, okFrame } from '../protocol/frames.js';
import { rejectionMessage } from '../protocol/prefixes.js';
import { ingestEvent, type IngestDeps, type IngestOutcome } from '../relay/ingest.js';
import { DEFAULT_CONFIG_FILE, siteConfigOrExit, withHostOption } from './options.js';

export const explainCommand = {
  command: 'explain <event>',
  describe: 'Show every write rule that looks at one event and the exact OK message the relay would send',
  builder: (yargs: Argv) =>
    withHostOption(yargs)
      .positional('event', { type: 'string', demandOption: true, describe: 'File holding the event as JSON (or ["EVENT", {...}]); - reads stdin' })
      .option('config', { alias: 'c', type: 'string', default: DEFAULT_CONFIG_FILE, describe: 'YAML config file' })
      .epilogue(
        'The event goes through the relay\'s own ingest path (limits, expiration, write rules, id, NIP-70, signature) as if sent ' +
          'by a connection that has not authenticated. The database is NOT opened: the answer never says "duplicate:", and ' +
          'deletions (NIP-09) and newer stored versions of replaceable events are not known. With --host NAME the event is judged by ' +
          'that hosts: block\'s policy (as if sent with Host: NAME). Exit status: 0 accepted, 1 refused, 2 bad input.',
      ),
  handler: async (args: { event: string; config: string; host?: string }): Promise<void> => {
    const config = siteConfigOrExit(args.config, {}, args.host);
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
    const { text, accepted } = await explainEvent(config, input, Math.floor(Date.now() / 1000));
    process.stdout.write(text);
    process.exitCode = accepted ? 0 : 1;
  },
};

/** The rules' verdicts and the frame, as printed by `commons explain`. */
export async function explainEvent(config: Config, input: unknown, now: number): Promise<{ text: string; accepted: boolean; frame: string }> {
  const pipeline = writePolicies(config);
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
    lines.push('then: id hash, NIP-70 (as an unauthenticated connection), signature — the relay\'s own code; no database (never "duplicate:")');
  } else {
    lines.push(`  shape  refused: ${shape.message}`);
  }

  const outcome = await ingestEvent(input, explainDeps(config, now)).outcome;
  const frame = frameOf(outcome);
  lines.push('the relay would answer:', frame);
  return { text: `${lines.join('\n')}\n`, accepted: outcome.type === 'ok' && outcome.accepted, frame };
}

function verdictText(row: PolicyVerdict): string {
  if (row.rejection === undefined) return row.reached ? 'pass' : 'pass (not reached)';
  return row.reached ? `REFUSED  ${rejectionMessage(row.rejection)}` : `would refuse (not reached): ${rejectionMessage(row.rejection)}`;
}

/** Ingest as a fresh, unauthenticated connection would see it, with an empty store that writes nothing. */
function explainDeps(config: Config, now: number): IngestDeps {
  return {
    limits: config.limits,
    verifier: new WasmVerifier(),
    isStored: () => false,
    write: () => Promise.resolve({ status: 'stored' }),
    now: () => now,
    protectedEvents: config.auth.enabled ? { mode: 'author', authenticated: new Set() } : { mode: 'refuse' },
    policies: writePolicies(config),
  };
}

function frameOf(outcome: IngestOutcome): string {
  return outcome.type === 'notice' ? noticeFrame(outcome.message) : okFrame(outcome.id, outcome.accepted, outcome.message);
}
