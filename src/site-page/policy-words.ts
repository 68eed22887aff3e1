/**
 * The relay's policy in plain sentences, generated from the config it enforces (after NIP-86 changes):
 * who may post what, who may read, and how long events are kept. A client that gets a refusal often
 * shows only "Failed to post"; this is where a person learns why.
 */
import type { Config } from '../config/types.js';
import { formatDuration } from '../config/duration.js';
import { restrictsByGeohash, scopeCells } from '../policy/geohash.js';
import { describeRate } from '../policy/rate-limit.js';
import { kindsInWords, listInWords } from './kind-names.js';

export interface PolicyWords {
  posting: string[];
  reading: string[];
  keeping: string[];
  /** The geohash cells the relay serves, when it serves a place. */
  area?: readonly string[];
}

const UNITS: Readonly<Record<string, string>> = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', y: 'year' };

/** 300 → "5 minutes", 31536000 → "1 year". */
export function durationInWords(seconds: number): string {
  const [, count, unit] = /^(\d+)([smhdwy])$/.exec(formatDuration(seconds))!;
  return `${count} ${UNITS[unit!]}${count === '1' ? '' : 's'}`;
}

const sentence = (text: string): string => (/[.!?]$/.test(text) ? text : `${text}.`);
const capitalised = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);
const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`;

export function policyInWords(config: Config): PolicyWords {
  const scope = config.scopes.geohash;
  const area = scope.prefixes.length > 0 || scope.areas.length > 0 ? scopeCells(scope) : undefined;
  return { posting: posting(config, area), reading: reading(config), keeping: keeping(config), ...(area && { area }) };
}

function posting(config: Config, area: readonly string[] | undefined): string[] {
  const { write, members, limits } = config;
  const out: string[] = [];
  const join = write.blocked_message === '' ? 'Ask the operator (below) to be let in.' : sentence(`How to join: ${write.blocked_message}`);
  const refusal = `"blocked: only members of ${config.info.name} can post here"`;
  if (members.enabled) {
    out.push('Only members may post here.', join);
    if (members.open_kinds.length > 0) out.push(`Anyone may publish ${kindsInWords(members.open_kinds)} here.`);
    if (members.dm_kinds.length > 0) out.push(`Anyone may send ${kindsInWords(members.dm_kinds)} to a member (tagging the member).`);
    out.push(`Anything else from others is refused with ${refusal}.`);
  } else if (write.pubkeys.allow.length > 0) {
    out.push(`Only ${plural(write.pubkeys.allow.length, 'listed key')} may post here; others are refused with ${refusal}.`, join);
  } else {
    out.push('Anyone may post here.');
  }
  if (write.pubkeys.deny.length > 0) out.push(`${plural(write.pubkeys.deny.length, 'key')} may not post here.`);
  if (!write.kinds.allow.includes('*')) out.push(`Accepted kinds: ${kindsInWords(write.kinds.allow)}.`);
  if (write.kinds.deny.length > 0) out.push(`Never accepted: ${kindsInWords(write.kinds.deny)}.`);
  out.push(...proofOfWork(config));
  out.push(...place(config, area));
  const { max_future_seconds: ahead, max_past_seconds: behind } = limits.created_at;
  if (ahead !== null) out.push(`Events dated more than ${durationInWords(ahead)} ahead are refused.`);
  if (behind !== null) out.push(`Events dated more than ${durationInWords(behind)} ago are refused.`);
  out.push(`An event may have up to ${limits.max_content_length} characters of text and ${limits.max_event_tags} tags.`);
  const rates = config.rate_limits;
  if (rates.events_per_ip) out.push(`From one address: at most ${describeRate(rates.events_per_ip, 'events')}.`);
  if (rates.events_per_pubkey.regular) out.push(`From one author: at most ${describeRate(rates.events_per_pubkey.regular, 'events')}.`);
  return out;
}

function proofOfWork({ write, members }: Config): string[] {
  const out: string[] = [];
  if (write.min_pow > 0) out.push(`Events need proof of work (NIP-13): an id that starts with at least ${write.min_pow} zero bits.`);
  for (const rule of write.min_pow_by_kind) {
    out.push(
      rule.min_pow > 0
        ? `${capitalised(kindsInWords(rule.kinds))} need proof of work: at least ${rule.min_pow} zero bits.`
        : `${capitalised(kindsInWords(rule.kinds))} need no proof of work.`,
    );
  }
  if (out.length > 0 && members.exempt_from_pow) out.push('Members need no proof of work.');
  return out;
}

function place({ scopes }: Config, area: readonly string[] | undefined): string[] {
  const scope = scopes.geohash;
  if (!restrictsByGeohash(scope)) return [];
  const required = scope.require_for_kinds.length > 0 ? kindsInWords(scope.require_for_kinds) : undefined;
  if (area === undefined) return required ? [`${capitalised(required)} must say where they are (a g tag).`] : [];
  const cells = area.length <= 8 ? listInWords(area) : `${area.slice(0, 8).join(', ')} and ${area.length - 8} more`;
  return [
    `This relay serves one place: the geohash ${area.length === 1 ? 'cell' : 'cells'} ${cells}, drawn below.`,
    'An event that says where it is (a g tag) must name a cell inside it; a larger cell around it may come along, but is not enough on its own.',
    required
      ? `Events that say nothing of a place are accepted, except ${required}, which must say where they are.`
      : 'Events that say nothing of a place are accepted.',
  ];
}

function reading({ read }: Config): string[] {
  const out = [read.private ? 'Only members can read, after signing in (NIP-42).' : 'Anyone can read.'];
  if (read.auth_required_kinds.length > 0) {
    out.push(`${capitalised(kindsInWords(read.auth_required_kinds))} go only to their author and the people they name, after signing in.`);
  }
  return out;
}

function keeping({ retention }: Config): string[] {
  if (retention.length === 0) {
    return [
      'Events are kept until their author deletes them (NIP-09) or they expire (NIP-40).',
      'Ephemeral events (kinds 20000–29999) are passed on live and not stored.',
    ];
  }
  const out = retention.map((rule, i) => {
    const subject = rule.kinds.includes('*') ? (i === 0 ? 'Every kind' : 'Every other kind') : capitalised(kindsInWords(rule.kinds));
    const parts: string[] = [];
    if (rule.keep !== undefined) parts.push(`kept ${durationInWords(rule.keep)} after arrival, so people who join late see them`);
    if (rule.max_age !== undefined) parts.push(`deleted ${durationInWords(rule.max_age)} after they were written`);
    if (rule.max_per_pubkey !== undefined) parts.push(`at most ${rule.max_per_pubkey} per author, the oldest deleted first`);
    if (rule.max_total !== undefined) parts.push(`at most ${rule.max_total} in all, the oldest deleted first`);
    return `${subject}: ${parts.join('; ')}.`;
  });
  const keeps = retention.some((rule) => rule.keep !== undefined);
  out.push(`${keeps ? 'Other ephemeral events' : 'Ephemeral events (kinds 20000–29999)'} are passed on live and not stored.`);
  out.push('Authors can delete their events at any time (NIP-09).');
  return out;
}
