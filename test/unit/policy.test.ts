import { getPow, minePow } from 'nostr-tools/nip13';
import * as nip19 from 'nostr-tools/nip19';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { NostrEvent } from '../../src/event/types.js';
import { explainPolicies, policy, runPolicies } from '../../src/policy/pipeline.js';
import {
  allowKinds,
  allowPubkeys,
  createdAtByClass,
  denyKinds,
  denyPubkeys,
  limitsByKind,
  minPow,
  restrictsWrites,
  writePolicies,
} from '../../src/policy/write.js';
import { reject } from '../../src/protocol/prefixes.js';

const NOW = 1_700_000_000;
const ctx = { now: NOW };
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

/** Policies look only at the fields; no signature needed. */
function ev(fields: Partial<NostrEvent> = {}): NostrEvent {
  return { id: 'f'.repeat(64), pubkey: A, created_at: NOW, kind: 1, tags: [], content: 'hi', sig: '0'.repeat(128), ...fields };
}

const NO_WINDOW = { max_future_seconds: null, max_past_seconds: null };

describe('pipeline', () => {
  const pass = policy('pass', () => undefined);
  const first = policy('first', () => reject('blocked', 'first'));
  const second = policy('second', () => reject('pow', 'second'));

  it('runs in order; the first rejection wins; empty = accept', () => {
    expect(runPolicies([], ev(), ctx)).toBeUndefined();
    expect(runPolicies([pass], ev(), ctx)).toBeUndefined();
    expect(runPolicies([pass, first, second], ev(), ctx)).toEqual({ prefix: 'blocked', text: 'first' });
    expect(runPolicies([second, first], ev(), ctx)).toEqual({ prefix: 'pow', text: 'second' });
  });

  it('stops at the first rejection', () => {
    let calls = 0;
    const counting = policy('counting', () => void calls++);
    runPolicies([first, counting], ev(), ctx);
    expect(calls).toBe(0);
  });

  it('explainPolicies gives every rule its verdict and marks those after the first refusal as not reached', () => {
    expect(explainPolicies([pass, first, second], ev(), ctx)).toEqual([
      { name: 'pass', rejection: undefined, reached: true },
      { name: 'first', rejection: { prefix: 'blocked', text: 'first' }, reached: true },
      { name: 'second', rejection: { prefix: 'pow', text: 'second' }, reached: false },
    ]);
  });

  it('passes the context to every rule', () => {
    const seen: number[] = [];
    runPolicies([policy('clock', (_e, c) => void seen.push(c.now))], ev(), { now: 42 });
    expect(seen).toEqual([42]);
  });
});

describe('pubkeys', () => {
  it('deny list', () => {
    const rule = denyPubkeys([B]);
    expect(rule.check(ev(), ctx)).toBeUndefined();
    expect(rule.check(ev({ pubkey: B }), ctx)).toEqual({ prefix: 'blocked', text: 'this pubkey may not post here' });
  });

  it('allow list names the relay and appends how to join', () => {
    expect(allowPubkeys([A], 'Testville', 'https://example.org/join').check(ev({ pubkey: B }), ctx)).toEqual({
      prefix: 'blocked',
      text: 'only members of Testville can post here — https://example.org/join',
    });
    expect(allowPubkeys([A], 'Testville', '').check(ev({ pubkey: B }), ctx)?.text).toBe('only members of Testville can post here');
    expect(allowPubkeys([A], 'Testville', '').check(ev(), ctx)).toBeUndefined();
  });
});

describe('kinds', () => {
  it('allow with single kinds and ranges', () => {
    const rule = allowKinds([1, [30000, 39999]]);
    expect(rule.check(ev({ kind: 30023 }), ctx)).toBeUndefined();
    expect(rule.check(ev({ kind: 7 }), ctx)).toEqual({ prefix: 'blocked', text: 'kind 7 is not accepted here' });
    expect(allowKinds(['*']).check(ev({ kind: 65535 }), ctx)).toBeUndefined();
  });

  it('deny wins over allow in the built pipeline', () => {
    const config = parseConfig('write:\n  kinds:\n    allow: [[0, 10]]\n    deny: [4]\n', 'x');
    const pipeline = writePolicies(config);
    expect(runPolicies(pipeline, ev({ kind: 4 }), ctx)).toEqual({ prefix: 'blocked', text: 'kind 4 is not accepted here' });
    expect(runPolicies(pipeline, ev({ kind: 11 }), ctx)?.text).toBe('kind 11 is not accepted here');
    expect(runPolicies(pipeline, ev({ kind: 1 }), ctx)).toBeUndefined();
    expect(denyKinds([4]).check(ev({ kind: 5 }), ctx)).toBeUndefined();
  });
});

describe('limits_by_kind', () => {
  const rule = limitsByKind([
    { kinds: [0], max_content_length: 5 },
    { kinds: [0, 1], max_event_tags: 1 },
  ]);

  it('first matching rule applies, only its own limits', () => {
    // kind 0 matches the first rule only: tags are not limited by the second.
    expect(rule.check(ev({ kind: 0, content: 'abcde', tags: [['a'], ['b']] }), ctx)).toBeUndefined();
    expect(rule.check(ev({ kind: 0, content: 'abcdef' }), ctx)).toEqual({
      prefix: 'invalid',
      text: 'kind 0 content may be at most 5 characters; this one has 6',
    });
    expect(rule.check(ev({ kind: 1, tags: [['a'], ['b']] }), ctx)).toEqual({
      prefix: 'invalid',
      text: 'kind 1 events may carry at most 1 tags; this one has 2',
    });
    expect(rule.check(ev({ kind: 2, content: 'x'.repeat(100), tags: [['a'], ['b']] }), ctx)).toBeUndefined();
  });

  it('counts characters, not UTF-16 units', () => {
    expect(rule.check(ev({ kind: 0, content: '😀😀😀😀😀' }), ctx)).toBeUndefined();
  });
});

describe('created_at_by_class', () => {
  const rule = createdAtByClass({
    regular: NO_WINDOW,
    replaceable: NO_WINDOW,
    ephemeral: { max_future_seconds: 30, max_past_seconds: 60 },
    addressable: { max_future_seconds: null, max_past_seconds: 10 },
  });

  it("applies the window of the event's class", () => {
    expect(rule.check(ev({ kind: 20000, created_at: NOW + 30 }), ctx)).toBeUndefined();
    expect(rule.check(ev({ kind: 20000, created_at: NOW + 31 }), ctx)).toEqual({
      prefix: 'invalid',
      text: 'created_at is more than 30 seconds in the future (limit for ephemeral events)',
    });
    expect(rule.check(ev({ kind: 20000, created_at: NOW - 61 }), ctx)?.text).toBe(
      'created_at is more than 60 seconds in the past (limit for ephemeral events)',
    );
    expect(rule.check(ev({ kind: 30023, created_at: NOW - 11 }), ctx)?.prefix).toBe('invalid');
    expect(rule.check(ev({ kind: 30023, created_at: NOW + 10_000 }), ctx)).toBeUndefined();
    expect(rule.check(ev({ kind: 1, created_at: NOW - 1_000_000 }), ctx)).toBeUndefined();
  });
});

describe('min_pow', () => {
  const mined = minePow({ kind: 1, created_at: NOW, tags: [], content: 'work', pubkey: A }, 8);

  it('counts leading zero bits of the id (nostr-tools getPow)', () => {
    const id = `00${'f'.repeat(62)}`;
    expect(minPow(8, []).check(ev({ id }), ctx)).toBeUndefined();
    expect(minPow(9, []).check(ev({ id }), ctx)).toEqual({ prefix: 'pow', text: 'difficulty 8 is less than 9' });
    expect(minPow(4, []).check(ev({ id: `1${'f'.repeat(63)}` }), ctx)).toEqual({ prefix: 'pow', text: 'difficulty 3 is less than 4' });
    expect(minPow(8, []).check(ev({ id: mined.id }), ctx)).toBeUndefined();
    expect(getPow(mined.id)).toBeGreaterThanOrEqual(8);
  });

  it('the first matching per-kind rule replaces the global minimum', () => {
    const rule = minPow(16, [
      { kinds: [[20000, 29999]], min_pow: 4 },
      { kinds: [0, 20001], min_pow: 0 },
    ]);
    const id = `0${'f'.repeat(63)}`; // 4 bits
    expect(rule.check(ev({ id, kind: 1 }), ctx)?.text).toBe('difficulty 4 is less than 16');
    expect(rule.check(ev({ id, kind: 20000 }), ctx)).toBeUndefined();
    expect(rule.check(ev({ id: 'f'.repeat(64), kind: 20001 }), ctx)?.text).toBe('difficulty 0 is less than 4');
    expect(rule.check(ev({ id: 'f'.repeat(64), kind: 0 }), ctx)).toBeUndefined();
    expect(minPow(0, [{ kinds: [7], min_pow: 4 }]).check(ev({ id: 'f'.repeat(64), kind: 1 }), ctx)).toBeUndefined();
  });
});

describe('writePolicies(config)', () => {
  it('the default config builds an empty pipeline and does not restrict writes', () => {
    const config = parseConfig('', 'x');
    expect(writePolicies(config)).toEqual([]);
    expect(restrictsWrites(config.write)).toBe(false);
  });

  it('orders rules: deny, allow, kinds, limits, created_at, pow', () => {
    const config = parseConfig(
      [
        'write:',
        `  pubkeys: { allow: [${A}], deny: [${B}] }`,
        '  kinds: { allow: [1], deny: [2] }',
        '  limits_by_kind: [{ kinds: [1], max_content_length: 10 }]',
        '  created_at_by_class: { ephemeral: { max_future_seconds: 5 } }',
        '  min_pow: 1',
      ].join('\n'),
      'x',
    );
    expect(writePolicies(config).map((p) => p.name)).toEqual([
      'write.pubkeys.deny',
      'write.pubkeys.allow',
      'write.kinds.allow',
      'write.kinds.deny',
      'write.limits_by_kind',
      'write.created_at_by_class',
      'write.min_pow',
    ]);
    // A banned pubkey hears about the ban, not about the allow list or proof of work.
    expect(runPolicies(writePolicies(config), ev({ pubkey: B }), ctx)?.text).toBe('this pubkey may not post here');
    expect(restrictsWrites(config.write)).toBe(true);
  });

  it('an npub in the allow list is matched as hex', () => {
    const config = parseConfig(`info:\n  name: Testville\nwrite:\n  pubkeys:\n    allow: [${nip19.npubEncode(A)}]\n`, 'x');
    expect(config.write.pubkeys.allow).toEqual([A]);
    const pipeline = writePolicies(config);
    expect(runPolicies(pipeline, ev(), ctx)).toBeUndefined();
    expect(runPolicies(pipeline, ev({ pubkey: B }), ctx)?.text).toBe('only members of Testville can post here');
  });

  it.each([
    ['pubkeys.allow', `write:\n  pubkeys:\n    allow: [${A}]\n`, true],
    ['pubkeys.deny', `write:\n  pubkeys:\n    deny: [${A}]\n`, true],
    ['kinds.allow', 'write:\n  kinds:\n    allow: [1]\n', true],
    ['kinds.deny', 'write:\n  kinds:\n    deny: [4]\n', true],
    ['min_pow', 'write:\n  min_pow: 1\n', true],
    ['min_pow_by_kind > 0', 'write:\n  min_pow_by_kind: [{ kinds: [1], min_pow: 3 }]\n', true],
    ['min_pow_by_kind = 0 only', 'write:\n  min_pow_by_kind: [{ kinds: [1], min_pow: 0 }]\n', false],
    ['limits_by_kind only', 'write:\n  limits_by_kind: [{ kinds: [1], max_event_tags: 3 }]\n', false],
    ['blocked_message only', 'write:\n  blocked_message: hi\n', false],
  ])('restrictsWrites: %s → %s', (_name, yaml, expected) => {
    expect(restrictsWrites(parseConfig(yaml, 'x').write)).toBe(expected);
  });
});
