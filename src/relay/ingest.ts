import type { Limits } from '../config/types.js';
import { kindClass } from '../event/kinds.js';
import { checkEventLimits } from '../event/limits.js';
import type { NostrEvent } from '../event/types.js';
import { computeId, serialize, validateShape } from '../event/validate.js';
import type { Verifier } from '../event/verify.js';
import * as nip40 from '../nips/nip40.js';
import { requestsVanish, type RelayMatcher } from '../nips/nip62.js';
import { ACCEPT_PROTECTED, checkProtected, type ProtectedPolicy } from '../nips/nip70.js';
import { reason, type Prefix } from '../protocol/prefixes.js';
import { runPolicies, type Pipeline } from '../policy/pipeline.js';
import type { WriteOutcome, EventToWrite } from '../store/types.js';
import type { EventRateLimits } from './rate-limits.js';

export interface IngestDeps {
  limits: Pick<Limits, 'max_event_tags' | 'max_content_length' | 'created_at'>;
  verifier: Verifier;
  isStored(id: string): boolean;
  write(item: EventToWrite): Promise<WriteOutcome>;
  now(): number;
  /**
   * NIP-70: who may publish protected (`["-"]`) events through these deps. The relay builds one per
   * connection carrying its authenticated pubkeys; absent = accept them (the import CLI: the
   * operator loading their own data).
   */
  protectedEvents?: ProtectedPolicy;
  /**
   * NIP-62: whether a kind 62's `relay` tag names this relay (nip62.thisRelay: relay.url, else the Host
   * the connection used). Absent = only `ALL_RELAYS` does.
   */
  isThisRelay?: RelayMatcher;
  /** Write policies (src/policy/write.ts), run with the cheap checks before the id hash; absent = none. */
  policies?: Pipeline;
  /** Rate limits (src/relay/rate-limits.ts): per IP on arrival, per author after the signature; absent = none. */
  rateLimits?: EventRateLimits;
  /** Retention `keep`: seconds an ephemeral event of this kind is stored; undefined (or absent) = never stored. */
  keepEphemeral?(kind: number): number | undefined;
}

export type IngestOutcome =
  /** The event's id could not be read, so no OK can be addressed: answer with a NOTICE. */
  | { type: 'notice'; message: string }
  | {
      type: 'ok';
      id: string;
      accepted: boolean;
      message: string;
      /** Why, in one word, for counters and logs: 'stored', 'duplicate', or the rejection prefix. */
      outcome: 'stored' | 'ephemeral' | 'duplicate' | Prefix;
      /** Set for an ephemeral event that passed every check: the caller delivers it live. */
      ephemeral?: EventToWrite;
      /** Set for a regular event now stored (by this or an earlier frame): the caller may remember it (known-events.ts). */
      stored?: NostrEvent;
    };

const ok = (id: string, outcome: 'stored' | 'ephemeral', ephemeral?: EventToWrite, stored?: NostrEvent): IngestOutcome => ({
  type: 'ok',
  id,
  accepted: true,
  message: '',
  outcome,
  ephemeral,
  stored,
});
const duplicate = (id: string, accepted: boolean, text: string, stored?: NostrEvent): IngestOutcome => ({
  type: 'ok',
  id,
  accepted,
  message: reason('duplicate', text),
  outcome: 'duplicate',
  stored,
});
const ALREADY_HAVE = 'already have this event';
const refuse = (id: string, prefix: Prefix, text: string): IngestOutcome => ({
  type: 'ok',
  id,
  accepted: false,
  message: reason(prefix, text),
  outcome: prefix,
});

const SETTLED: Promise<void> = Promise.resolve();
const NO_RELAY: RelayMatcher = () => false;

/**
 * The way every event enters the relay (socket and import alike), cheapest rejection first:
 * shape → IP rate → limits → expiration (NIP-40) → write policies → id hash → already stored? → NIP-70 sender →
 * signature → author rate → write.
 *
 * Signatures are checked concurrently, but an event is decided only after `previous` (the event sent
 * before it on the same connection) has reached the writer or been answered. `placed` marks that
 * point for the next event, so a connection's events are stored and answered in the order sent.
 */
export function ingestEvent(
  input: unknown,
  deps: IngestDeps,
  previous: Promise<void> = SETTLED,
  /** `input` is an event that already passed validateShape and the id hash (a KnownEvents entry). */
  validated = false,
): { outcome: Promise<IngestOutcome>; placed: Promise<void> } {
  let markPlaced!: () => void;
  const placed = new Promise<void>((resolve) => (markPlaced = resolve));
  const outcome = decide(input, deps, previous, markPlaced, validated).finally(markPlaced);
  return { outcome, placed };
}

/**
 * The duplicate fast path, synchronous: `event` passed shape and id checks before (KnownEvents), and
 * nothing earlier on its connection is waiting for an answer. Runs the same checks as ingestEvent in
 * the same order (store, IP rate, limits, expiration, policies, NIP-70) and answers a stored regular
 * event as a duplicate. undefined = no longer stored (deleted, pruned): take the full path.
 */
export function decideKnown(event: NostrEvent, deps: IngestDeps): IngestOutcome | undefined {
  if (!deps.isStored(event.id)) return undefined;
  const refused = checkPolicies(event, deps);
  if (refused) return refused;
  const guarded = checkProtected(event, deps.protectedEvents ?? ACCEPT_PROTECTED);
  if (guarded) return refuse(event.id, guarded.prefix, guarded.text);
  return duplicate(event.id, true, ALREADY_HAVE, event);
}

async function decide(
  input: unknown,
  deps: IngestDeps,
  previous: Promise<void>,
  markPlaced: () => void,
  validated: boolean,
): Promise<IngestOutcome> {
  const checked = validated ? (checkPolicies(input as NostrEvent, deps) ?? { event: input as NostrEvent }) : checkCheaply(input, deps);
  if (!('event' in checked)) {
    await previous;
    return checked;
  }
  const event = checked.event;
  const kind = kindClass(event.kind);
  // Stored already: its signature was checked when it was stored, so it is not checked again.
  const stored = kind !== 'ephemeral' && deps.isStored(event.id);
  const policy = deps.protectedEvents ?? ACCEPT_PROTECTED;
  // A protected event the sender may not publish (as things stand now) is not verified ahead.
  let verification = stored || checkProtected(event, policy) ? undefined : deps.verifier.verify(event);
  verification?.catch(() => {}); // rethrown when awaited below; this only avoids an unhandled rejection meanwhile
  await previous;
  // After `previous`: an AUTH sent just before this event on the same connection has been decided.
  const guarded = checkProtected(event, policy);
  if (guarded) return refuse(event.id, guarded.prefix, guarded.text);
  if (!stored && verification === undefined) verification = deps.verifier.verify(event);
  if (stored && kind === 'regular') return duplicate(event.id, true, ALREADY_HAVE, event);
  if (verification && !(await verification)) return refuse(event.id, 'invalid', 'signature verification failed');
  // After the signature: only a proven author's budget is spent.
  const slowed = deps.rateLimits?.byAuthor(event);
  if (slowed) return refuse(event.id, slowed.prefix, slowed.text);

  const item: EventToWrite = { event, json: serialize(event) };
  if (requestsVanish(event, deps.isThisRelay ?? NO_RELAY)) item.vanish = true;
  if (kind === 'ephemeral') {
    const keep = deps.keepEphemeral?.(event.kind);
    if (keep === undefined) return ok(event.id, 'ephemeral', item);
    // Stored briefly for late joiners; the writer delivers it live once stored, like any stored event.
    item.expiresAt = deps.now() + keep;
  }

  // A stored replaceable version goes through the writer too: an earlier event of this connection,
  // queued ahead of it, may have replaced it.
  const pending = deps.write(item);
  markPlaced();
  const written = await pending;
  const regular = kind === 'regular' ? event : undefined;
  switch (written.status) {
    case 'stored':
      return ok(event.id, 'stored', undefined, regular);
    case 'duplicate':
      return duplicate(event.id, true, ALREADY_HAVE, regular);
    case 'older':
      return duplicate(event.id, false, 'a newer version is already stored');
    case 'deleted':
      return refuse(event.id, 'blocked', 'deleted by its author');
    case 'vanished':
      return refuse(event.id, 'blocked', 'its author asked this relay to forget them (NIP-62)');
  }
}

/** Shape, limits, expiration, write policies and id: the checks that need neither the store nor the signature. */
function checkCheaply(input: unknown, deps: IngestDeps): IngestOutcome | { event: NostrEvent } {
  const shape = validateShape(input);
  if (!shape.ok) {
    if (shape.id === undefined) return { type: 'notice', message: reason('invalid', shape.message) };
    return refuse(shape.id, 'invalid', shape.message);
  }
  const event = shape.event;
  const refused = checkPolicies(event, deps);
  if (refused) return refused;
  if (computeId(event) !== event.id) return refuse(event.id, 'invalid', 'id is not the sha256 of the serialised event');
  return { event };
}

/** IP rate, limits, expiration and write policies of a well-formed event: what may change between two sends of it. */
function checkPolicies(event: NostrEvent, deps: IngestDeps): IngestOutcome | undefined {
  // First: every EVENT with a readable id spends its sender's IP budget, before any work is done for it.
  const flooded = deps.rateLimits?.fromIp();
  if (flooded) return refuse(event.id, flooded.prefix, flooded.text);
  const now = deps.now();
  const limited = checkEventLimits(event, deps.limits, now);
  if (limited) return refuse(event.id, limited.prefix, limited.text);
  if (nip40.isExpired(event, now)) return refuse(event.id, 'invalid', 'event has expired');
  // Before the id hash: a policy refusal of a forged event is as right as an invalid: one.
  const refused = deps.policies === undefined ? undefined : runPolicies(deps.policies, event, { now });
  if (refused) return refuse(event.id, refused.prefix, refused.text);
  return undefined;
}
