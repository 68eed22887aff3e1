/** Client → relay messages, parsed at the edge into a typed union (NIP-01, NIP-42, NIP-45, NIP-77). */
import { MAX_NESTING_DEPTH, nestsDeeperThan } from './nesting.js';
import { reject, type Rejection } from './prefixes.js';

export type ClientMessage =
  | { type: 'EVENT'; event: unknown }
  | { type: 'REQ'; subId: string; filters: unknown[] }
  | { type: 'COUNT'; subId: string; filters: unknown[] }
  | { type: 'CLOSE'; subId: string }
  /** NIP-42: the signed kind-22242 event, checked by src/nips/nip42.ts. */
  | { type: 'AUTH'; event: unknown }
  /** NIP-77: `filter` and `message` (hex) are checked by the negentropy handler (answers NEG-ERR). */
  | { type: 'NEG-OPEN'; subId: string; filter: unknown; message: unknown }
  | { type: 'NEG-MSG'; subId: string; message: unknown }
  | { type: 'NEG-CLOSE'; subId: string }
  /** A frame that is not a client message: answered with a NOTICE. */
  | { type: 'malformed'; message: string };

export function parseClientMessage(text: string): ClientMessage {
  if (nestsDeeperThan(text, MAX_NESTING_DEPTH)) {
    return { type: 'malformed', message: `invalid: message nests arrays or objects more than ${MAX_NESTING_DEPTH} deep` };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { type: 'malformed', message: 'invalid: message is not valid JSON' };
  }
  if (!Array.isArray(data) || typeof data[0] !== 'string') {
    return { type: 'malformed', message: 'invalid: message must be a JSON array starting with a verb' };
  }
  const [verb, ...args] = data as [string, ...unknown[]];
  switch (verb) {
    case 'EVENT':
      if (args.length < 1) return { type: 'malformed', message: 'invalid: EVENT needs an event object' };
      return { type: 'EVENT', event: args[0] };
    case 'REQ':
    case 'COUNT': {
      const subId = args[0];
      if (typeof subId !== 'string') return { type: 'malformed', message: `invalid: ${verb} needs a subscription id string` };
      return { type: verb, subId, filters: args.slice(1) };
    }
    case 'CLOSE': {
      const subId = args[0];
      if (typeof subId !== 'string') return { type: 'malformed', message: 'invalid: CLOSE needs a subscription id string' };
      return { type: 'CLOSE', subId };
    }
    case 'AUTH':
      if (args.length < 1 || typeof args[0] !== 'object' || args[0] === null || Array.isArray(args[0])) {
        return { type: 'malformed', message: 'invalid: AUTH needs a signed kind 22242 event object' };
      }
      return { type: 'AUTH', event: args[0] };
    case 'NEG-OPEN':
    case 'NEG-MSG':
    case 'NEG-CLOSE': {
      const subId = args[0];
      if (typeof subId !== 'string') return { type: 'malformed', message: `invalid: ${verb} needs a subscription id string` };
      if (verb === 'NEG-CLOSE') return { type: verb, subId };
      if (verb === 'NEG-MSG') return { type: verb, subId, message: args[1] };
      // The first draft of NIP-77 had an id size before the message: ["NEG-OPEN", id, filter, 32, msg].
      const message = args.length >= 4 && typeof args[2] === 'number' ? args[3] : args[2];
      return { type: verb, subId, filter: args[1], message };
    }
    default:
      return { type: 'malformed', message: `unsupported: unknown message type '${verb.slice(0, 32)}'` };
  }
}

/**
 * NIP-77: the filter of a NEG-OPEN is one JSON object. Leniency: `@nostr-dev-kit/sync` sends it inside an
 * array, `["NEG-OPEN", id, [filter], msg]`, so an array holding exactly one filter stands for it. Other
 * arrays are refused: a session reconciles the set of one filter.
 */
export function negOpenFilter(input: unknown): { filter: unknown } | Rejection {
  if (!Array.isArray(input)) return { filter: input };
  if (input.length === 1) return { filter: input[0] };
  return reject('invalid', `NEG-OPEN takes one filter: an object, or an array holding exactly one, not an array of ${input.length}`);
}
