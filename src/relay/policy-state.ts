/**
 * Everything the relay derives from its config, built in one immutable object so a reload swaps it in
 * one assignment: an event or request is judged wholly by the policy before or the one after.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../config/types.js';
import type { Verifier } from '../event/verify.js';
import { MemberSet, type MemberLog } from '../policy/membership.js';
import { readRules, type ReadRules } from '../policy/read.js';
import { writePolicies } from '../policy/write.js';
import { compileRetention, type Retention } from '../retention/rules.js';
import type { EventToWrite, WriteOutcome } from '../store/types.js';
import type { IngestDeps } from './ingest.js';
import type { Management } from './management.js';

export interface PolicyState {
  readonly config: Config;
  /** Read rules (src/policy/read.ts): restricted kinds, applied to REQ, COUNT, NEG-OPEN and live delivery. */
  readonly readRules: ReadRules;
  /** members.enabled or members.exempt_from_pow: the live member set (its file re-read when it changes). */
  readonly members: MemberSet | undefined;
  /** Ingest deps shared by every connection (each adds its NIP-70 and NIP-62 parts). */
  readonly ingest: IngestDeps;
  readonly retention: Retention;
}

/** The parts that do not come from the config and outlive a reload. */
export interface PolicyParts {
  verifier: Verifier;
  isStored(id: string): boolean;
  write(item: EventToWrite): Promise<WriteOutcome>;
  now(): number;
  log: MemberLog;
  /** NIP-86: its bans and allow lists join the write policies. */
  management?: Management;
}

/**
 * Builds the state for `config`. The member set of `previous` is kept when the member keys did not
 * change (its watcher keeps running); otherwise a new one is made and watched — the caller stops the
 * old one after the swap (see `retiredMembers`).
 */
export function buildPolicyState(config: Config, parts: PolicyParts, previous?: PolicyState): PolicyState {
  const needsMembers = config.members.enabled || config.members.exempt_from_pow;
  const members = needsMembers ? (reuseMembers(config, previous) ?? watchedMembers(config, parts.log)) : undefined;
  const retention = compileRetention(config.retention);
  const base = writePolicies(config, members);
  const ingest: IngestDeps = Object.freeze({
    limits: config.limits,
    verifier: parts.verifier,
    isStored: parts.isStored,
    write: parts.write,
    now: parts.now,
    policies: parts.management ? parts.management.policies(base) : base,
    keepEphemeral: (kind: number) => retention.keepFor(kind),
  });
  return Object.freeze({ config, readRules: readRules(config.read.auth_required_kinds), members, ingest, retention });
}

/** The member set `previous` held that `next` no longer uses (to be stopped), if any. */
export function retiredMembers(previous: PolicyState, next: PolicyState): MemberSet | undefined {
  return previous.members !== undefined && previous.members !== next.members ? previous.members : undefined;
}

function reuseMembers(config: Config, previous: PolicyState | undefined): MemberSet | undefined {
  if (previous?.members === undefined) return undefined;
  const before = previous.config.members;
  const after = config.members;
  return before.file === after.file && isDeepStrictEqual(before.pubkeys, after.pubkeys) ? previous.members : undefined;
}

function watchedMembers(config: Config, log: MemberLog): MemberSet {
  const members = new MemberSet(config.members.pubkeys, config.members.file, log);
  members.watch();
  return members;
}
