/**
 * Write rules: small factories, each turning one part of the `write:` config into a pure policy.
 * All of them need only the event as sent (no signature, no store), so they run in ingest's cheap
 * checks, before the id hash and the signature.
 */
import { getPow } from 'nostr-tools/nip13';
import { kindSet, type KindSelector } from '../config/kinds.js';
import type { Config } from '../config/types.js';
import { kindClass, type KindClass } from '../event/kinds.js';
import { reject } from '../protocol/prefixes.js';
import type { CreatedAtWindow, KindLimitRule, PowRule, WriteConfig } from './config.js';
import { geohashScope, restrictsByGeohash, scopeCells } from './geohash.js';
import { MemberSet, membership } from './membership.js';
import { policy, type Pipeline, type Policy } from './pipeline.js';

export function denyPubkeys(pubkeys: readonly string[]): Policy {
  const denied = new Set(pubkeys);
  return policy('write.pubkeys.deny', (event) =>
    denied.has(event.pubkey) ? reject('blocked', 'this pubkey may not post here') : undefined,
  );
}

/** Only these pubkeys may write; the refusal names the relay and says how to join. */
export function allowPubkeys(pubkeys: readonly string[], relayName: string, howToJoin: string): Policy {
  const allowed = new Set(pubkeys);
  const text = `only members of ${relayName} can post here${howToJoin === '' ? '' : ` — ${howToJoin}`}`;
  return policy('write.pubkeys.allow', (event) => (allowed.has(event.pubkey) ? undefined : reject('blocked', text)));
}

const kindRefused = (kind: number) => reject('blocked', `kind ${kind} is not accepted here`);

export function allowKinds(selectors: readonly KindSelector[]): Policy {
  const kinds = kindSet(selectors);
  return policy('write.kinds.allow', (event) => (kinds.has(event.kind) ? undefined : kindRefused(event.kind)));
}

export function denyKinds(selectors: readonly KindSelector[]): Policy {
  const kinds = kindSet(selectors);
  return policy('write.kinds.deny', (event) => (kinds.has(event.kind) ? kindRefused(event.kind) : undefined));
}

/** First rule whose kinds match, or undefined. */
function firstMatch<R extends { kinds: readonly KindSelector[] }>(rules: readonly R[]): (kind: number) => R | undefined {
  const compiled = rules.map((rule) => ({ rule, kinds: kindSet(rule.kinds) }));
  return (kind) => compiled.find(({ kinds }) => kinds.has(kind))?.rule;
}

/** Per-kind content length and tag count, on top of the global limits (checked before this). */
export function limitsByKind(rules: readonly KindLimitRule[]): Policy {
  const ruleFor = firstMatch(rules);
  return policy('write.limits_by_kind', (event) => {
    const rule = ruleFor(event.kind);
    if (rule === undefined) return undefined;
    const { max_event_tags: maxTags, max_content_length: maxContent } = rule;
    if (maxTags !== undefined && event.tags.length > maxTags) {
      return reject('invalid', `kind ${event.kind} events may carry at most ${maxTags} tags; this one has ${event.tags.length}`);
    }
    // UTF-16 length bounds the character count from above; count code points only when it matters.
    if (maxContent !== undefined && event.content.length > maxContent) {
      const characters = [...event.content].length;
      if (characters > maxContent) {
        return reject('invalid', `kind ${event.kind} content may be at most ${maxContent} characters; this one has ${characters}`);
      }
    }
    return undefined;
  });
}

/** A tighter created_at window per kind class; null bounds are left to limits.created_at. */
export function createdAtByClass(windows: Readonly<Record<KindClass, CreatedAtWindow>>): Policy {
  return policy('write.created_at_by_class', (event, { now }) => {
    const cls = kindClass(event.kind);
    const { max_future_seconds: future, max_past_seconds: past } = windows[cls];
    if (future !== null && event.created_at > now + future) {
      return reject('invalid', `created_at is more than ${future} seconds in the future (limit for ${cls} events)`);
    }
    if (past !== null && event.created_at < now - past) {
      return reject('invalid', `created_at is more than ${past} seconds in the past (limit for ${cls} events)`);
    }
    return undefined;
  });
}

/**
 * NIP-13: the id's leading zero bits must reach the minimum (the first matching per-kind rule, else the
 * global one), except for pubkeys in `exempt` (members.exempt_from_pow). The nonce tag's committed target
 * (a MAY of the NIP) is not checked.
 */
export function minPow(global: number, byKind: readonly PowRule[], exempt?: Pick<MemberSet, 'has'>): Policy {
  const ruleFor = firstMatch(byKind);
  return policy('write.min_pow', (event) => {
    if (exempt?.has(event.pubkey)) return undefined;
    const required = ruleFor(event.kind)?.min_pow ?? global;
    if (required === 0) return undefined;
    const difficulty = getPow(event.id);
    return difficulty >= required ? undefined : reject('pow', `difficulty ${difficulty} is less than ${required}`);
  });
}

const restrictsKinds = (write: WriteConfig): boolean => !write.kinds.allow.includes('*') || write.kinds.deny.length > 0;
const hasWindow = (write: WriteConfig): boolean =>
  Object.values(write.created_at_by_class).some((w) => w.max_future_seconds !== null || w.max_past_seconds !== null);

/** Whether any write rule refuses events for who sent them or what they are (NIP-11 restricted_writes). */
export function restrictsWrites(write: WriteConfig): boolean {
  return (
    write.pubkeys.allow.length > 0 ||
    write.pubkeys.deny.length > 0 ||
    restrictsKinds(write) ||
    write.min_pow > 0 ||
    write.min_pow_by_kind.some((rule) => rule.min_pow > 0)
  );
}

/**
 * The write pipeline, in order: banned pubkeys, the allow list, membership, kinds, the geohash scope, per-kind limits, created_at per
 * class, proof of work. Rules that would let everything through are left out (the default config
 * builds an empty pipeline).
 */
export function writePolicies(config: Config, members?: Pick<MemberSet, 'has'>): Pipeline {
  const write = config.write;
  const pipeline: Policy[] = [];
  if (write.pubkeys.deny.length > 0) pipeline.push(denyPubkeys(write.pubkeys.deny));
  if (write.pubkeys.allow.length > 0) pipeline.push(allowPubkeys(write.pubkeys.allow, config.info.name, write.blocked_message));
  // Membership (src/policy/membership.ts): the relay passes its live set; others read the file once.
  const memberSet =
    config.members.enabled || config.members.exempt_from_pow
      ? (members ?? new MemberSet(config.members.pubkeys, config.members.file))
      : undefined;
  if (config.members.enabled) pipeline.push(membership(config.members, memberSet!, config.info.name, write.blocked_message));
  if (!write.kinds.allow.includes('*')) pipeline.push(allowKinds(write.kinds.allow));
  if (write.kinds.deny.length > 0) pipeline.push(denyKinds(write.kinds.deny));
  const scope = config.scopes.geohash;
  if (restrictsByGeohash(scope)) pipeline.push(geohashScope(scopeCells(scope), scope.require_for_kinds));
  if (write.limits_by_kind.length > 0) pipeline.push(limitsByKind(write.limits_by_kind));
  if (hasWindow(write)) pipeline.push(createdAtByClass(write.created_at_by_class));
  if (write.min_pow > 0 || write.min_pow_by_kind.length > 0)
    pipeline.push(minPow(write.min_pow, write.min_pow_by_kind, config.members.exempt_from_pow ? memberSet : undefined));
  return Object.freeze(pipeline);
}
