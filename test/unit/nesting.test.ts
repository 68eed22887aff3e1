import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_NESTING_DEPTH, nestsDeeperThan } from '../../src/protocol/nesting.js';
import { parseClientMessage } from '../../src/protocol/parse.js';

/** Nesting depth of a parsed JSON value: a scalar is 0, [] and {} are 1. */
function depthOf(value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (value !== null && typeof value === 'object') return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  return 0;
}

const nested = (depth: number, open = '[', close = ']'): string => open.repeat(depth) + close.repeat(depth);

describe('nestsDeeperThan', () => {
  it('counts arrays and objects together', () => {
    expect(nestsDeeperThan('[[1]]', 2)).toBe(false);
    expect(nestsDeeperThan('[[1]]', 1)).toBe(true);
    expect(nestsDeeperThan('{"a":[{"b":[]}]}', 4)).toBe(false);
    expect(nestsDeeperThan('{"a":[{"b":[]}]}', 3)).toBe(true);
    expect(nestsDeeperThan('[[],[],[],[]]', 2)).toBe(false);
    expect(nestsDeeperThan('1', 0)).toBe(false);
  });

  it('ignores brackets inside strings', () => {
    expect(nestsDeeperThan(JSON.stringify(['REQ', nested(50)]), 1)).toBe(false);
    expect(nestsDeeperThan(JSON.stringify({ '[[[[[[': '{{{{{{' }), 1)).toBe(false);
  });

  it('does not end a string at an escaped quote', () => {
    const text = JSON.stringify(['a "quoted" [[[[[[ text', '\\"[[[[[[[[']);
    expect(text).toContain('\\"');
    expect(nestsDeeperThan(text, 1)).toBe(false);
  });

  it('ends a string at a quote after an escaped backslash', () => {
    // ["\\", [[[…]]]]: the string holds one backslash; the brackets after it are structure.
    const text = `["\\\\",${nested(20)}]`;
    expect(JSON.parse(text)[0]).toBe('\\');
    expect(nestsDeeperThan(text, 10)).toBe(true);
    expect(nestsDeeperThan(`["\\\\\\"${nested(20)}"]`, 1)).toBe(false); // \\ then \" : still inside the string
  });

  it('leaves unterminated or unbalanced text to JSON.parse', () => {
    expect(nestsDeeperThan('["abc[[[', 1)).toBe(false);
    expect(nestsDeeperThan(']]]]]]', 0)).toBe(false);
  });

  it('stops at the first level too deep', () => {
    expect(nestsDeeperThan(`${'['.repeat(11)}"unterminated`, 10)).toBe(true);
  });

  it('agrees with the depth of the parsed value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 9 }), (value, max) => {
        expect(nestsDeeperThan(JSON.stringify(value), max)).toBe(depthOf(value) > max);
      }),
      { numRuns: 500 },
    );
  });
});

describe('parseClientMessage: nesting', () => {
  it('refuses a frame nested deeper than any message needs, before parsing it', () => {
    const m = parseClientMessage(`["REQ","s",${nested(60_000)}]`);
    expect(m).toEqual({ type: 'malformed', message: `invalid: message nests arrays or objects more than ${MAX_NESTING_DEPTH} deep` });
    expect(parseClientMessage(`["EVENT",{"tags":${nested(MAX_NESTING_DEPTH)}}]`).type).toBe('malformed');
  });

  it('accepts every valid message shape', () => {
    const event = {
      id: 'x',
      kind: 1,
      tags: [
        ['e', 'a'],
        ['p', 'b', 'wss://r', 'mention'],
      ],
      content: '[[[[[[[[[[[[[[[["\\',
    };
    expect(parseClientMessage(JSON.stringify(['EVENT', event])).type).toBe('EVENT');
    expect(parseClientMessage(JSON.stringify(['AUTH', event])).type).toBe('AUTH');
    expect(parseClientMessage(JSON.stringify(['REQ', 's', { '#e': ['a'], kinds: [1] }, { ids: ['x'] }])).type).toBe('REQ');
    expect(parseClientMessage(JSON.stringify(['COUNT', 's', { '#t': ['a'] }])).type).toBe('COUNT');
    expect(parseClientMessage(JSON.stringify(['NEG-OPEN', 's', { authors: ['a'] }, '6100000200'])).type).toBe('NEG-OPEN');
    // At the limit the frame goes on to JSON.parse and the usual checks.
    expect(parseClientMessage(`["EVENT",${nested(MAX_NESTING_DEPTH - 1)}]`)).toEqual({
      type: 'EVENT',
      event: JSON.parse(nested(MAX_NESTING_DEPTH - 1)),
    });
  });
});
