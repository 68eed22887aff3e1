import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { serialize } from '../../src/event/validate.js';
import { closedFrame, countFrame, eoseFrame, eventFrame, eventFramePrefix, noticeFrame, okFrame } from '../../src/protocol/frames.js';
import { negOpenFilter, parseClientMessage, type ClientMessage } from '../../src/protocol/parse.js';
import { PREFIXES, reason, reject, rejectionMessage } from '../../src/protocol/prefixes.js';

const startsWithKnownPrefix = (message: string): boolean => PREFIXES.some((p) => message.startsWith(`${p}: `));

describe('parseClientMessage', () => {
  const malformed = (text: string): Extract<ClientMessage, { type: 'malformed' }> => {
    const m = parseClientMessage(text);
    expect(m.type).toBe('malformed');
    if (m.type !== 'malformed') throw new Error('unreachable');
    expect(startsWithKnownPrefix(m.message), m.message).toBe(true);
    return m;
  };

  it.each(['', 'not json', '["EVENT",', '[1,2', "['REQ','x']", '\u0000'])('invalid JSON %j → malformed', (text) => {
    expect(malformed(text).message).toBe('invalid: message is not valid JSON');
  });

  it.each(['{}', '{"0":"EVENT"}', '"EVENT"', '1', 'null', '[]', '[1]', '[null,"x"]', '[["EVENT"]]', '[{"verb":"REQ"}]'])(
    'not an array starting with a string: %s',
    (text) => {
      expect(malformed(text).message).toBe('invalid: message must be a JSON array starting with a verb');
    },
  );

  it('EVENT', () => {
    const event = { id: 'x', kind: 1 };
    expect(parseClientMessage(JSON.stringify(['EVENT', event]))).toEqual({ type: 'EVENT', event });
    // the payload is checked later (validateShape): any JSON value passes here
    expect(parseClientMessage('["EVENT",5]')).toEqual({ type: 'EVENT', event: 5 });
    expect(parseClientMessage('["EVENT",null]')).toEqual({ type: 'EVENT', event: null });
    expect(parseClientMessage(JSON.stringify(['EVENT', event, 'extra']))).toEqual({ type: 'EVENT', event });
    expect(malformed('["EVENT"]').message).toContain('EVENT');
  });

  it.each(['REQ', 'COUNT'] as const)('%s', (verb) => {
    expect(parseClientMessage(`["${verb}","sub"]`)).toEqual({ type: verb, subId: 'sub', filters: [] });
    expect(parseClientMessage(`["${verb}","sub",{}]`)).toEqual({ type: verb, subId: 'sub', filters: [{}] });
    expect(parseClientMessage(`["${verb}","",{"kinds":[1]},{"ids":[]},5]`)).toEqual({
      type: verb,
      subId: '',
      filters: [{ kinds: [1] }, { ids: [] }, 5],
    });
    expect(parseClientMessage(JSON.stringify([verb, 'a "quoted" \\ id 😀', {}]))).toMatchObject({ subId: 'a "quoted" \\ id 😀' });
    for (const bad of [`["${verb}"]`, `["${verb}",1,{}]`, `["${verb}",null,{}]`, `["${verb}",{},{}]`, `["${verb}",["s"],{}]`]) {
      const m = malformed(bad);
      expect(m.message).toContain(verb);
      expect(m.message).toContain('subscription id');
    }
  });

  it('CLOSE', () => {
    expect(parseClientMessage('["CLOSE","sub"]')).toEqual({ type: 'CLOSE', subId: 'sub' });
    expect(parseClientMessage('["CLOSE","sub","extra"]')).toEqual({ type: 'CLOSE', subId: 'sub' });
    for (const bad of ['["CLOSE"]', '["CLOSE",1]', '["CLOSE",null]', '["CLOSE",{}]']) expect(malformed(bad).message).toContain('CLOSE');
  });

  it('NIP-77: NEG-OPEN / NEG-MSG / NEG-CLOSE carry their sub id; hex and filter are checked later', () => {
    expect(parseClientMessage('["NEG-OPEN","s",{},"6100000200"]')).toEqual({
      type: 'NEG-OPEN',
      subId: 's',
      filter: {},
      message: '6100000200',
    });
    expect(parseClientMessage('["NEG-OPEN","s",{},32,"6100000200"]')).toEqual({
      type: 'NEG-OPEN',
      subId: 's',
      filter: {},
      message: '6100000200',
    });
    expect(parseClientMessage('["NEG-MSG","s","61"]')).toEqual({ type: 'NEG-MSG', subId: 's', message: '61' });
    expect(parseClientMessage('["NEG-CLOSE","s"]')).toEqual({ type: 'NEG-CLOSE', subId: 's' });
    expect(malformed('["NEG-OPEN",{}]').message).toBe('invalid: NEG-OPEN needs a subscription id string');
  });

  it('NIP-77: a NEG-OPEN filter is an object, or an array holding exactly one (as @nostr-dev-kit/sync sends)', () => {
    const filter = { kinds: [1], authors: ['a'.repeat(64)] };
    expect(negOpenFilter(filter)).toEqual({ filter });
    expect(negOpenFilter([filter])).toEqual({ filter });
    // Not an object inside the array: passed on, for the filter compiler to refuse like any other filter.
    expect(negOpenFilter(['x'])).toEqual({ filter: 'x' });
    expect(negOpenFilter('x')).toEqual({ filter: 'x' });
    expect(negOpenFilter([])).toEqual({
      prefix: 'invalid',
      text: 'NEG-OPEN takes one filter: an object, or an array holding exactly one, not an array of 0',
    });
    expect(negOpenFilter([filter, filter])).toEqual({
      prefix: 'invalid',
      text: 'NEG-OPEN takes one filter: an object, or an array holding exactly one, not an array of 2',
    });
  });

  it('unknown verbs are unsupported, named, and truncated to 32 characters', () => {
    expect(malformed('["NEG-FOO",{}]').message).toBe("unsupported: unknown message type 'NEG-FOO'");
    expect(malformed('["event",{}]').message).toBe("unsupported: unknown message type 'event'");
    expect(malformed('["",{}]').message).toBe("unsupported: unknown message type ''");
    const long = 'X'.repeat(100);
    expect(malformed(JSON.stringify([long])).message).toBe(`unsupported: unknown message type '${'X'.repeat(32)}'`);
  });

  it('never throws, and always answers with a known type, on arbitrary input', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc
            .tuple(fc.constantFrom('EVENT', 'REQ', 'COUNT', 'CLOSE', 'AUTH'), fc.array(fc.jsonValue(), { maxLength: 3 }))
            .map(([v, rest]) => JSON.stringify([v, ...rest])),
        ),
        (text) => {
          const m = parseClientMessage(text);
          expect(['EVENT', 'REQ', 'COUNT', 'CLOSE', 'AUTH', 'malformed']).toContain(m.type);
          if (m.type === 'AUTH') expect(typeof m.event === 'object' && m.event !== null && !Array.isArray(m.event)).toBe(true);
          if (m.type === 'malformed') expect(startsWithKnownPrefix(m.message), m.message).toBe(true);
          if (m.type === 'REQ' || m.type === 'COUNT' || m.type === 'CLOSE') expect(typeof m.subId).toBe('string');
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('frames', () => {
  const nasty = fc.string({
    unit: fc.oneof(
      fc.constantFrom('"', '\\', '\n', '\u0000', '\u2028', ']', ',', '😀', '\ud800'),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
    ),
    maxLength: 70,
  });
  /** JSON.parse turns a lone surrogate escape back into the same lone surrogate, so round trips are exact. */
  const roundTrip = (frame: string): unknown => JSON.parse(frame);

  const event: NostrEvent = {
    id: 'a'.repeat(64),
    pubkey: 'b'.repeat(64),
    created_at: 1,
    kind: 1,
    tags: [['t', 'x"]']],
    content: 'content with "quotes", ] brackets and \\ backslashes\n',
    sig: 'c'.repeat(128),
  };

  it('each frame is valid JSON holding exactly its parts, for any sub id and message', () => {
    fc.assert(
      fc.property(nasty, nasty, fc.boolean(), fc.nat(), (subId, message, accepted, count) => {
        expect(roundTrip(okFrame(event.id, accepted, message))).toEqual(['OK', event.id, accepted, message]);
        expect(roundTrip(eventFrame(subId, serialize(event)))).toEqual(['EVENT', subId, event]);
        expect(eventFrame(subId, serialize(event))).toBe(`${eventFramePrefix(subId)}${serialize(event)}]`);
        expect(roundTrip(eoseFrame(subId))).toEqual(['EOSE', subId]);
        expect(roundTrip(closedFrame(subId, message))).toEqual(['CLOSED', subId, message]);
        expect(roundTrip(noticeFrame(message))).toEqual(['NOTICE', message]);
        expect(roundTrip(countFrame(subId, count))).toEqual(['COUNT', subId, { count }]);
      }),
      { numRuns: 500 },
    );
  });

  it('escapes a sub id that tries to break out of its string', () => {
    const subId = 'x","injected",{"a":1}]//';
    expect(roundTrip(eoseFrame(subId))).toEqual(['EOSE', subId]);
    expect(roundTrip(eventFrame(subId, serialize(event)))).toEqual(['EVENT', subId, event]);
    expect(eoseFrame('a"b')).toBe('["EOSE","a\\"b"]');
  });

  it('client messages built from frames round-trip through the parser', () => {
    fc.assert(
      fc.property(nasty, (subId) => {
        expect(parseClientMessage(JSON.stringify(['CLOSE', subId]))).toEqual({ type: 'CLOSE', subId });
      }),
    );
  });
});

describe('prefixes', () => {
  it('reason and rejectionMessage put the prefix first', () => {
    expect(reason('invalid', 'bad')).toBe('invalid: bad');
    expect(rejectionMessage(reject('rate-limited', 'slow down'))).toBe('rate-limited: slow down');
    expect(reject('blocked', 'x')).toEqual({ prefix: 'blocked', text: 'x' });
  });

  it('holds the NIP-01 and NIP-42 prefixes, each once', () => {
    for (const p of [
      'duplicate',
      'pow',
      'blocked',
      'rate-limited',
      'invalid',
      'restricted',
      'mute',
      'error',
      'auth-required',
      'unsupported',
    ]) {
      expect(PREFIXES).toContain(p);
    }
    expect(new Set(PREFIXES).size).toBe(PREFIXES.length);
  });
});
