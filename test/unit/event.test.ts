import fc from 'fast-check';
import { isAddressableKind, isEphemeralKind, isReplaceableKind } from 'nostr-tools/kinds';
import { finalizeEvent, generateSecretKey, getEventHash, getPublicKey } from 'nostr-tools/pure';
import { describe, expect, it } from 'vitest';
import { dTagOf, kindClass } from '../../src/event/kinds.js';
import { AUTH_KIND, checkEventLimits } from '../../src/event/limits.js';
import type { NostrEvent } from '../../src/event/types.js';
import { computeId, isHex64, serialize, validateShape } from '../../src/event/validate.js';
import { NobleVerifier } from '../../src/event/verify.js';
import { PREFIXES } from '../../src/protocol/prefixes.js';

const ID = 'a'.repeat(64);
const PUBKEY = 'b'.repeat(64);
const SIG = 'c'.repeat(128);

const base = (): Record<string, unknown> => ({
  id: ID,
  pubkey: PUBKEY,
  created_at: 1_700_000_000,
  kind: 1,
  tags: [
    ['e', 'x'],
    ['t', 'nostr', 'extra'],
  ],
  content: 'hello',
  sig: SIG,
});

const withField = (key: string, value: unknown): Record<string, unknown> => {
  const event = base();
  if (value === undefined) delete event[key];
  else event[key] = value;
  return event;
};

describe('validateShape', () => {
  it('accepts a well-formed event and returns exactly the seven NIP-01 fields', () => {
    const input = { ...base(), extra: 1, seenOn: ['wss://x'], relays: null };
    const result = validateShape(input);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(Object.keys(result.event).sort()).toEqual(['content', 'created_at', 'id', 'kind', 'pubkey', 'sig', 'tags']);
    expect(result.event).toEqual(base());
    expect(JSON.parse(serialize(result.event))).toEqual(base());
    expect(Object.keys(JSON.parse(serialize(result.event)))).toEqual(['id', 'pubkey', 'created_at', 'kind', 'tags', 'content', 'sig']);
  });

  it.each([null, undefined, 'event', 42, true, [], [base()]])('refuses a non-object %j with no id', (input) => {
    const result = validateShape(input);
    expect(result).toEqual({ ok: false, message: 'event must be a JSON object' });
  });

  it.each([
    ['missing', undefined],
    ['uppercase', 'A'.repeat(64)],
    ['63 chars', 'a'.repeat(63)],
    ['65 chars', 'a'.repeat(65)],
    ['non-hex', 'g'.repeat(64)],
    ['0x prefix', `0x${'a'.repeat(62)}`],
    ['number', 12345],
    ['array', ['a'.repeat(64)]],
  ])('an unreadable id (%s) fails with id undefined', (_name, value) => {
    const result = validateShape(withField('id', value));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.id).toBeUndefined();
    expect(result.message).toContain("'id'");
  });

  it('reports the id first even when other fields are broken too', () => {
    const result = validateShape({ id: 5, pubkey: 5, sig: 5 });
    expect(result).toEqual({ ok: false, id: undefined, message: expect.stringContaining("'id'") });
  });

  const invalid: [field: string, value: unknown][] = [
    ['pubkey', undefined],
    ['pubkey', 'B'.repeat(64)],
    ['pubkey', 'b'.repeat(63)],
    ['pubkey', 'b'.repeat(66)],
    ['pubkey', 7],
    ['pubkey', `npub1${'q'.repeat(59)}`],
    ['sig', undefined],
    ['sig', 'c'.repeat(127)],
    ['sig', 'c'.repeat(129)],
    ['sig', 'C'.repeat(128)],
    ['sig', 'z'.repeat(128)],
    ['sig', 1],
    ['kind', undefined],
    ['kind', -1],
    ['kind', 65536],
    ['kind', 1.5],
    ['kind', '1'],
    ['kind', null],
    ['kind', Number.NaN],
    ['kind', Number.POSITIVE_INFINITY],
    ['created_at', undefined],
    ['created_at', -1],
    ['created_at', 1.5],
    ['created_at', '1700000000'],
    ['created_at', 2 ** 53],
    ['created_at', null],
    ['content', undefined],
    ['content', 5],
    ['content', null],
    ['content', ['x']],
    ['content', { text: 'x' }],
    ['tags', undefined],
    ['tags', null],
    ['tags', 'e'],
    ['tags', {}],
    ['tags', ['e', 'x']],
    ['tags', [['e', 1]]],
    ['tags', [['e', null]]],
    ['tags', [['e', 'x'], 'p']],
    ['tags', [['e', ['x']]]],
    ['tags', [[1]]],
  ];
  it.each(invalid)("'%s' = %j is refused, with the id still readable", (field, value) => {
    const result = validateShape(withField(field, value));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.id).toBe(ID);
    expect(result.message).toContain(`'${field}'`);
  });

  it.each([
    ['kind', 0],
    ['kind', 65535],
    ['created_at', 0],
    ['created_at', Number.MAX_SAFE_INTEGER],
    ['content', ''],
    ['tags', []],
    ['tags', [[]]],
    ['tags', [['e'], ['x', 'y', 'z', 'w']]],
  ])("'%s' = %j is accepted", (field, value) => {
    const result = validateShape(withField(field, value));
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.event[field as keyof NostrEvent]).toEqual(value);
  });

  it('isHex64', () => {
    expect(isHex64('0123456789abcdef'.repeat(4))).toBe(true);
    expect(isHex64('0123456789ABCDEF'.repeat(4))).toBe(false);
    expect(isHex64(`${'a'.repeat(64)}\n`)).toBe(false);
    expect(isHex64(null)).toBe(false);
  });
});

/** Strings rich in what JSON has to escape: quotes, backslashes, controls, line separators, lone surrogates, emoji. */
const nastyString = fc.string({
  unit: fc.oneof(
    fc.constantFrom(
      '"',
      '\\',
      '\n',
      '\r',
      '\t',
      '\b',
      '\f',
      '\u0000',
      '\u001f',
      '\u007f',
      '\u2028',
      '\u2029',
      '\ud800',
      '\udfff',
      '/',
      '😀',
      'é',
      'ﬀ',
    ),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
  ),
  maxLength: 40,
});

const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString('hex'));

const unsignedEvent = fc.record({
  pubkey: hex64,
  created_at: fc.oneof(fc.integer({ min: 0, max: 2 ** 32 }), fc.constant(Number.MAX_SAFE_INTEGER), fc.constant(0)),
  kind: fc.integer({ min: 0, max: 65535 }),
  tags: fc.array(fc.array(nastyString, { maxLength: 4 }), { maxLength: 5 }),
  content: nastyString,
});

describe('computeId', () => {
  it('equals nostr-tools getEventHash on random events with escapes and unicode', () => {
    fc.assert(
      fc.property(unsignedEvent, (template) => {
        const event: NostrEvent = { ...template, id: '', sig: '' };
        // spread: fast-check records have a null prototype, which nostr-tools' isRecord refuses
        expect(computeId(event)).toBe(getEventHash({ ...template }));
      }),
      { numRuns: 500 },
    );
  });

  it('matches a real signed event and changes with any field', () => {
    const secret = generateSecretKey();
    const signed = finalizeEvent({ kind: 1, created_at: 1_700_000_000, tags: [['t', 'x']], content: 'a "quoted" \\ line\n' }, secret);
    const event: NostrEvent = { ...signed };
    expect(computeId(event)).toBe(signed.id);
    expect(computeId({ ...event, content: 'other' })).not.toBe(signed.id);
    expect(computeId({ ...event, kind: 2 })).not.toBe(signed.id);
    expect(computeId({ ...event, created_at: event.created_at + 1 })).not.toBe(signed.id);
    expect(computeId({ ...event, tags: [['t', 'y']] })).not.toBe(signed.id);
    expect(computeId({ ...event, pubkey: PUBKEY })).not.toBe(signed.id);
    // id and sig are not part of the hash
    expect(computeId({ ...event, id: ID, sig: SIG })).toBe(signed.id);
  });
});

describe('checkEventLimits', () => {
  const NOW = 1_700_000_000;
  const limits = {
    max_event_tags: 3,
    max_content_length: 10,
    created_at: { max_future_seconds: 900, max_past_seconds: 3600 },
  };
  const event = (patch: Partial<NostrEvent> = {}): NostrEvent => ({
    id: ID,
    pubkey: PUBKEY,
    created_at: NOW,
    kind: 1,
    tags: [],
    content: '',
    sig: SIG,
    ...patch,
  });

  it('passes an event within every limit', () => {
    expect(checkEventLimits(event(), limits, NOW)).toBeUndefined();
    expect(checkEventLimits(event({ tags: [['a'], ['b'], ['c']], content: '0123456789' }), limits, NOW)).toBeUndefined();
  });

  it('refuses kind 22242 (AUTH) through EVENT', () => {
    expect(AUTH_KIND).toBe(22242);
    const r = checkEventLimits(event({ kind: 22242 }), limits, NOW);
    expect(r?.prefix).toBe('invalid');
    expect(r?.text).toContain('22242');
    expect(checkEventLimits(event({ kind: 22241 }), limits, NOW)).toBeUndefined();
    expect(checkEventLimits(event({ kind: 22243 }), limits, NOW)).toBeUndefined();
  });

  it('tag count: max allowed, max+1 refused', () => {
    const r = checkEventLimits(event({ tags: [['a'], ['b'], ['c'], ['d']] }), limits, NOW);
    expect(r?.prefix).toBe('invalid');
    expect(r?.text).toMatch(/4 tags.*3/);
    expect(checkEventLimits(event({ tags: [] }), { ...limits, max_event_tags: 0 }, NOW)).toBeUndefined();
    expect(checkEventLimits(event({ tags: [[]] }), { ...limits, max_event_tags: 0 }, NOW)?.prefix).toBe('invalid');
  });

  it('content length: max allowed, max+1 refused', () => {
    const r = checkEventLimits(event({ content: '01234567890' }), limits, NOW);
    expect(r?.prefix).toBe('invalid');
    expect(r?.text).toMatch(/11.*10/);
  });

  it('created_at window: edges inclusive, one second beyond refused', () => {
    expect(checkEventLimits(event({ created_at: NOW + 900 }), limits, NOW)).toBeUndefined();
    expect(checkEventLimits(event({ created_at: NOW - 3600 }), limits, NOW)).toBeUndefined();
    const future = checkEventLimits(event({ created_at: NOW + 901 }), limits, NOW);
    expect(future?.prefix).toBe('invalid');
    expect(future?.text).toContain('future');
    const past = checkEventLimits(event({ created_at: NOW - 3601 }), limits, NOW);
    expect(past?.prefix).toBe('invalid');
    expect(past?.text).toContain('past');
  });

  it('null limits disable each side of the window', () => {
    const open = { ...limits, created_at: { max_future_seconds: null, max_past_seconds: null } };
    expect(checkEventLimits(event({ created_at: NOW + 10 ** 9 }), open, NOW)).toBeUndefined();
    expect(checkEventLimits(event({ created_at: 0 }), open, NOW)).toBeUndefined();
    const pastOnly = { ...limits, created_at: { max_future_seconds: null, max_past_seconds: 10 } };
    expect(checkEventLimits(event({ created_at: NOW + 10 ** 9 }), pastOnly, NOW)).toBeUndefined();
    expect(checkEventLimits(event({ created_at: NOW - 11 }), pastOnly, NOW)?.prefix).toBe('invalid');
    const futureOnly = { ...limits, created_at: { max_future_seconds: 0, max_past_seconds: null } };
    expect(checkEventLimits(event({ created_at: 0 }), futureOnly, NOW)).toBeUndefined();
    expect(checkEventLimits(event({ created_at: NOW + 1 }), futureOnly, NOW)?.prefix).toBe('invalid');
    expect(checkEventLimits(event({ created_at: NOW }), futureOnly, NOW)).toBeUndefined();
  });

  it('every rejection uses a known prefix', () => {
    const cases = [
      event({ kind: 22242 }),
      event({ tags: [[], [], [], []] }),
      event({ content: 'x'.repeat(11) }),
      event({ created_at: NOW + 1000 }),
      event({ created_at: 0 }),
    ];
    for (const e of cases) {
      const r = checkEventLimits(e, limits, NOW);
      expect(r).toBeDefined();
      expect(PREFIXES).toContain(r!.prefix);
    }
  });
});

describe('NobleVerifier', () => {
  const verifier = new NobleVerifier();
  const secret = generateSecretKey();
  const good = (): NostrEvent => ({ ...finalizeEvent({ kind: 1, created_at: 1_700_000_000, tags: [], content: 'signed' }, secret) });
  const flip = (hex: string, at: number): string => hex.slice(0, at) + (hex[at] === '0' ? '1' : '0') + hex.slice(at + 1);

  it('accepts a good signature', async () => {
    const e = good();
    expect(e.pubkey).toBe(getPublicKey(secret));
    expect(await verifier.verify(e)).toBe(true);
  });

  it('refuses a tampered sig, id or pubkey', async () => {
    const e = good();
    expect(await verifier.verify({ ...e, sig: flip(e.sig, 0) })).toBe(false);
    expect(await verifier.verify({ ...e, sig: flip(e.sig, 127) })).toBe(false);
    expect(await verifier.verify({ ...e, id: flip(e.id, 10) })).toBe(false);
    expect(await verifier.verify({ ...e, pubkey: getPublicKey(generateSecretKey()) })).toBe(false);
    // another event's valid signature does not transfer
    const other = { ...finalizeEvent({ kind: 1, created_at: 1, tags: [], content: 'other' }, secret) };
    expect(await verifier.verify({ ...e, sig: other.sig })).toBe(false);
  });

  it('returns false (never throws) on garbage input', async () => {
    const e = good();
    expect(await verifier.verify({ ...e, pubkey: 'f'.repeat(64) })).toBe(false); // not an x coordinate on the curve
    expect(await verifier.verify({ ...e, sig: 'f'.repeat(128) })).toBe(false);
    expect(await verifier.verify({ ...e, sig: '' })).toBe(false);
    expect(await verifier.verify({ ...e, pubkey: 'zz' })).toBe(false);
  });
});

describe('kindClass', () => {
  it.each([
    [0, 'replaceable'],
    [1, 'regular'],
    [2, 'regular'],
    [3, 'replaceable'],
    [4, 'regular'],
    [999, 'regular'],
    [9999, 'regular'],
    [10000, 'replaceable'],
    [19999, 'replaceable'],
    [20000, 'ephemeral'],
    [22242, 'ephemeral'],
    [29999, 'ephemeral'],
    [30000, 'addressable'],
    [39999, 'addressable'],
    [40000, 'regular'],
    [65535, 'regular'],
  ])('kind %i is %s', (kind, cls) => {
    expect(kindClass(kind)).toBe(cls);
  });

  it('agrees with nostr-tools on every kind 0..65535 (regular = none of the other three)', () => {
    for (let kind = 0; kind <= 65535; kind++) {
      const expected = isReplaceableKind(kind)
        ? 'replaceable'
        : isEphemeralKind(kind)
          ? 'ephemeral'
          : isAddressableKind(kind)
            ? 'addressable'
            : 'regular';
      if (kindClass(kind) !== expected) expect({ kind, cls: kindClass(kind) }).toEqual({ kind, cls: expected });
    }
  });
});

describe('dTagOf', () => {
  it.each([
    [[], ''],
    [[['d']], ''],
    [[['d', '']], ''],
    [[['d', 'a']], 'a'],
    [[['d', 'a', 'extra']], 'a'],
    [
      [
        ['d', 'a'],
        ['d', 'b'],
      ],
      'a',
    ],
    [
      [
        ['e', 'x'],
        ['d', 'y'],
      ],
      'y',
    ],
    [[['D', 'x']], ''],
    [[['dd', 'x']], ''],
    [[['d'], ['d', 'b']], ''],
    [[[], ['d', 'z']], 'z'],
  ] as [string[][], string][])('%j → %j', (tags, expected) => {
    expect(dTagOf(tags)).toBe(expected);
  });
});
