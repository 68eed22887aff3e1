import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/config/duration.js';
import { kindSet, parseKindSelectors, type KindSet } from '../../src/config/kinds.js';

describe('parseDuration', () => {
  it.each([
    ['30s', 30],
    ['5m', 300],
    ['12h', 43200],
    ['90d', 7776000],
    ['2w', 1209600],
    ['1y', 31536000],
    [' 7d ', 604800],
  ])('%s → %i seconds', (text, seconds) => expect(parseDuration(text)).toEqual({ ok: true, value: seconds }));

  it.each([['90'], ['d'], ['1.5h'], ['-1d'], ['10 days'], [90], [null]])('%j is refused with a reason', (value) => {
    const result = parseDuration(value);
    expect(result.ok).toBe(false);
    expect(result.ok === false && result.reason).toMatch(/duration/);
  });

  it('formats back to the largest whole unit', () => {
    expect([300, 7776000, 90, 31536000, 1209600].map(formatDuration)).toEqual(['5m', '90d', '90s', '1y', '2w']);
  });
});

describe('parseKindSelectors', () => {
  const parsed = (value: unknown): KindSet => {
    const result = parseKindSelectors(value);
    if (!result.ok) throw new Error(result.reason);
    return kindSet(result.value);
  };

  it('matches single kinds, inclusive ranges and "*"', () => {
    const set = parsed([1, 7, [30000, 39999]]);
    expect([0, 1, 7, 8, 29999, 30000, 35000, 39999, 40000].map((k) => set.has(k))).toEqual([
      false,
      true,
      true,
      false,
      false,
      true,
      true,
      true,
      false,
    ]);
    expect(parsed(['*']).has(65535)).toBe(true);
    expect(parsed([]).has(1)).toBe(false);
  });

  it.each([[1], ['1'], [[70000]], [[[5, 1]]], [[[1, 2, 3]]], [[1.5]], [['all']]])('%j is refused with a reason', (value) => {
    expect(parseKindSelectors(value)).toMatchObject({ ok: false, reason: expect.any(String) });
  });
});
